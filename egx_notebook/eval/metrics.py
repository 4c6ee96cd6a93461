"""Grounding and segmentation metrics on pixel boxes ``(x0, y0, x1, y1)`` (half-open) and boolean masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def box_iou(a, b) -> np.ndarray:
    """Pairwise IoU of boxes ``a`` (N, 4) and ``b`` (M, 4): an (N, M) array."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


@dataclass(frozen=True)
class MatchCounts:
    """True positives, false positives and false negatives of a one-to-one box matching."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: "MatchCounts") -> "MatchCounts":
        return MatchCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def match_boxes(pred, gt, iou: float = 0.5, scores=None) -> MatchCounts:
    """Greedy one-to-one matching (highest score first, then best IoU) at ``iou``; returns the counts."""
    pred = np.asarray(pred, dtype=float).reshape(-1, 4)
    gt = np.asarray(gt, dtype=float).reshape(-1, 4)
    if len(pred) == 0 or len(gt) == 0:
        return MatchCounts(0, len(pred), len(gt))
    order = np.argsort(-np.asarray(scores)) if scores is not None else np.arange(len(pred))
    ious = box_iou(pred, gt)
    taken = np.zeros(len(gt), dtype=bool)
    tp = 0
    for i in order:
        cand = np.where(~taken, ious[i], -1.0)
        j = int(np.argmax(cand))
        if cand[j] >= iou:
            taken[j] = True
            tp += 1
    return MatchCounts(tp, len(pred) - tp, len(gt) - tp)


def mask_iou(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> float:
    """IoU of two boolean masks over ``valid`` pixels (all when None); 1.0 when both are empty."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if valid is not None:
        pred, gt = pred & valid, gt & valid
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


@dataclass(frozen=True)
class MaskCounts:
    """Intersection and union pixel counts of one or more mask pairs; ``+`` accumulates them, so the
    :attr:`iou` of a sum is the cumulative IoU (cIoU: total intersection over total union)."""

    intersection: int
    union: int

    @property
    def iou(self) -> float:
        """Intersection over union; 1.0 when both masks are empty (nothing to find, nothing found)."""
        return self.intersection / self.union if self.union else 1.0

    def __add__(self, other: "MaskCounts") -> "MaskCounts":
        return MaskCounts(self.intersection + other.intersection, self.union + other.union)


def mask_counts(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> MaskCounts:
    """:class:`MaskCounts` of two boolean masks over ``valid`` pixels (all when None)."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction mask {pred.shape} and ground-truth mask {gt.shape} differ in shape")
    if valid is not None:
        pred, gt = pred & valid, gt & valid
    return MaskCounts(int(np.logical_and(pred, gt).sum()), int(np.logical_or(pred, gt).sum()))


def cumulative_iou(pairs) -> float:
    """cIoU of ``(pred, gt)`` or ``(pred, gt, valid)`` mask pairs: the summed intersection over the summed union
    (large objects weigh more than in the mean of per-item IoUs)."""
    total = MaskCounts(0, 0)
    for pair in pairs:
        total = total + mask_counts(*pair)
    return total.iou


@dataclass(frozen=True)
class GroundingScore:
    """One-target-per-query grounding (referring expressions): ``acc`` = share of queries whose top prediction
    has IoU >= the threshold (Acc@0.5 by default), ``mean_iou`` = mean top-1 IoU (0 for a query with no answer)."""

    acc: float
    mean_iou: float
    n: int


def top1_ious(preds, gts) -> np.ndarray:
    """IoU of each query's top prediction (a box or None) with its one ground-truth box."""
    out = []
    for p, g in zip(preds, gts, strict=True):
        out.append(0.0 if p is None or len(np.asarray(p).reshape(-1)) == 0 else float(box_iou(p, g)[0, 0]))
    return np.asarray(out, dtype=float)


def grounding_accuracy(preds, gts, iou: float = 0.5) -> GroundingScore:
    """Acc@``iou`` and mean IoU of top-1 boxes ``preds`` (one per query, None = no answer) against ``gts``."""
    ious = top1_ious(preds, gts)
    if len(ious) == 0:
        return GroundingScore(0.0, 0.0, 0)
    return GroundingScore(float((ious >= iou).mean()), float(ious.mean()), len(ious))


def average_precision(preds, gts, iou: float = 0.5, ignore=None) -> float:
    """All-point interpolated average precision at one IoU threshold over a set of images.

    ``preds``: per image ``(boxes (N, 4), scores (N,))``; ``gts``: per image boxes (M, 4); ``ignore``
    (optional): per image boxes of objects that are neither to be found nor false alarms (VOC "difficult",
    COCO "crowd"-like). Detections of all images are ranked by score; each one is matched to the unmatched
    ground truth of its image with the highest IoU >= ``iou`` (true positive) or else, if it overlaps an
    ignored object at ``iou``, dropped, or else is a false positive. AP is the area under the precision
    envelope (precision made monotonically non-increasing) over recall, summed at every recall step: the
    PASCAL VOC 2010+ rule, the same as COCO's AP at a single IoU before its 101-point sampling.
    Returns 0.0 when there is no ground truth."""
    npos = sum(len(np.asarray(g).reshape(-1, 4)) for g in gts)
    if npos == 0:
        return 0.0
    rows = []
    for i, (boxes, scores) in enumerate(preds):
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        for b, s in zip(boxes, np.asarray(scores, dtype=float).reshape(-1), strict=True):
            rows.append((-float(s), i, b))
    rows.sort(key=lambda r: (r[0], r[1]))
    taken = [np.zeros(len(np.asarray(g).reshape(-1, 4)), dtype=bool) for g in gts]
    flags = []  # 1 = TP, 0 = FP
    for _, i, b in rows:
        g = np.asarray(gts[i], dtype=float).reshape(-1, 4)
        if len(g):
            cand = np.where(taken[i], -1.0, box_iou(b, g)[0])
            j = int(np.argmax(cand))
            if cand[j] >= iou:
                taken[i][j] = True
                flags.append(1)
                continue
        ign = None if ignore is None else np.asarray(ignore[i], dtype=float).reshape(-1, 4)
        if ign is not None and len(ign) and box_iou(b, ign).max() >= iou:
            continue
        flags.append(0)
    if not flags:
        return 0.0
    tp = np.cumsum(flags)
    fp = np.cumsum(1 - np.asarray(flags))
    recall = tp / npos
    precision = tp / (tp + fp)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # envelope: best precision at this recall or higher
    step = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def match_boxes_ignoring(pred, gt, ignore=(), iou: float = 0.5, scores=None) -> MatchCounts:
    """Like :func:`match_boxes`, but predictions left unmatched that overlap an ``ignore`` box at ``iou``
    (objects outside the evaluated classes, e.g. HIT-UAV "DontCare") are not counted as false positives."""
    pred = np.asarray(pred, dtype=float).reshape(-1, 4)
    gt = np.asarray(gt, dtype=float).reshape(-1, 4)
    ignore = np.asarray(ignore, dtype=float).reshape(-1, 4)
    if len(pred) == 0 or len(gt) == 0:
        matched = np.zeros(len(pred), dtype=bool)
    else:
        order = np.argsort(-np.asarray(scores)) if scores is not None else np.arange(len(pred))
        ious = box_iou(pred, gt)
        taken = np.zeros(len(gt), dtype=bool)
        matched = np.zeros(len(pred), dtype=bool)
        for i in order:
            cand = np.where(~taken, ious[i], -1.0)
            j = int(np.argmax(cand))
            if cand[j] >= iou:
                taken[j] = matched[i] = True
    tp = int(matched.sum())
    rest = pred[~matched]
    dropped = int((box_iou(rest, ignore).max(axis=1) >= iou).sum()) if len(rest) and len(ignore) else 0
    return MatchCounts(tp, len(pred) - tp - dropped, len(gt) - tp)


# -- classification (referring: "what is inside this box?") ------------------------------------------------
def accuracy(y_true, y_pred) -> float:
    """Share of equal labels; 0.0 for no items."""
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    return sum(a == b for a, b in zip(y_true, y_pred)) / len(y_true) if y_true else 0.0


def confusion_matrix(y_true, y_pred, labels=None) -> tuple[list[str], np.ndarray]:
    """``(labels, counts)`` with ``counts[i, j]`` = items of true class ``labels[i]`` named ``labels[j]``.
    ``labels`` defaults to the sorted union of true and predicted labels."""
    y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    index = {v: i for i, v in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            counts[index[t], index[p]] += 1
    return labels, counts
