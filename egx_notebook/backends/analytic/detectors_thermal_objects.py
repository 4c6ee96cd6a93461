"""Thermal detector of compact objects warmer OR colder than their surroundings
(people, cars, bicycles in UAV / close-range thermal frames).

Inputs are temperatures in Kelvin or relative brightness (8-bit thermal
video); everything is relative to the scene, so the unit does not matter.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .detectors_common import filled, label_areas, label_extrema, prepare
from .detectors_thermal import _mad_sigma

__all__ = ["thermal_objects"]


def _coarse_median_background(x, size, looks):
    """Local background: block means (``looks`` px, or larger so that the
    window spans at most 9 blocks), a median over ``size`` px (in
    full-resolution pixels) on that grid, bilinear expansion back to full
    size. Cheap for large windows and blind to objects smaller than about
    half the window."""
    H, W = x.shape
    d = max(1, min(max(int(looks), -(-int(size) // 9)), H, W))
    h, w = -(-H // d), -(-W // d)
    p = np.pad(x, ((0, h * d - H), (0, w * d - W)), mode="edge")
    b = p.reshape(h, d, w, d).mean(axis=(1, 3))
    b = ndi.median_filter(b, size=max(3, (size // d) | 1), mode="nearest")
    if d == 1:
        return b
    # bilinear, block centres at (i + 0.5) * d - 0.5 in full-resolution pixels
    ry = np.clip((np.arange(H) + 0.5) / d - 0.5, 0, h - 1)
    rx = np.clip((np.arange(W) + 0.5) / d - 0.5, 0, w - 1)
    y0, x0 = np.floor(ry).astype(int), np.floor(rx).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ry - y0)[:, None], (rx - x0)[None, :]
    rows = b[:, x0] * (1 - fx) + b[:, x1] * fx  # along x on the coarse rows, then along y
    return rows[y0] * (1 - fy) + rows[y1] * fy


def _object_pass(c, x, v, thr, close, sig, taken, *, min_area, max_area, max_aspect, min_fill, min_peak,
                 min_range, low=None):
    """Components of ``c > thr`` (grown over connected ``c > low`` pixels when
    ``low`` is given; closed; holes filled) that pass the shape and contrast
    priors and do not touch ``taken``; returns them as a mask."""
    m = v & (c > thr)
    if low is not None and low < thr:
        lab, n = ndi.label(v & (c > low), structure=np.ones((3, 3), bool))
        hit = np.zeros(n + 1, bool)
        hit[np.unique(lab[m])] = True
        hit[0] = False
        m = hit[lab]
    if close > 1:
        m = ndi.binary_closing(m, structure=np.ones((close, close), bool)) & v
    lab, n, areas = label_areas(m)
    out = np.zeros(m.shape, bool)
    if n == 0:
        return out
    peak = label_extrema(c, lab, n)[0]
    hi, lo = label_extrema(x, lab, n)
    # cheap tests first (the unfilled area is a lower bound of the filled one)
    cand = (areas >= min_area) & (areas <= max_area) & (peak >= min_peak * sig) & (hi - lo >= min_range * sig)
    cand[0] = False
    if not cand.any():
        return out
    H, W = m.shape
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None or not cand[i]:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if max(h, w) > max_aspect * min(h, w):
            continue
        obj = ndi.binary_fill_holes(lab[sl] == i) & v[sl]  # holes only change the area, not the box
        area = int(obj.sum())
        if area > max_area or area < min_fill * h * w:
            continue
        y0, x0 = max(0, sl[0].start - 1), max(0, sl[1].start - 1)
        y1, x1 = min(H, sl[0].stop + 1), min(W, sl[1].stop + 1)
        if taken[y0:y1, x0:x1].any():  # touching an object found before: not a new one
            grown = np.zeros((y1 - y0, x1 - x0), bool)
            grown[sl[0].start - y0:sl[0].stop - y0, sl[1].start - x0:sl[1].stop - x0] = obj
            if (ndi.binary_dilation(grown, structure=np.ones((3, 3), bool)) & taken[y0:y1, x0:x1]).any():
                continue
        out[sl] |= obj
    return out


def thermal_objects(temp, valid=None, *, background=(121, 81), looks: int = 4,
                    passes: tuple = ((5.0, 0, 3.0), (4.0, 0)), min_peak: float = 10.0,
                    min_range: float = 6.0, min_area: int = 20, max_area_frac: float = 0.04,
                    max_aspect: float = 3.5, min_fill: float = 0.3) -> np.ndarray:
    """Compact objects warmer OR colder than their surroundings (bool mask):
    people, cars and bicycles in UAV / close-range thermal frames.

    Unlike :func:`~.detectors_thermal.thermal_hot_targets` this does not assume that objects are
    hot: by day the ground can be hotter than people, and car glass or a car
    parked for hours look cold. Method:

    1. For each window of ``background`` (px, largest first): background =
       median of ``looks`` x ``looks`` block means over the window
       (``_coarse_median_background``); absolute contrast ``c = |temp -
       background|``; noise level ``sig`` = 1.4826 * MAD of ``c`` over the
       valid pixels (floored at 0.2 % of the 1-99 % range of the scene).
    2. For each ``(k, close[, k_low])`` of ``passes``: pixels with ``c >
       median(c) + k * sig`` (grown over connected pixels above ``k_low``
       when given: hysteresis, so a car's faint body joins its contrasted
       glass or engine), closed with a ``close`` x ``close`` square, holes
       filled.
    3. Each 8-connected component is kept when it looks like one object:
       ``min_area <= area <= max_area_frac`` of the valid pixels, box aspect
       ratio <= ``max_aspect``, fills >= ``min_fill`` of its box, a peak
       contrast >= ``min_peak * sig`` and an internal range (max - min of
       temp) >= ``min_range * sig`` (objects have structure, while flat
       patches of ground that differ from the background have not).
    4. Later passes (and windows) only add components that do not touch
       those already kept, so one object is not split or merged twice.

    Defaults suit 640 x 512 UAV frames at 60-130 m (people 8-35 px, cars
    20-120 px). The method does not need the pixel size; with a known pixel
    size, sizes in metres can separate people from vehicles afterwards.
    """
    x, v = prepare(temp, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    xf = filled(x, v)
    lo, hi = np.percentile(x[v], [1, 99])
    max_area = max(max_area_frac * v.sum(), min_area)
    sizes = (background,) if np.isscalar(background) else tuple(background)
    for size in sizes:
        c = np.abs(xf - _coarse_median_background(xf, int(size), looks))
        sig, med = _mad_sigma(c[v])
        sig = max(sig, 0.002 * (hi - lo))
        if not np.isfinite(sig) or sig <= 0:
            return out
        for k, close, *rest in passes:
            low = med + rest[0] * sig if rest else None
            out |= _object_pass(c, xf, v, med + k * sig, int(close), sig, out, min_area=min_area,
                                max_area=max_area, max_aspect=max_aspect, min_fill=min_fill, min_peak=min_peak,
                                min_range=min_range, low=low)
    return out & v
