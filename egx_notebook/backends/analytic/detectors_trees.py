"""Individual tree crowns in high-resolution optical imagery (classical, no model weights).

Crowns seen from above are rounded green blobs separated by gaps, soil and shadow. The detector masks the
canopy with a greenness index, seeds one marker per local maximum of the smoothed greenness and grows the
markers with a marker-controlled watershed inside the canopy: the classical local-maximum + watershed crown
delineation of airborne imagery (e.g. Wulder et al. 2000; Pouliot et al. 2002). Its scales come from the
crowns' size, estimated per image by scale-space blob selection (Lindeberg 1998) within a prior: crowns
``CROWN_M`` metres across when the pixel size is known, a fraction of the image size otherwise.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from .detectors_common import block_sum, label_components, robust_threshold

__all__ = ["CROWN_M", "MIN_RESOLVED_PX", "crown_components", "crown_diameter_px", "crown_scale", "greenness",
           "tree_crowns"]

#: Plausible crown diameters (m) of single trees seen from above (young trees to large broadleaves).
CROWN_M = (2.0, 15.0)
#: Without a pixel size: the smallest and largest crown diameter as fractions of the image's shorter side
#: (a 400 px NEON tile at 0.1 m shows crowns of 20-150 px).
CROWN_FRACTION = (0.05, 0.4)
#: Crowns narrower than this (px) at the largest plausible size cannot be told apart: no detection.
MIN_RESOLVED_PX = 4.0
#: The work is done on a block-averaged grid where the smallest crown radius is about this many pixels.
WORK_RADIUS_PX = 5.0
#: Bounds of the automatic canopy threshold (excess green on chromatic coordinates without NIR, NDVI with
#: it): the clip keeps an all-canopy or canopy-free image from being cut in two by Otsu's threshold.
EXG_BOUNDS = (0.02, 0.10)
NDVI_BOUNDS = (0.2, 0.5)
#: Scales relative to the crown radius r: canopy-mask smoothing, crown-surface smoothing, marker spacing.
MASK_SIGMA, SURFACE_SIGMA, MARKER_SPACING = 0.25, 0.3, 0.7
#: Segments smaller than this fraction of the typical crown's disc are fragments, not crowns.
MIN_CROWN_FRACTION = 0.2


def crown_diameter_px(shape, pixel_size_m=None, crown_m=None) -> tuple[float, float]:
    """(smallest, largest) plausible crown diameter in pixels for an image of ``shape`` (rows, cols): ``crown_m``
    (default :data:`CROWN_M`) over the pixel size (one number or (x, y)), else fractions of the shorter side."""
    if pixel_size_m is not None:
        size = float(np.mean(np.atleast_1d(pixel_size_m)))
        lo, hi = crown_m or CROWN_M
        if size > 0 and math.isfinite(size):
            return lo / size, hi / size
    side = float(min(shape))
    return CROWN_FRACTION[0] * side, CROWN_FRACTION[1] * side


def _prepare(bands, valid):
    """float32 copies of red, green, blue (and nir) with NaN outside the joint valid mask, and that mask."""
    b = {k.lower(): v for k, v in bands.items() if v is not None}
    names = [k for k in ("red", "green", "blue", "nir") if k in b]
    out = {k: np.array(b[k], dtype=np.float32) for k in names}
    if not out:
        return {}, None
    ok = np.ones(next(iter(out.values())).shape, dtype=bool)
    for a in out.values():
        if a.shape != ok.shape:
            raise ValueError(f"band shapes differ: {a.shape} vs {ok.shape}")
        ok &= np.isfinite(a)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    return out, ok


def _block_mean(a, ok, f):
    """Mean of the valid pixels of ``a`` over ``f`` x ``f`` blocks (edges padded), and the blocks' validity."""
    h, w = a.shape
    pad = ((0, -h % f), (0, -w % f))
    s = block_sum(np.pad(np.where(ok, a, 0.0).astype(np.float32), pad), f, np.float32)
    c = block_sum(np.pad(ok.astype(np.float32), pad), f, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s / c, c > 0


def greenness(bands, ok=None):
    """(greenness index, bounds of its canopy threshold): NDVI with 'nir' and 'red', else excess green on
    chromatic coordinates ``(2g - r - b) / (r + g + b)`` (Woebbecke et al. 1995); (None, None) without them.
    Both are ratios, so the data's scale (DN, reflectance) does not matter."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if "nir" in bands and "red" in bands:
            g = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
            bounds = NDVI_BOUNDS
        elif all(k in bands for k in ("red", "green", "blue")):
            g = (2 * bands["green"] - bands["red"] - bands["blue"]) / (bands["red"] + bands["green"] + bands["blue"])
            bounds = EXG_BOUNDS
        else:
            return None, None
    g = g.astype(np.float32)
    bad = ~np.isfinite(g) if ok is None else ~(ok & np.isfinite(g))
    g[bad] = np.nan
    return g, bounds


def _smooth(a, ok, sigma):
    """Normalised Gaussian smoothing: invalid pixels neither contribute nor pull the mean towards zero."""
    num = ndi.gaussian_filter(np.where(ok, a, 0.0).astype(np.float32), sigma)
    den = ndi.gaussian_filter(ok.astype(np.float32), sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[den < 1e-3] = np.nan
    return out


def crown_scale(green, ok, lo_px: float, hi_px: float, steps: int = 10) -> float:
    """Characteristic crown diameter (px) of a greenness image, searched between ``lo_px`` and ``hi_px``.

    A disc of radius r gives its strongest scale-normalised Laplacian-of-Gaussian response at
    sigma = r / sqrt(2) (Lindeberg 1998): the sigma whose 95th-percentile response is largest gives the
    dominant crown size. Each scale is computed on a block-averaged copy where its sigma is 2-4 px."""
    if not ok.any():
        return float(lo_px)
    img = np.where(ok, green, float(np.median(green[ok]))).astype(np.float32)
    img = (img - img.mean()) / (img.std() or 1.0)
    every = np.ones(img.shape, dtype=bool)
    pyramid = {1: img}
    diameters = np.geomspace(lo_px, max(hi_px, lo_px), steps)
    energy = []
    for d in diameters:
        sigma = d / (2 * math.sqrt(2))
        k = max(1, int(sigma / 2))
        if k not in pyramid:
            pyramid[k] = _block_mean(img, every, k)[0]
        level = pyramid[k]
        if sigma / k > min(level.shape) / 3:
            break  # larger than the image can show
        energy.append(np.percentile(-(sigma / k) ** 2 * ndi.gaussian_laplace(level, sigma / k), 95))
    return float(diameters[int(np.argmax(energy))]) if energy else float(lo_px)


def tree_crowns(bands, valid=None, *, pixel_size_m=None, crown_m: tuple[float, float] | None = None,
                crown_px: tuple[float, float] | None = None, return_scores: bool = False):
    """Individual tree crowns as a label image (0 = none, 1..n = crowns), optionally with a score per crown.

    ``bands`` maps band names ('red', 'green', 'blue', optionally 'nir'; any scale) to 2-D arrays of one
    shape; ``valid`` is an optional boolean mask (NaN is always invalid). ``pixel_size_m`` (ground size of a
    pixel, one number or (x, y)) sets the size prior from ``crown_m`` (default :data:`CROWN_M`, metres across);
    without it the prior is :data:`CROWN_FRACTION` of the image's shorter side; ``crown_px`` (smallest, largest
    diameter in pixels) overrides both, e.g. to keep a larger image's prior on a crop. Returns the int32 labels, or
    ``(labels, scores)`` with ``scores[i - 1]`` in 0..1 for crown ``i`` when ``return_scores``. Crowns never
    cover invalid pixels. Method:

    1. greenness: NDVI with a NIR band, else excess green ``(2g - r - b) / (r + g + b)``;
    2. working grid: block averages so that the smallest plausible crown is about 10 px across;
    3. crown size: the scale of the strongest normalised Laplacian-of-Gaussian response of the greenness
       within the prior (:func:`crown_scale`), giving the typical crown radius r;
    4. canopy: greenness smoothed at ``MASK_SIGMA`` r above its Otsu threshold, clipped to a plausible range;
    5. markers: local maxima of the greenness smoothed at ``SURFACE_SIGMA`` r inside the canopy, at least
       ``MARKER_SPACING`` r apart;
    6. marker-controlled watershed of the inverted smoothed greenness inside the canopy;
    7. segments under ``MIN_CROWN_FRACTION`` of the typical crown's disc, or over the largest plausible
       crown's, are dropped; the score grows with the segment's size relative to the typical crown and with
       its peak greenness above the canopy threshold.
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    b, ok0 = _prepare(bands, valid)
    if not b:
        raise ValueError("tree_crowns needs 'red', 'green', 'blue' (or 'red' and 'nir') bands")
    shape = ok0.shape
    empty = (np.zeros(shape, dtype=np.int32), np.zeros(0)) if return_scores else np.zeros(shape, dtype=np.int32)
    lo_px, hi_px = crown_px if crown_px is not None else crown_diameter_px(shape, pixel_size_m, crown_m)
    if hi_px < MIN_RESOLVED_PX or not ok0.any():
        return empty
    f = max(1, int(lo_px / (2 * WORK_RADIUS_PX)))
    ok = ok0
    if f > 1:
        blocks = {k: _block_mean(a, ok0, f) for k, a in b.items()}
        b = {k: v[0] for k, v in blocks.items()}
        ok = next(iter(blocks.values()))[1]
        lo_px, hi_px = lo_px / f, hi_px / f
    green, bounds = greenness(b, ok)
    if green is None:
        raise ValueError("tree_crowns needs 'red', 'green', 'blue' (or 'red' and 'nir') bands")
    ok = ok & np.isfinite(green)
    if not ok.any():
        return empty
    r = crown_scale(green, ok, max(lo_px, 2.0), hi_px) / 2.0
    fine = _smooth(green, ok, max(0.5, MASK_SIGMA * r))
    inside = ok & np.isfinite(fine)
    t = float(np.clip(robust_threshold(fine[inside], "otsu"), *bounds))
    canopy = inside & (fine > t)
    if not canopy.any():
        return empty
    surf = _smooth(green, ok, max(1.0, SURFACE_SIGMA * r))
    surf = np.where(canopy & np.isfinite(surf), surf, np.nanmin(surf[canopy])).astype(np.float32)
    peaks = peak_local_max(surf, min_distance=max(1, round(MARKER_SPACING * r)),
                           labels=canopy.astype(np.int32), exclude_border=False)
    if len(peaks) == 0:
        return empty
    markers = np.zeros(surf.shape, dtype=np.int32)
    markers[peaks[:, 0], peaks[:, 1]] = np.arange(1, len(peaks) + 1)
    labels = watershed(-surf, markers, mask=canopy)
    areas = np.bincount(labels.ravel(), minlength=len(peaks) + 1)
    keep = (areas >= max(MIN_CROWN_FRACTION * math.pi * r * r, 1)) & (areas <= 1.5 * math.pi / 4 * hi_px ** 2)
    keep[0] = False
    remap = np.zeros(len(areas), dtype=np.int32)
    remap[keep] = np.arange(1, int(keep.sum()) + 1)
    labels = remap[labels]
    if f > 1:  # back to the input grid
        labels = np.repeat(np.repeat(labels, f, axis=0), f, axis=1)[:shape[0], :shape[1]]
        labels[~ok0] = 0
    if not return_scores:
        return labels
    peak_green = surf[peaks[:, 0], peaks[:, 1]][keep[1:]]  # marker i + 1 sits at peaks[i]
    green_score = 1.0 - np.exp(-np.clip((peak_green - t) / max(abs(t), 0.05), 0.0, None))
    size_score = 1.0 - np.exp(-areas[keep] / (0.5 * math.pi * r * r))
    return labels, (size_score * (0.5 + 0.5 * green_score)).astype(float)


def crown_components(labels: np.ndarray) -> list[dict]:
    """The crowns of a label image as components, in label order: dicts like those of
    :func:`.detectors_common.components` (``label``, ``box`` = (x0, y0, x1, y1) half-open, ``area`` in pixels,
    ``mask`` cropped to the box, ``centroid`` = (x, y))."""
    return label_components(labels)
