"""Evaluation: metrics, dataset readers and the ``egx eval`` harness for labelled remote-sensing data.

    from egx_notebook.eval import run_eval
    report = run_eval("hrsid", data="../shared/data", split="held-out", out="eval/hrsid", gallery=4)
    report.summary["f1"]

Modules: :mod:`.metrics` (boxes, masks, AP, grounding accuracy, classification), :mod:`.small_targets`
(Pd / Fa), :mod:`.captions` (BLEU-4, METEOR, ROUGE-L, CIDEr-D), :mod:`.readers` (label formats),
:mod:`.datasets` (datasets as items, deterministic splits), :mod:`.runner` (``run_eval``), :mod:`.report`,
:mod:`.gallery`, :mod:`.cli` (``egx eval``). Submodules load on first use.
"""

from __future__ import annotations

import importlib

_LAZY = {"run_eval": "runner", "EvalReport": "runner", "load_dataset": "datasets", "Dataset": "datasets",
         "Item": "datasets", "split_of": "datasets"}

__all__ = ["Dataset", "EvalReport", "Item", "load_dataset", "run_eval", "split_of"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'egx_notebook.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
