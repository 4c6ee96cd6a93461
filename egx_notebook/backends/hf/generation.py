"""Batched ``generate`` with decoded answers and a confidence per answer.

The confidence of an answer is the geometric mean of the probabilities the model gave to the tokens it
generated (``exp`` of the mean token log-probability), read from the scores the model produced at each step
before any user logits processor (so a processor that forces an answer does not make it "certain"). With beam
search it is ``exp(sequences_scores)``: the beam's length-normalised score, after all logits processors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Generation defaults: deterministic answers (beam width as the checkpoint's generation config says, e.g. 3 for
#: Florence-2, 1 for Qwen-VL).
DEFAULTS = {"do_sample": False}


@dataclass
class Generation:
    """One decoded answer: ``text`` (special tokens as asked), its ``confidence`` (0-1) and token count."""

    text: str
    confidence: float
    tokens: int


def _token_logprob_recorder():
    """A logits processor that records, for every row, the log-probability of the token chosen at each step."""
    import torch
    from transformers import LogitsProcessor

    class TokenLogProbs(LogitsProcessor):
        def __init__(self):
            self.prev = None
            self.steps = []

        def __call__(self, input_ids, scores):
            if self.prev is not None:
                chosen = input_ids[:, -1:].to(self.prev.device)
                self.steps.append(self.prev.gather(1, chosen)[:, 0])
            self.prev = torch.log_softmax(scores.float(), dim=-1)
            return scores

        def finish(self, last_tokens):
            if self.prev is not None:
                self.steps.append(self.prev.gather(1, last_tokens[:, None].to(self.prev.device))[:, 0])
                self.prev = None
            return torch.stack(self.steps, dim=1) if self.steps else None

    return TokenLogProbs()


def move_inputs(inputs, device, dtype):
    """Inputs on the model's device; floating tensors (pixel values) in the model's dtype."""
    import torch

    out = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device)
            if v.is_floating_point() and dtype is not None and dtype != "auto":
                v = v.to(dtype)
        out[k] = v
    return out


def generate(loaded, inputs, *, max_new_tokens: int, skip_special_tokens: bool = True, options: dict | None = None,
             decode=None) -> list[Generation]:
    """Run ``loaded.model.generate`` on processor ``inputs`` (a batch) and decode every answer.

    ``options`` are extra ``generate`` keyword arguments (e.g. ``num_beams``, ``logits_processor``); ``decode``
    replaces the tokenizer decode (``decode(token_ids_list) -> list[str]``)."""
    import torch
    from transformers import LogitsProcessorList

    kwargs = dict(DEFAULTS)
    kwargs["max_new_tokens"] = int(max_new_tokens)
    user = dict(options or {})
    user_processors = user.pop("logits_processor", None) or []
    kwargs.update(user)
    beams = int(kwargs.get("num_beams") or getattr(loaded.model.generation_config, "num_beams", 1) or 1)
    recorder = _token_logprob_recorder() if beams == 1 else None
    processors = LogitsProcessorList(([recorder] if recorder else []) + list(user_processors))
    batch = move_inputs(inputs, loaded.device, loaded.dtype)
    with torch.inference_mode():
        out = loaded.model.generate(**batch, logits_processor=processors, return_dict_in_generate=True,
                                    output_scores=beams > 1, **kwargs)
    sequences = out.sequences
    start = 1 if loaded.is_encoder_decoder else batch["input_ids"].shape[1]
    new = sequences[:, start:]
    logps = recorder.finish(sequences[:, -1]) if recorder is not None else None
    eos = _eos_ids(loaded)
    pad = _pad_id(loaded)
    rows = []
    for i in range(new.shape[0]):
        ids = new[i].tolist()
        n = _answer_length(ids, eos, pad)
        if logps is not None and n > 0:
            lp = logps[i, :min(n, logps.shape[1])]
            conf = float(math.exp(float(lp.mean())))
        elif beams > 1 and getattr(out, "sequences_scores", None) is not None:
            conf = float(math.exp(float(out.sequences_scores[i])))
        else:
            conf = 0.0
        rows.append((ids[:n], conf))
    if decode is None:
        tok = getattr(loaded.processor, "tokenizer", loaded.processor)
        texts = tok.batch_decode([r[0] for r in rows], skip_special_tokens=skip_special_tokens)
    else:
        texts = decode([r[0] for r in rows])
    return [Generation(t, min(max(c, 0.0), 1.0), len(ids)) for t, (ids, c) in zip(texts, rows)]


def _eos_ids(loaded) -> set[int]:
    cfg = getattr(loaded.model, "generation_config", None)
    eos = getattr(cfg, "eos_token_id", None)
    if eos is None:
        eos = getattr(getattr(loaded.processor, "tokenizer", None), "eos_token_id", None)
    if eos is None:
        return set()
    return set(eos) if isinstance(eos, (list, tuple)) else {int(eos)}


def _pad_id(loaded):
    cfg = getattr(loaded.model, "generation_config", None)
    pad = getattr(cfg, "pad_token_id", None)
    if pad is None:
        pad = getattr(getattr(loaded.processor, "tokenizer", None), "pad_token_id", None)
    return pad


def _answer_length(ids: list[int], eos: set[int], pad) -> int:
    """Tokens up to and including the first end-of-sequence (padding after it is not part of the answer)."""
    for j, t in enumerate(ids):
        if t in eos:
            return j + 1
    n = len(ids)
    while n > 0 and pad is not None and ids[n - 1] == pad and pad not in eos:
        n -= 1
    return n


def batches(items: list, size: int):
    """Consecutive chunks of ``items`` of at most ``size``."""
    size = max(1, int(size))
    for i in range(0, len(items), size):
        yield items[i:i + size]
