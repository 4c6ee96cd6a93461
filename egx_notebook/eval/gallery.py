"""PNG gallery of the worst evaluation cases: the image rendered for its modality, ground truth in green,
predictions in red (boxes and mask outlines), ignored objects dashed grey. Uses matplotlib's Agg canvas
directly, so it works headless and leaves pyplot's state alone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

GT_COLOUR = "lime"
PRED_COLOUR = "red"
IGNORE_COLOUR = "0.7"
#: Longer side of the rendered scene (px of the underlying image).
RENDER_SIZE = 1024


def _boxes(ax, boxes, colour, style="-", lw=1.4):
    from matplotlib.patches import Rectangle

    for x0, y0, x1, y1 in boxes:
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linestyle=style, linewidth=lw))


def _outline(ax, mask, colour):
    if mask is None or not np.any(mask):
        return
    h, w = mask.shape
    ax.contour(np.arange(w) + 0.5, np.arange(h) + 0.5, mask.astype(float), levels=[0.5], colors=[colour],
               linewidths=1.0)


def _title(rec: dict, task: str) -> str:
    if task == "referring":
        return f"{rec['id']}: true {rec['true']} / named {rec.get('said')!r} ({rec.get('confidence', 0):.2f})"
    parts = [rec["id"]]
    if "top1_iou" in rec:
        parts.append(f"top-1 IoU {rec['top1_iou']:.2f}")
    if "f1" in rec:
        parts.append(f"F1 {rec['f1']:.2f} (TP {rec['tp']} FP {rec['fp']} FN {rec['fn']})")
    if "mask_iou" in rec:
        parts.append(f"mask IoU {rec['mask_iou']:.2f}")
    if "error" in rec:
        parts.append(rec["error"][:60])
    return "  ".join(parts)


def render_case(item, rec: dict, path: Path, task: str = "grounding") -> Path:
    """Draw one case (an :class:`~egx_notebook.eval.datasets.Item` and its result record) to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .readers import rle_decode

    scene = item.open()
    h, w = scene.shape
    fig = Figure(figsize=(7, 7 * h / w + 0.5) if w >= h else (7 * w / h, 7.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(scene.render(max_size=RENDER_SIZE), extent=(0, w, h, 0), interpolation="nearest")
    if task == "referring":
        x0, y0, x1, y1 = rec["box"]
        _boxes(ax, [rec["box"]], GT_COLOUR, lw=2.0)
        side = max(96.0, 4 * max(x1 - x0, y1 - y0))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ax.set_xlim(max(0, cx - side / 2), min(w, cx + side / 2))
        ax.set_ylim(min(h, cy + side / 2), max(0, cy - side / 2))
    else:
        _boxes(ax, rec.get("ignore_boxes", []), IGNORE_COLOUR, "--", 1.0)
        _boxes(ax, rec.get("gt_boxes", []), GT_COLOUR)
        _boxes(ax, rec.get("pred_boxes", []), PRED_COLOUR)
        _outline(ax, item.mask if item.valid is None or item.mask is None else item.mask & item.valid, GT_COLOUR)
        if rec.get("pred_mask_rle"):
            _outline(ax, rle_decode(rec["pred_mask_rle"]), PRED_COLOUR)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
    ax.set_title(_title(rec, task), fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def render_gallery(ds, records: list[dict], folder: Path, k: int, task: str) -> list[Path]:
    """Render the ``k`` worst records of a run (see :func:`~egx_notebook.eval.runner.worst`) into ``folder``."""
    from .runner import worst

    out = []
    cache: dict[str, list] = {}
    for rank, rec in enumerate(worst(records, k, task), start=1):
        key = rec["key"]
        items = cache.setdefault(key, ds.items(key))
        item_id = rec["id"].split("#")[0]
        item = next((i for i in items if i.id == item_id), None)
        if item is None:
            continue
        name = re.sub(r"[^\w.-]+", "_", rec["id"])[:80]
        out.append(render_case(item, rec, folder / f"{rank:02d}_{name}.png", task))
    return out
