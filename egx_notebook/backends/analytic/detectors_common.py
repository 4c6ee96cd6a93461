"""Shared helpers of the analytic detectors: input preparation, masked local
statistics, automatic thresholds and connected components.

Everything here is pure numpy / scipy.ndimage / scikit-image and works on
2-D float arrays with an optional boolean ``valid`` mask (True = valid).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["robust_threshold", "components"]

_MAX_THRESHOLD_SAMPLES = 1_000_000


def prepare(x, valid=None):
    """Return ``(float64 copy of x, bool valid mask)``; NaN/inf become invalid.

    The input arrays are never modified. ``valid`` must have the shape of x.
    """
    a = np.array(x, dtype=np.float64, copy=True)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {a.shape}")
    v = np.isfinite(a)
    if valid is not None:
        vm = np.asarray(valid, dtype=bool)
        if vm.shape != a.shape:
            raise ValueError(f"valid mask shape {vm.shape} != array shape {a.shape}")
        v &= vm
    return a, v


def filled(a, v, value=None):
    """Copy of ``a`` with invalid pixels replaced by ``value`` (default: median of valid)."""
    out = a.copy()
    if value is None:
        value = float(np.median(a[v])) if v.any() else 0.0
    out[~v] = value
    return out


def box_sum(a, size):
    """Sum of ``a`` over a ``size`` x ``size`` window centred on each pixel (zero padded)."""
    if size <= 1:
        return a.astype(np.float64, copy=True)
    return ndi.uniform_filter(a.astype(np.float32), size=size, mode="constant") * float(size * size)


def masked_box_stats(a, w, size):
    """Weighted local (count, sum, sum of squares) over a square window.

    ``w`` is a 0/1 weight (e.g. valid & not censored); ``a`` must be finite
    where w is 1 (values elsewhere are ignored).
    """
    wf = w.astype(np.float64)
    aw = np.where(w, a, 0.0)
    return box_sum(wf, size), box_sum(aw, size), box_sum(aw * aw, size)


def _subsample(values):
    vals = np.asarray(values, dtype=np.float64).ravel()
    vals = vals[np.isfinite(vals)]
    if vals.size > _MAX_THRESHOLD_SAMPLES:
        vals = vals[:: int(np.ceil(vals.size / _MAX_THRESHOLD_SAMPLES))]
    return vals


def _kittler_illingworth(vals, nbins=256):
    """Minimum-error threshold (Kittler & Illingworth 1986) on a histogram."""
    hist, edges = np.histogram(vals, bins=nbins)
    centers = 0.5 * (edges[:-1] + edges[1:])
    p = hist / hist.sum()
    w1 = np.cumsum(p)
    m1 = np.cumsum(p * centers)
    s1 = np.cumsum(p * centers ** 2)
    w2 = 1.0 - w1
    m2 = m1[-1] - m1
    s2 = s1[-1] - s1
    with np.errstate(divide="ignore", invalid="ignore"):
        mu1, mu2 = m1 / w1, m2 / w2
        var1 = s1 / w1 - mu1 ** 2
        var2 = s2 / w2 - mu2 ** 2
        j = (1 + 2 * (w1 * np.log(np.sqrt(var1)) + w2 * np.log(np.sqrt(var2)))
             - 2 * (w1 * np.log(w1) + w2 * np.log(w2)))
    ok = np.isfinite(j) & (var1 > 0) & (var2 > 0)
    if not ok.any():
        return float(np.median(vals))
    idx = np.flatnonzero(ok)[np.argmin(j[ok])]
    return float(edges[idx + 1])


def robust_threshold(values, method: str = "otsu") -> float:
    """Automatic global threshold of the finite entries of ``values``.

    ``method``: ``"otsu"`` (max between-class variance), ``"kittler"`` /
    ``"kittler-illingworth"`` (minimum error, Gaussian mixture, good for
    unequal class sizes) or ``"triangle"`` (for one dominant mode plus a tail).
    Returns NaN when there are no finite values and the value itself for a
    constant input. Large inputs are subsampled to 1e6 values.
    """
    vals = _subsample(values)
    if vals.size == 0:
        return float("nan")
    lo, hi = float(vals.min()), float(vals.max())
    if hi <= lo:
        return lo
    m = method.lower().replace("_", "-")
    if m == "otsu":
        from skimage.filters import threshold_otsu
        return float(threshold_otsu(vals))
    if m in ("kittler", "kittler-illingworth", "ki", "minimum-error"):
        return _kittler_illingworth(vals)
    if m == "triangle":
        from skimage.filters import threshold_triangle
        return float(threshold_triangle(vals))
    raise ValueError(f"unknown threshold method {method!r}")


def otsu_effectiveness(vals, t):
    """Between-class / total variance for a split at ``t`` (0..1; ~0.64 for a
    single Gaussian split at its mean, close to 1 for well separated modes)."""
    vals = _subsample(vals)
    if vals.size < 2 or vals.var() == 0:
        return 0.0
    lo, hi = vals[vals <= t], vals[vals > t]
    if lo.size == 0 or hi.size == 0:
        return 0.0
    w1 = lo.size / vals.size
    return float(w1 * (1 - w1) * (lo.mean() - hi.mean()) ** 2 / vals.var())


def components(mask, *, min_area: int = 1, connectivity: int = 2) -> list[dict]:
    """Connected components of a boolean mask, largest first.

    Each component is a dict with ``label`` (int, 1-based label in the
    labelling), ``box`` = ``(x0, y0, x1, y1)`` half-open pixel box in
    (col, row) order with origin top-left, ``area`` (pixels), ``mask`` (bool
    array cropped to the box) and ``centroid`` = ``(x, y)`` in pixels.
    ``connectivity`` 1 = 4-neighbours, 2 = 8-neighbours. Components with
    fewer than ``min_area`` pixels are dropped.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2 or not m.any():
        return []
    structure = ndi.generate_binary_structure(2, 1 if connectivity == 1 else 2)
    out = label_components(ndi.label(m, structure=structure)[0], min_area=min_area)
    out.sort(key=lambda c: (-c["area"], c["label"]))
    return out


def label_components(lab, *, min_area: int = 1) -> list[dict]:
    """The objects of a label image (0 = none, 1..n) as component dicts like :func:`components`', in label
    order; labels with fewer than ``min_area`` pixels (or none) are left out."""
    lab = np.asarray(lab)
    n = int(lab.max()) if lab.size else 0
    if n <= 0:
        return []
    flat = lab.ravel()
    areas = np.bincount(flat, minlength=n + 1)
    rows, cols = np.indices(lab.shape)
    sy = np.bincount(flat, weights=rows.ravel(), minlength=n + 1)
    sx = np.bincount(flat, weights=cols.ravel(), minlength=n + 1)
    out = []
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None or areas[i] == 0 or areas[i] < min_area:
            continue
        out.append({
            "label": i,
            "box": (int(sl[1].start), int(sl[0].start), int(sl[1].stop), int(sl[0].stop)),
            "area": int(areas[i]),
            "mask": lab[sl] == i,
            "centroid": (float(sx[i] / areas[i]), float(sy[i] / areas[i])),
        })
    return out


def remove_small(mask, min_area, connectivity=2):
    """Drop connected components smaller than ``min_area`` pixels."""
    if min_area <= 1 or not mask.any():
        return mask.copy()
    structure = ndi.generate_binary_structure(2, connectivity)
    lab, n = ndi.label(mask, structure=structure)
    areas = np.bincount(lab.ravel(), minlength=n + 1)
    keep = areas >= min_area
    keep[0] = False
    return keep[lab]


def label_extrema(values, lab, n):
    """(max, min) of ``values`` per label 1..n of a labelling (unbuffered
    ufunc.at: much faster than scipy.ndimage.maximum on many labels); entry 0
    (background) is -inf / inf."""
    flat = lab.ravel()
    sel = np.flatnonzero(flat)
    flat, vals = flat[sel], np.asarray(values, dtype=np.float64).ravel()[sel]
    hi = np.full(n + 1, -np.inf)
    lo = np.full(n + 1, np.inf)
    np.maximum.at(hi, flat, vals)
    np.minimum.at(lo, flat, vals)
    return hi, lo


def label_areas(mask, connectivity=2):
    """(labels, n, areas) of a boolean mask; ``areas[0]`` is the background."""
    lab, n = ndi.label(mask, structure=ndi.generate_binary_structure(2, connectivity))
    return lab, n, np.bincount(lab.ravel(), minlength=n + 1)


def block_sum(a, d, dtype=np.float64):
    """Sums of ``a`` over non-overlapping d x d blocks (zero padded at the end), accumulated in ``dtype``."""
    a = np.asarray(a, dtype=np.float32)
    if d <= 1:
        return a.astype(dtype)
    H, W = a.shape
    h, w = -(-H // d), -(-W // d)
    if (H, W) != (h * d, w * d):
        p = np.zeros((h * d, w * d), np.float32)
        p[:H, :W] = a
        a = p
    return a.reshape(h, d, w, d).sum(axis=(1, 3), dtype=dtype)


def upsample_blocks(c, d, shape):
    """Nearest-neighbour expansion of a block grid back to ``shape``."""
    if d <= 1:
        return c[:shape[0], :shape[1]]
    iy = np.arange(shape[0]) // d
    ix = np.arange(shape[1]) // d
    return c[iy[:, None], ix[None, :]]
