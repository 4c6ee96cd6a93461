"""Tiny random models of each family, built offline for tests and benchmarks.

Each ``build_*`` writes a complete checkpoint directory (config, safetensors weights, tokenizer, processor,
chat template) that loads with the ordinary ``from_pretrained`` calls, like a real checkpoint would:
tokenizers come from the ``tokenizers`` library (byte-level vocabularies, no merges, so any UTF-8 text
encodes), processors are constructed in code, and models are a few hundred thousand random parameters.
Random weights answer nonsense, so :class:`Scripted` (a logits processor) forces a known answer through the
real ``generate`` loop: the decode -> parse -> result path is then exercised end to end.

Nothing here touches the network. Import torch/transformers only inside functions (the module is imported
by test files that skip when they are absent).
"""

from __future__ import annotations

import json
from pathlib import Path

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]
#: A minimal Qwen chat template (real checkpoints ship their own): text and image parts per message.
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
FLORENCE_TASK_TOKENS = ["<od>", "</od>", "<ocr>", "</ocr>", "<poly>", "</poly>", "<sep>"]
TINY_IMAGE = 224


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins of byte-level BPE (as GPT-2 defines them), so every byte is one token."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    extra = [b for b in range(256) if b not in keep]
    return [chr(b) for b in keep] + [chr(256 + i) for i in range(len(extra))]


def byte_vocab(specials=()) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for t in list(specials) + byte_symbols():
        vocab.setdefault(t, len(vocab))
    return vocab


class _Seeded:
    def __init__(self, seed: int):
        import torch

        self.state = torch.random.get_rng_state()
        torch.manual_seed(seed)

    def close(self):
        import torch

        torch.random.set_rng_state(self.state)


# ---------------------------------------------------------------------------------------------- Florence-2
def build_florence2(path) -> Path:
    """A Florence-2 checkpoint: BART byte tokenizer + task/loc tokens, CLIP PIL image processor at 224 px,
    a 1-layer DaViT + BART (about 130 k parameters)."""
    from tokenizers import AddedToken
    from transformers import (
        BartTokenizer,
        CLIPImageProcessorPil,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )

    path = Path(path)
    seeded = _Seeded(0)
    tok = BartTokenizer(vocab=byte_vocab(["<pad>", "<s>", "</s>", "<unk>", "<mask>"]), merges=[],
                        extra_special_tokens={"image_token": "<image>"})
    tok.add_tokens([AddedToken(t, special=True) for t in FLORENCE_TASK_TOKENS + [f"<loc_{i}>" for i in range(1000)]])
    side = TINY_IMAGE
    ip = CLIPImageProcessorPil(size={"height": side, "width": side}, do_center_crop=False, crop_size=None,
                               image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    ip.image_seq_length = (side // 32) ** 2 + 1  # DaViT stride 32 feature map + 1 pooled token
    post = {k: {} for k in ["ocr", "phrase_grounding", "pure_text", "description_with_bboxes",
                            "description_with_polygons", "polygons", "bboxes", "description_with_bboxes_or_polygons"]}
    proc = Florence2Processor(image_processor=ip, tokenizer=tok, post_processor_config=post)
    cfg = Florence2Config(
        text_config=dict(vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1,
                         encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                         max_position_embeddings=512, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.eos_token_id,
                         forced_eos_token_id=None),
        vision_config=dict(depths=[1, 1, 1, 1], embed_dim=[8, 16, 16, 32], num_heads=[1, 1, 1, 2],
                           num_groups=[1, 1, 1, 2], window_size=7, projection_dim=32,
                           max_position_embeddings=ip.image_seq_length, drop_path_rate=0.0),
        image_token_id=tok.image_token_id)
    model = Florence2ForConditionalGeneration(cfg).eval()
    seeded.close()
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return path


# ---------------------------------------------------------------------------------------------- Qwen-VL
def _qwen_tokenizer():
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    tok = Qwen2Tokenizer(vocab=byte_vocab(QWEN_SPECIALS), merges=[], eos_token="<|im_end|>",
                         pad_token="<|endoftext|>")
    tok.add_tokens([AddedToken(t, special=True) for t in QWEN_SPECIALS[1:]])
    return tok, {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}


def _save_qwen(path: Path, model, processor, real_class: str) -> Path:
    model.save_pretrained(path)
    processor.save_pretrained(path)
    cfg_file = path / "processor_config.json"
    data = json.loads(cfg_file.read_text())
    data["processor_class"] = real_class  # what a real checkpoint records (not our image-only subclass)
    cfg_file.write_text(json.dumps(data, indent=2))
    return path


def build_qwen25vl(path, max_pixels: int = TINY_IMAGE * TINY_IMAGE) -> Path:
    """A Qwen2.5-VL checkpoint: byte-level Qwen2 tokenizer, PIL image processor (patch 14, images resized to at
    most ``max_pixels``), 2-layer text and vision towers (about 200 k parameters)."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from egx_notebook.backends.hf.processors import image_only_processor_class

    path = Path(path)
    seeded = _Seeded(0)
    tok, ids = _qwen_tokenizer()
    ip = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=max_pixels, patch_size=14, merge_size=2,
                                  temporal_patch_size=2)
    proc = image_only_processor_class("qwen2_5_vl")(image_processor=ip, tokenizer=tok, chat_template=QWEN_TEMPLATE)
    cfg = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56,
                           fullatt_block_indexes=[1]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    seeded.close()
    return _save_qwen(path, model, proc, "Qwen2_5_VLProcessor")


def build_qwen3vl(path, max_pixels: int = TINY_IMAGE * TINY_IMAGE) -> Path:
    """A Qwen3-VL checkpoint: same tokenizer, PIL image processor with patch 16, deepstack vision tower."""
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from egx_notebook.backends.hf.processors import image_only_processor_class

    path = Path(path)
    seeded = _Seeded(0)
    tok, ids = _qwen_tokenizer()
    ip = Qwen2VLImageProcessorPil(size={"shortest_edge": 32 * 32, "longest_edge": max_pixels}, patch_size=16,
                                  merge_size=2, temporal_patch_size=2)
    proc = image_only_processor_class("qwen3_vl")(image_processor=ip, tokenizer=tok, chat_template=QWEN_TEMPLATE)
    cfg = Qwen3VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                                          "mrope_interleaved": True},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           patch_size=16, num_position_embeddings=256, deepstack_visual_indexes=[0]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    model = Qwen3VLForConditionalGeneration(cfg).eval()
    seeded.close()
    return _save_qwen(path, model, proc, "Qwen3VLProcessor")


# ---------------------------------------------------------------------------------------------- SAM
def build_sam(path, side: int = TINY_IMAGE) -> Path:
    """A SAM checkpoint at ``side`` px input (real SAM: 1024): PIL image processor, 2-layer ViT encoder."""
    from transformers import SamConfig, SamImageProcessorPil, SamModel, SamProcessor

    path = Path(path)
    seeded = _Seeded(0)
    cfg = SamConfig(
        vision_config=dict(hidden_size=32, output_channels=32, num_hidden_layers=2, num_attention_heads=2,
                           image_size=side, patch_size=16, window_size=7, global_attn_indexes=[1], num_pos_feats=16,
                           mlp_dim=64),
        prompt_encoder_config=dict(hidden_size=32, image_size=side, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_hidden_layers=2, num_attention_heads=2,
                                 iou_head_hidden_dim=32))
    ip = SamImageProcessorPil(size={"longest_edge": side}, pad_size={"height": side, "width": side},
                              mask_size={"longest_edge": side // 4},
                              mask_pad_size={"height": side // 4, "width": side // 4})
    model = SamModel(cfg).eval()
    seeded.close()
    model.save_pretrained(path)
    SamProcessor(image_processor=ip).save_pretrained(path)
    return path


def single_thread() -> None:
    """Run torch on one thread: tiny models are several times faster (and far less noisy) that way on a shared
    machine, where a second thread mostly waits."""
    import torch

    torch.set_num_threads(1)


BUILDERS = {"florence2": build_florence2, "qwen2.5-vl": build_qwen25vl, "qwen3-vl": build_qwen3vl, "sam": build_sam}


def build(family: str, root) -> Path:
    """Build the tiny ``family`` checkpoint under ``root`` (once per root) and return its directory."""
    path = Path(root) / f"tiny-{family}"
    if not (path / "config.json").exists():
        path.mkdir(parents=True, exist_ok=True)
        BUILDERS[family](path)
    return path


_ROOT: list[Path] = []


def tiny_checkpoint(family: str) -> Path:
    """The tiny ``family`` checkpoint, built once per process in a temporary folder removed at exit (so every
    test module of a session shares one build)."""
    if not _ROOT:
        import atexit
        import shutil
        import tempfile

        _ROOT.append(Path(tempfile.mkdtemp(prefix="egx-tiny-models-")))
        atexit.register(shutil.rmtree, _ROOT[0], True)
    return build(family, _ROOT[0])


# ---------------------------------------------------------------------------------------------- forced answers
def scripted(tokenizer, answers, eos: bool = True):
    """A :class:`Scripted` logits processor that makes ``generate`` write ``answers`` (one string for every row, or
    one per batch row), followed by the end-of-sequence token."""
    answers = [answers] if isinstance(answers, str) else list(answers)
    scripts = [tokenizer(a, add_special_tokens=False).input_ids + ([tokenizer.eos_token_id] if eos else [])
               for a in answers]
    return Scripted(scripts)


def _scripted_class():
    import torch
    from transformers import LogitsProcessor

    class _Scripted(LogitsProcessor):
        """Forces token scripts through ``generate``: at step ``i`` only ``script[i]`` is allowed (the last token is
        repeated once a script is used up). A new ``generate`` call is recognised and restarts the scripts."""

        def __init__(self, scripts):
            self.scripts = [list(s) for s in scripts]
            self.prev = None
            self.start = 0
            self.calls = 0

        def __call__(self, input_ids, scores):
            fresh = (self.prev is None or self.prev.shape[0] != input_ids.shape[0]
                     or self.prev.shape[1] + 1 != input_ids.shape[1]
                     or not torch.equal(self.prev, input_ids[:, :-1]))
            if fresh:
                self.start = input_ids.shape[1]
                self.calls += 1
            self.prev = input_ids.clone()
            step = input_ids.shape[1] - self.start
            out = torch.full_like(scores, float("-inf"))
            for row in range(scores.shape[0]):
                script = self.scripts[row % len(self.scripts)]
                out[row, script[min(step, len(script) - 1)]] = 0.0
            return out

    return _Scripted


class Scripted:
    """Factory wrapper so that ``Scripted(scripts)`` builds the transformers LogitsProcessor lazily."""

    def __new__(cls, scripts):
        return _scripted_class()(scripts)


def max_tokens(tokenizer, answers) -> int:
    answers = [answers] if isinstance(answers, str) else list(answers)
    return max(len(tokenizer(a, add_special_tokens=False).input_ids) for a in answers) + 4


def forced(tokenizer, answers) -> dict:
    """Backend options that make a tiny model write ``answers`` (one for all rows, or one per batch row)."""
    from transformers import LogitsProcessorList

    return {"generation": {"logits_processor": LogitsProcessorList([scripted(tokenizer, answers)])},
            "max_new_tokens": max_tokens(tokenizer, answers)}
