"""Infrared small-target metrics: probability of detection (Pd) and false-alarm rate (Fa).

The rule follows the single-frame infrared small-target literature (SIRST / ACM, Dai et al. 2021; the Pd/Fa
protocol of DNANet, Li et al., IEEE TIP 2022, used on SIRST, NUDT-SIRST and IRSTD-1k):

- targets are the 8-connected components of the ground-truth mask, predicted objects those of the
  predicted mask;
- a target is *detected* when a not yet matched predicted component lies close enough: its centroid within
  ``max_distance`` pixels of the target's centroid (``rule="centroid"``, DNANet uses 3 px), or, with
  ``rule="overlap"``, it shares at least one pixel with the target. Each predicted component detects at most
  one target; targets take the nearest candidate;
- Pd = detected targets / all targets;
- Fa = pixels of predicted components that detected no target / all (valid) pixels, so a prediction that
  finds a target is never a false alarm, however loose its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: DNANet's centroid distance (px) under which a predicted component counts as a detection.
DEFAULT_MAX_DISTANCE = 3.0


@dataclass(frozen=True)
class SmallTargetCounts:
    """Counts behind Pd and Fa; ``+`` accumulates images, so a sum gives dataset-level Pd / Fa."""

    detected: int
    targets: int
    false_pixels: int
    pixels: int

    @property
    def pd(self) -> float:
        """Probability of detection (0.0 when there is no target)."""
        return self.detected / self.targets if self.targets else 0.0

    @property
    def fa(self) -> float:
        """False-alarm pixels per pixel (multiply by 1e6 for the usual "x 10^-6" tables)."""
        return self.false_pixels / self.pixels if self.pixels else 0.0

    def __add__(self, other: "SmallTargetCounts") -> "SmallTargetCounts":
        return SmallTargetCounts(self.detected + other.detected, self.targets + other.targets,
                                 self.false_pixels + other.false_pixels, self.pixels + other.pixels)


def _components(mask: np.ndarray):
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return lab, np.zeros((0, 2)), np.zeros(0, dtype=int)
    idx = np.arange(1, n + 1)
    centroids = np.asarray(ndi.center_of_mass(mask, lab, idx), dtype=float).reshape(-1, 2)  # (row, col)
    areas = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    return lab, centroids, areas


def small_target_counts(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, *,
                        rule: str = "centroid", max_distance: float = DEFAULT_MAX_DISTANCE) -> SmallTargetCounts:
    """:class:`SmallTargetCounts` of one image (boolean masks of one shape; ``valid`` limits the pixels)."""
    if rule not in ("centroid", "overlap"):
        raise ValueError(f"rule must be 'centroid' or 'overlap', got {rule!r}")
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction mask {pred.shape} and ground-truth mask {gt.shape} differ in shape")
    if valid is not None:
        pred, gt = pred & valid, gt & valid
    npix = int(valid.sum()) if valid is not None else pred.size
    plab, pcen, parea = _components(pred)
    glab, gcen, _ = _components(gt)
    used = np.zeros(len(pcen), dtype=bool)
    detected = 0
    for t in range(len(gcen)):
        if rule == "centroid":
            dist = np.hypot(*(pcen - gcen[t]).T) if len(pcen) else np.zeros(0)
            ok = (dist <= max_distance) & ~used
        else:
            hit = np.unique(plab[(glab == t + 1) & pred])
            ok = np.zeros(len(pcen), dtype=bool)
            ok[hit[hit > 0] - 1] = True
            ok &= ~used
            dist = np.hypot(*(pcen - gcen[t]).T) if len(pcen) else np.zeros(0)
        if ok.any():
            j = int(np.argmin(np.where(ok, dist, np.inf)))
            used[j] = True
            detected += 1
    return SmallTargetCounts(detected, len(gcen), int(parea[~used].sum()), npix)
