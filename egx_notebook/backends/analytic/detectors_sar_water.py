"""SAR water: dark, specular surfaces in speckled backscatter (dB), by a speckle filter and an automatic
threshold with hysteresis. Ships and other bright targets are in ``detectors_sar``."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .detectors_common import (block_sum, otsu_effectiveness, prepare, remove_small, robust_threshold,
                               upsample_blocks)

__all__ = ["sar_water"]


def _looks_calibrated(vals):
    """True when values look like absolute sigma0 dB (not 20*log10(DN))."""
    vals = np.ravel(vals)
    if vals.size > 1_000_000:  # a regular subsample is plenty for a median and a 5th percentile
        vals = vals[:: -(-vals.size // 1_000_000)]
    med = float(np.median(vals))
    return -35.0 <= med <= 5.0 and float(np.percentile(vals, 5)) < -8.0


def _block_db(x, v, d):
    """dB of the linear-power mean of each d x d block with valid pixels (1-D array)."""
    p = np.where(v, np.power(10.0, np.clip(x, -100, 100) / 10.0), 0.0)
    n, s = block_sum(v.astype(np.float32), d), block_sum(p, d)
    ok = n > 0
    return 10.0 * np.log10(np.maximum(s[ok] / n[ok], 1e-12))


def _multilook_median_db(x, v, looks, median):
    """Speckle filter: ``looks`` x ``looks`` block multilook in linear power,
    a separable ``median`` x ``median`` median filter of the block dB values
    (1-D medians along rows then columns: edge preserving like the 2-D
    median, ~10x faster), nearest-neighbour expansion back to full size. Blocks with no
    valid pixel take the median of the valid blocks."""
    p = np.where(v, np.power(10.0, np.clip(x, -100, 100) / 10.0), 0.0)
    n = block_sum(v.astype(np.float32), looks)
    s = block_sum(p, looks)
    ok = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        b = 10.0 * np.log10(np.maximum(s / np.maximum(n, 1e-9), 1e-12))
    b = np.where(ok, b, float(np.median(b[ok])) if ok.any() else 0.0)
    if median > 1:
        b = b.astype(np.float32)  # separable median (rows, then columns): ~10x faster than the 2-D one
        b = ndi.median_filter(ndi.median_filter(b, size=(1, median), mode="nearest"), size=(median, 1),
                              mode="nearest").astype(np.float64)
    return upsample_blocks(b, looks, x.shape)


def sar_water(db, valid=None, *, cross=None, looks: int = 2, median: int = 5, method: str = "otsu",
              bounds: tuple[float, float] = (-26.0, -12.0), cross_bounds: tuple[float, float] = (-30.0, -18.0),
              grow: float = 0.3, seed: float = 0.2, min_area: int = 16,
              min_effectiveness: float = 0.70) -> np.ndarray:
    """Open water / flood mask from SAR backscatter in dB (bool, H x W).

    Specular water is dark in both polarisations. Steps:

    1. Speckle filter (``_multilook_median_db``): ``looks`` x ``looks``
       multilook in linear power, then a ``median`` x ``median`` median of the
       block dB values (edge preserving, so field parcels keep their borders).
    2. With a cross-pol band (``cross``, e.g. VH beside VV) the feature is the
       sum of the two filtered dB images (a joint dark test; both channels
       carry independent speckle), else the single band.
    3. Automatic threshold ``t`` on the valid histogram (``method``: Otsu by
       default, Kittler-Illingworth, triangle); when the values look like
       calibrated dB (median in [-35, 5] dB with a dark tail) ``t`` is clipped
       to ``bounds`` (co-pol; ``cross_bounds`` are added for the sum);
       relative dB is not clipped.
    4. No dark mode: if the 8 x 8 block means (linear power, in dB) are not
       bimodal (Otsu effectiveness ``sigma_between^2 / sigma_total^2 <
       min_effectiveness``; a single Gaussian split in two gives ~0.64) and,
       for calibrated data, the dark class mean is not 3 dB below the upper
       bound, the result is empty.
    5. Hysteresis: pixels below ``t - seed * sd`` seed water bodies, which
       grow over connected pixels below ``t + grow * sd`` (``sd`` = standard
       deviation of the feature), so wet parcels with a brighter (rougher or
       vegetated) part stay whole while isolated dark land pixels stay out.
    6. 3x3 opening; components and holes smaller than ``min_area`` removed.

    On the Sen1Floods11 Spain sample this gives IoU ~0.62 with the hand label
    (VV+VH), where the best possible single threshold of the filtered images
    reaches ~0.63: the label also marks flooded parcels with land-like
    backscatter.
    """
    x, v = prepare(db, valid)
    out = np.zeros(x.shape, bool)
    if cross is not None:
        xc, vc = prepare(cross, None)
        if xc.shape != x.shape:
            raise ValueError(f"cross-pol shape {xc.shape} != co-pol shape {x.shape}")
        v &= vc
    if v.sum() < 4:
        return out
    looks = max(1, int(looks))
    f = _multilook_median_db(x, v, looks, median)
    lo, hi = bounds
    calibrated = _looks_calibrated(x[v])
    if cross is not None:
        f = f + _multilook_median_db(xc, v, looks, median)
        calibrated = calibrated and _looks_calibrated(xc[v])
        lo, hi = lo + cross_bounds[0], hi + cross_bounds[1]
    vals = f[v]
    if float(vals.max() - vals.min()) <= 1e-9:
        return out
    t = robust_threshold(vals, method)
    if calibrated:
        t = float(np.clip(t, lo, hi))
    dark = vals[vals <= t]
    # bimodality is judged on 8 x 8 block means: land / water contrast is spatially coherent and survives the
    # averaging, while the speckle of a single surface type averages out to one Gaussian mode (~0.64)
    d = 8 if min(x.shape) >= 64 else 1
    coarse = _block_db(x, v, d)
    if cross is not None:
        coarse = coarse + _block_db(xc, v, d)
    eff = otsu_effectiveness(coarse, robust_threshold(coarse, "otsu")) if coarse.size > 1 else 0.0
    if dark.size == 0 or eff < min_effectiveness and not (calibrated and dark.mean() < hi - 3):
        return out
    sd = float(vals.std())
    strong = v & (f <= t - seed * sd)
    weak = v & (f <= t + grow * sd)
    lab, n = ndi.label(weak, structure=np.ones((3, 3), bool))
    if n == 0:
        return out
    seeded = np.zeros(n + 1, bool)
    seeded[np.unique(lab[strong])] = True
    seeded[0] = False
    water = seeded[lab]
    water = ndi.binary_opening(water, structure=np.ones((3, 3)))
    water = remove_small(water, min_area)
    water = ~remove_small(~water, min_area) & v
    return water
