"""Model-path overhead: our backend call vs raw ``generate`` on the same tiny model and input (goal <= 1.2x).

    python benchmarks/model_overhead.py                     # Qwen2.5-VL, Qwen3-VL, Florence-2; 21 repeats
    python benchmarks/model_overhead.py --family florence2 --repeats 15 --tokens 128

Both sides build a tiny random checkpoint offline (``tests/tiny_models.py``), load it once, and answer the same
grounding question about the same view of a real Sentinel-1 scene (``../shared/data``; a synthetic SAR scene
when absent) with the same forced answer of ``--tokens`` tokens (so both generate exactly as many tokens):

- **wrapper**: ``backend.ground(view, query)`` - modality rendering of the view, instruction, processor, batched
  ``generate`` with the confidence recorder, tolerant parsing, a georeferenced :class:`Grounding`;
- **raw**: ``view.render()`` -> ``processor(images=[image], text=[the same prompt])`` -> ``model.generate`` ->
  ``batch_decode``, i.e. the minimal hand-written transformers code for the same answer (the prompt text is
  prepared once, outside the timing).

Calls alternate (wrapper, raw, wrapper, ...) after a warm-up; the ratio of the medians is the result, and the ratio
of the fastest calls is printed beside it (it is less sensitive to other work on the machine). The ratio is printed,
not asserted: timings depend on the machine. The absolute model time of a tiny model is small, so this is a
strict test of the wrapper's fixed costs; real models (seconds per answer) dilute them further.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
S1 = ROOT.parent / "shared" / "data" / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"


def _scene(tmp: Path):
    import egx_notebook as egx

    if S1.exists():
        return egx.open(S1)
    return egx.open(egx.sample_data.synthetic_sar(tmp / "sar.tif"))


def _answer(family: str, tokens: int) -> str:
    """A well-formed answer of about ``tokens`` byte-level tokens (the tiny tokenizers have no merges)."""
    if family == "florence2":
        one = "ship<loc_100><loc_200><loc_300><loc_400>"  # 8 tokens
        return one * max(1, tokens // 8)
    item = '{"bbox_2d": [45, 89, 146, 135], "label": "ship"}, '  # 51 tokens
    return "[" + (item * max(1, tokens // len(item))).rstrip(", ") + "]"


def _setup(family: str, tmp: Path, tokens: int):
    import tiny_models as tm
    from transformers import LogitsProcessorList

    from egx_notebook.backends import get_backend

    path = str(tm.build(family, tmp))
    name = "florence2" if family == "florence2" else "qwen-vl"
    backend = get_backend(name, model_id=path)
    tok = backend.loaded.processor.tokenizer
    answer = _answer(family, tokens)
    script = tm.scripted(tok, answer)
    n_new = tm.max_tokens(tok, answer)
    backend.generation = {"logits_processor": LogitsProcessorList([script])}
    backend.max_new_tokens = n_new
    return backend, script, n_new


def _raw_call(backend, family: str, view, query: str, script, n_new: int):
    """The hand-written transformers path for the same question (prompt and image prepared beforehand)."""
    import torch
    from transformers import LogitsProcessorList

    from egx_notebook.backends.hf.backend import to_pil
    from egx_notebook.backends.prompting import grounding_instruction

    loaded = backend.loaded
    mi = backend.image(view)
    if family == "florence2":
        text = "<CAPTION_TO_PHRASE_GROUNDING>" + query
    else:
        codec = backend.codec(view.width, view.height)
        instruction = grounding_instruction(mi.brief, query, codec.describe())
        text = backend._chat(1, instruction)
    processors = LogitsProcessorList([script])

    def call():
        image = to_pil(view.render())  # the view as RGB: a raw script needs an image too
        inputs = loaded.processor(images=[image], text=[text], return_tensors="pt")
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, max_new_tokens=n_new, do_sample=False, num_beams=1,
                                        logits_processor=processors)
        start = 1 if family == "florence2" else inputs["input_ids"].shape[1]
        return loaded.processor.batch_decode(out[:, start:], skip_special_tokens=family != "florence2")

    return call


def measure(family: str, repeats: int, tokens: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        scene = _scene(tmp)
        view = scene.overview()
        _ = view.values  # read once: both sides start from the same in-memory view
        backend, script, n_new = _setup(family, tmp, tokens)
        raw = _raw_call(backend, family, view, "ship", script, n_new)
        wrapped = lambda: backend.ground(view, "ship")  # noqa: E731
        n_boxes = len(wrapped())
        raw()
        times = {"wrapper": [], "raw": []}
        for _ in range(repeats):
            for key, fn in (("wrapper", wrapped), ("raw", raw)):
                t0 = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - t0)
        w, r = statistics.median(times["wrapper"]), statistics.median(times["raw"])
        return {"family": family, "view": f"{view.width}x{view.height}", "new_tokens": n_new, "boxes": n_boxes,
                "wrapper_s": w, "raw_s": r, "ratio": w / r, "ratio_best": min(times["wrapper"]) / min(times["raw"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["qwen2.5-vl", "qwen3-vl", "florence2", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--tokens", type=int, default=64, help="length of the forced answer (tokens)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 by default: tiny models are slower, and noisier, with more)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    families = ["qwen2.5-vl", "qwen3-vl", "florence2"] if args.family == "all" else [args.family]
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'family':<12} {'view':>9} {'tokens':>6} {'boxes':>5} {'wrapper s':>10} {'raw s':>8} {'ratio':>6} "
          f"{'best':>6}")
    worst = 0.0
    for family in families:
        m = measure(family, args.repeats, args.tokens)
        worst = max(worst, m["ratio"])
        print(f"{m['family']:<12} {m['view']:>9} {m['new_tokens']:>6} {m['boxes']:>5} {m['wrapper_s']:>10.4f} "
              f"{m['raw_s']:>8.4f} {m['ratio']:>6.3f} {m['ratio_best']:>6.3f}")
    print(f"model-path overhead (median wrapper / median raw), worst family: {worst:.3f}x (goal <= 1.2x); "
          "'best' = fastest wrapper / fastest raw call (less sensitive to other load on the machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
