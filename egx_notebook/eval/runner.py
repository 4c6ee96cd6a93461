"""``run_eval``: run a backend over a labelled dataset, score it, write per-item results and a summary.

Tasks:

- ``grounding``: ``scene.ground(query)`` per item. Scored by what the ground truth holds: boxes -> one-to-one
  matching at the dataset's IoU (precision / recall / F1) and AP; masks -> per-item IoU (mean) and cumulative
  IoU (cIoU); infrared small targets -> Pd / Fa as well; one-target referring expressions -> Acc@IoU and
  mean IoU of the top answer (and its mask IoU when there is a mask).
- ``referring``: ``scene.refer(Box)`` on every ground-truth box; the label named is mapped to a canonical class
  (:func:`canonical_label`) and compared with the box's class: accuracy and confusion matrix.

Outputs under ``out``: ``results.jsonl`` (one line per item / prompt), ``summary.json``, ``summary.md`` and,
with ``gallery=k``, ``gallery/*.png`` for the k worst cases (:mod:`.gallery`).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metrics as M
from .datasets import Dataset, Item, load_dataset
from .readers import rle_encode
from .small_targets import small_target_counts

TASKS = ("grounding", "referring")


@dataclass
class EvalReport:
    """What :func:`run_eval` measured: ``summary`` (dict of settings and metrics), ``records`` (one dict per item
    or prompt, as written to ``results.jsonl``) and ``paths`` of the files written."""

    summary: dict
    records: list[dict] = field(repr=False, default_factory=list)
    paths: dict = field(default_factory=dict)

    def to_markdown(self) -> str:
        from .report import summary_markdown

        return summary_markdown(self.summary)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def canonical_label(text: str | None) -> str:
    """A class name for a free-text label: the analytic vocabulary's class whose word or phrase occurs in
    ``text`` (longest first; e.g. "Car" -> "vehicle", "a small boat" -> "ship", "Tree" -> "tree"),
    else the lower-cased text."""
    import re

    from ..backends.analytic.vocabulary import CLASSES

    if not text:
        return "none"
    t = " ".join(str(text).lower().replace("_", " ").split())
    best, best_len = None, 0
    for c in CLASSES:
        for w in (c.label,) + c.words + c.plurals:
            if len(w) > best_len and re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", t):
                best, best_len = c.label, len(w)
    return best or t


def _load(dataset, split, root, data, options) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    return load_dataset(str(dataset), root, data=data, split=split, **options)


def run_eval(dataset, backend="analytic", task: str = "grounding", split: str = "all", out=None, *, root=None,
             data=None, query: str | None = None, iou: float | None = None, gallery: int = 0,
             limit: int | None = None, progress: bool = True, command: str | None = None,
             pd_rule: str = "centroid", pd_distance: float = 3.0, **dataset_options) -> EvalReport:
    """Evaluate ``backend`` on ``dataset`` (a :class:`Dataset` or a name for :func:`load_dataset` with ``root`` /
    ``data`` / ``split`` / ``dataset_options``).

    ``task``: ``"grounding"`` or ``"referring"``; ``query`` overrides the dataset's grounding query; ``iou`` its
    box-matching threshold; ``limit`` caps the number of files; ``gallery`` renders that many worst cases;
    ``pd_rule`` / ``pd_distance`` set the small-target detection rule (see :mod:`.small_targets`).
    Writes ``results.jsonl``, ``summary.json`` and ``summary.md`` under ``out`` when given."""
    from tqdm.auto import tqdm

    from ..backends.registry import get_backend

    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    ds = _load(dataset, split, root, data, dataset_options)
    engine = get_backend(backend)
    thr = float(iou if iou is not None else ds.iou)
    keys = ds.keys[:limit] if limit else ds.keys
    started = time.perf_counter()
    acc = _Accumulator(ds, task, thr, pd_rule, pd_distance)
    for key in tqdm(keys, desc=f"egx eval {ds.name} [{ds.split}] {task}", unit="file", disable=not progress):
        for item in ds.items(key):
            recs = [_ground_item(item, engine, query, ds, thr, pd_rule, pd_distance)] if task == "grounding" \
                else _refer_item(item, engine)
            for rec in recs:
                acc.add({"key": key} | rec)
    summary = acc.summary()
    summary.update({
        "dataset": ds.name, "split": ds.split, "task": task, "backend": engine.name, "files": len(keys),
        "query": query or ds.query, "iou": thr, "root": str(ds.root) if ds.root else None, "notes": ds.notes,
        "seconds": round(time.perf_counter() - started, 2),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command or _python_call(ds, backend, task, query, iou, limit),
    })
    report = EvalReport(summary, acc.records)
    if out is not None:
        from .report import write_report

        report.paths = write_report(report, Path(out))
        if gallery:
            from .gallery import render_gallery

            report.paths["gallery"] = render_gallery(ds, report.records, Path(out) / "gallery", gallery, task)
    return report


def _python_call(ds, backend, task, query, iou, limit) -> str:
    args = [repr(ds.name), f"backend={getattr(backend, 'name', backend)!r}", f"task={task!r}", f"split={ds.split!r}"]
    args += [f"query={query!r}"] if query else []
    args += [f"iou={iou}"] if iou is not None else []
    args += [f"limit={limit}"] if limit else []
    return f"egx_notebook.eval.run_eval({', '.join(args)}, root={str(ds.root)!r})"


# -- one item ------------------------------------------------------------------------------------------------------
def _box_list(boxes) -> list[list[float]]:
    return [[round(float(v), 2) for v in b] for b in np.asarray(boxes, dtype=float).reshape(-1, 4)]


def _ground_item(item: Item, engine, query, ds: Dataset, thr: float, pd_rule: str, pd_distance: float) -> dict:
    from ..errors import EgxError

    q = query or item.query or ds.query
    rec = {"id": item.id, "image": str(item.image), "query": q, "gt_boxes": _box_list(item.boxes),
           "gt_labels": list(item.labels), "meta": item.meta}
    if item.skip:
        rec["skipped"] = item.skip
        return rec
    if len(item.ignore):
        rec["ignore_boxes"] = _box_list(item.ignore)
    t0 = time.perf_counter()
    try:
        result = item.open().ground(q, backend=engine)
        pred, scores = result.boxes, result.scores
    except EgxError as exc:
        result, pred, scores = None, np.zeros((0, 4)), np.zeros(0)
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    rec["pred_boxes"] = _box_list(pred)
    rec["pred_scores"] = [round(float(s), 4) for s in scores]
    rec["pred_labels"] = list(result.labels) if result is not None else []
    if item.single:
        top = pred[0] if len(pred) else None
        rec["top1_iou"] = float(M.top1_ious([top], [item.boxes[0]])[0])
    elif ds.kind in ("objects", "small_targets"):
        c = M.match_boxes_ignoring(pred, item.boxes, item.ignore, thr, scores if len(scores) else None)
        rec.update(tp=c.tp, fp=c.fp, fn=c.fn, f1=c.f1 if (c.tp + c.fp + c.fn) else 1.0)
    if item.mask is not None:
        if result is None:
            pmask = np.zeros(item.mask.shape, dtype=bool)
        else:
            pmask = (result[:1] if item.single else result).label_mask() > 0
            if pmask.shape != item.mask.shape:
                rec["error"] = f"prediction grid {pmask.shape} differs from the label {item.mask.shape}"
                pmask = np.zeros(item.mask.shape, dtype=bool)
        mc = M.mask_counts(pmask, item.mask, item.valid)
        rec.update(intersection=mc.intersection, union=mc.union, mask_iou=mc.iou,
                   pred_mask_rle=rle_encode(pmask))
        if ds.kind == "small_targets":
            st = small_target_counts(pmask, item.mask, item.valid, rule=pd_rule, max_distance=pd_distance)
            rec.update(targets=st.targets, detected=st.detected, false_pixels=st.false_pixels, pixels=st.pixels)
    return rec


def _refer_item(item: Item, engine) -> list[dict]:
    from ..errors import EgxError

    if item.skip:
        return [{"id": item.id, "image": str(item.image), "skipped": item.skip}]
    scene = None
    out = []
    for k, (box, label) in enumerate(zip(item.boxes, item.labels)):
        rec = {"id": f"{item.id}#{k}", "image": str(item.image), "box": _box_list([box])[0], "true_raw": label,
               "true": canonical_label(label), "meta": item.meta}
        t0 = time.perf_counter()
        try:
            scene = scene or item.open()
            r = scene.refer(item.prompts[k], backend=engine)
            rec.update(said=r.label, pred=canonical_label(r.label), confidence=round(float(r.confidence), 4),
                       text=r.text)
        except EgxError as exc:
            rec.update(said=None, pred="none", confidence=0.0, error=f"{type(exc).__name__}: {exc}")
        rec["seconds"] = round(time.perf_counter() - t0, 4)
        rec["correct"] = rec["pred"] == rec["true"]
        out.append(rec)
    return out


# -- totals ------------------------------------------------------------------------------------------------------
class _Accumulator:
    def __init__(self, ds: Dataset, task: str, thr: float, pd_rule: str, pd_distance: float):
        self.ds, self.task, self.thr = ds, task, thr
        self.pd_rule, self.pd_distance = pd_rule, pd_distance
        self.records: list[dict] = []

    def add(self, rec: dict):
        self.records.append(rec)

    def summary(self) -> dict:
        recs = [r for r in self.records if "skipped" not in r]
        s = {"items": len(recs), "skipped": len(self.records) - len(recs),
             "errors": sum("error" in r for r in recs)}
        if self.task == "referring":
            return s | _referring_summary(recs)
        if not recs:
            return s
        s["mean_seconds"] = round(float(np.mean([r["seconds"] for r in recs])), 4)
        boxed = [r for r in recs if "tp" in r]
        if boxed:
            s |= _box_summary(boxed, self.thr)
            groups = sorted({r["meta"].get("time") for r in boxed if r.get("meta", {}).get("time")})
            if len(groups) > 1:
                s["by_time"] = {g: _counts_summary([r for r in boxed if r["meta"].get("time") == g]) for g in groups}
        single = [r["top1_iou"] for r in recs if "top1_iou" in r]
        if single:
            ious = np.asarray(single)
            s["acc"] = float((ious >= self.thr).mean())
            s["mean_iou"] = float(ious.mean())
        masked = [r for r in recs if "intersection" in r]
        if masked:
            s["ciou"] = M.MaskCounts(sum(r["intersection"] for r in masked), sum(r["union"] for r in masked)).iou
            s["mask_miou"] = float(np.mean([r["mask_iou"] for r in masked]))
        small = [r for r in recs if "targets" in r]
        if small:
            tot = sum(r["targets"] for r in small)
            det = sum(r["detected"] for r in small)
            fpx = sum(r["false_pixels"] for r in small)
            npx = sum(r["pixels"] for r in small)
            s |= {"pd": det / tot if tot else 0.0, "fa": fpx / npx if npx else 0.0, "targets": tot,
                  "pd_rule": f"{self.pd_rule}" + (f" <= {self.pd_distance:g} px" if self.pd_rule == "centroid" else "")}
        return s


def _counts_summary(recs) -> dict:
    c = M.MatchCounts(sum(r["tp"] for r in recs), sum(r["fp"] for r in recs), sum(r["fn"] for r in recs))
    return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": c.precision, "recall": c.recall, "f1": c.f1}


def _box_summary(recs, thr: float) -> dict:
    s = _counts_summary(recs)
    preds = [(r["pred_boxes"], r["pred_scores"]) for r in recs]
    gts = [r["gt_boxes"] for r in recs]
    ign = [r.get("ignore_boxes", []) for r in recs]
    s["ap"] = M.average_precision(preds, gts, thr, ign)
    return s


def _referring_summary(recs) -> dict:
    recs = [r for r in recs if "true" in r]
    if not recs:
        return {"prompts": 0}  # no accuracy without a prompt (an empty split is not 0 % right)
    y_true = [r["true"] for r in recs]
    y_pred = [r["pred"] for r in recs]
    labels, counts = M.confusion_matrix(y_true, y_pred, sorted(set(y_true)) + sorted(set(y_pred) - set(y_true)))
    return {"prompts": len(recs), "accuracy": M.accuracy(y_true, y_pred),
            "per_class": {t: float(np.mean([r["correct"] for r in recs if r["true"] == t]))
                          for t in sorted(set(y_true))},
            "labels": labels, "confusion": counts.tolist(),
            "said": dict(sorted(_count(r["said"] for r in recs).items())),
            "mean_seconds": round(float(np.mean([r["seconds"] for r in recs])), 4)}


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def worst(records: list[dict], k: int, task: str) -> list[dict]:
    """The ``k`` worst scored records: lowest item F1 / mask IoU / top-1 IoU (grounding), wrong answers with
    the highest confidence first (referring)."""
    recs = [r for r in records if "skipped" not in r]
    if task == "referring":
        bad = [r for r in recs if not r.get("correct", True)]
        return sorted(bad, key=lambda r: -r.get("confidence", 0.0))[:k]

    def score(r):
        for key in ("top1_iou", "f1", "mask_iou"):
            if key in r:
                return r[key] if key != "f1" or "mask_iou" not in r else min(r["f1"], r["mask_iou"])
        return 1.0
    return sorted(recs, key=score)[:k]


def dumps(rec: dict) -> str:
    """One JSON line (numpy scalars made plain)."""
    return json.dumps(rec, default=lambda o: o.item() if hasattr(o, "item") else str(o))
