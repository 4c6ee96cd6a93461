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
