"""Measurements of detected components: contrast with their surroundings, a score, sizes in m2."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi


def inside_and_ring(band: np.ndarray, comp: dict, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Finite values of ``band`` inside the component and in a ring around it (``width`` px, by default half the
    component's size, 3-25 px), read within a padded crop."""
    x0, y0, x1, y1 = comp["box"]
    size = max(x1 - x0, y1 - y0)
    pad = width or max(3, min(25, size // 2 + 2))
    h, w = band.shape
    cx0, cy0, cx1, cy1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    inside = np.zeros((cy1 - cy0, cx1 - cx0), dtype=bool)
    inside[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = comp["mask"]
    ring = ndi.binary_dilation(inside, iterations=pad) & ~inside
    crop = band[cy0:cy1, cx0:cx1]
    return crop[inside & np.isfinite(crop)], crop[ring & np.isfinite(crop)]


def ring_contrast(band: np.ndarray, comp: dict, width: int | None = None) -> tuple[float, float]:
    """(mean inside the component, mean in a ring around it) of ``band`` (see :func:`inside_and_ring`)."""
    a, b = inside_and_ring(band, comp, width)
    mean_in = float(a.mean()) if a.size else float("nan")
    mean_out = float(b.mean()) if b.size else float("nan")
    return mean_in, mean_out


def two_tone_score(band: np.ndarray, comp: dict, spread: float, ring_share: float = 0.3) -> float:
    """0..1 confidence for objects that may be warmer AND colder than their surroundings at once (a car by day:
    hot body, cold glass), where the signed mean contrast cancels out.

    Deviations are taken from the ring's median. z = (90th percentile of |inside deviation| - ``ring_share`` x
    90th percentile of |ring deviation|) over the ring's own noise (1.4826 x its MAD, plus a tenth of the image's
    spread so that a flat ring does not give infinite scores); score = 1 - exp(-z / 9), 0 for z <= 0. An object
    must stand out above the strongest parts of its surroundings, so the tip of a warm structure (whose ring
    holds the rest of it) ranks below a person on a warm road (far warmer than the road)."""
    a, b = inside_and_ring(band, comp)
    if a.size == 0 or b.size == 0:
        return 0.0
    med = float(np.median(b))
    dev = np.abs(b - med)
    noise = 1.4826 * float(np.median(dev)) + 0.1 * spread
    top = float(np.percentile(np.abs(a - med), 90)) - ring_share * float(np.percentile(dev, 90))
    z = max(top, 0.0) / max(noise, 1e-12)
    return float(1.0 - math.exp(-z / 9.0))


def robust_spread(band: np.ndarray) -> float:
    """Robust spread of the finite values of ``band``: 1.4826 x MAD, falling back to the standard deviation
    (and to 1.0) when that is zero. The unit in which contrast scores are measured."""
    vals = band[np.isfinite(band)]
    if vals.size == 0:
        return 1.0
    mad = float(np.median(np.abs(vals - np.median(vals)))) * 1.4826
    return mad if mad > 0 else float(np.std(vals)) or 1.0


def contrast_score(contrast: float, spread: float) -> float:
    """0..1 confidence from a contrast measured in units of the image's robust spread."""
    if not math.isfinite(contrast) or spread <= 0:
        return 0.5
    return float(1.0 - math.exp(-abs(contrast) / (3.0 * spread)))


def major_axis_px(mask: np.ndarray) -> float:
    """Length of the major axis (px) of a component mask from its second moments."""
    ys, xs = np.nonzero(mask)
    if xs.size < 2:
        return float(xs.size)
    cov = np.cov(np.vstack([xs, ys]))
    return float(4.0 * math.sqrt(max(np.linalg.eigvalsh(cov)[-1], 0.0)) + 1.0)


def elongation(mask: np.ndarray) -> float:
    """Ratio of major to minor axis (1 = round) from second moments."""
    ys, xs = np.nonzero(mask)
    if xs.size < 3:
        return 1.0
    ev = np.linalg.eigvalsh(np.cov(np.vstack([xs, ys])))
    return float(math.sqrt(max(ev[-1], 1e-9) / max(ev[0], 1e-9)))
