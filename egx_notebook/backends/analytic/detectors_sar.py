"""SAR detectors on backscatter in dB: bright targets (CFAR) and open water."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.special import ndtri

from .detectors_common import (label_areas, masked_box_stats, otsu_effectiveness,
                               prepare, remove_small, robust_threshold)

__all__ = ["sar_bright_targets", "sar_water"]


def _ring_stats(x, w, guard, background):
    """Mean / std / count of ``x`` over weight ``w`` in the ring between a
    (2*guard+1) inner window and a (2*background+1) outer window."""
    n_o, s_o, q_o = masked_box_stats(x, w, 2 * background + 1)
    n_i, s_i, q_i = masked_box_stats(x, w, 2 * guard + 1)
    n, s, q = n_o - n_i, s_o - s_i, q_o - q_i
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = s / n
        sd = np.sqrt(np.maximum(q / n - mu * mu, 0.0))
    return mu, sd, n


def _cfar_pass(x, w, v, k, guard, background, min_frac=0.25):
    """One log-domain CA-CFAR pass: detect where x > mu + k * sd of the ring.

    Where fewer than ``min_frac`` of the ring pixels are usable (censored
    by earlier detections or invalid), statistics of a 3x wider ring are used,
    and failing that the global statistics of the usable pixels."""
    mu, sd, n = _ring_stats(x, w, guard, background)
    ring_size = (2 * background + 1) ** 2 - (2 * guard + 1) ** 2
    g = x[w]
    gmu, gsd = (float(g.mean()), float(g.std())) if g.size else (0.0, 0.0)
    weak = n < min_frac * ring_size
    if weak.any():
        mu2, sd2, n2 = _ring_stats(x, w, guard, 3 * background)
        mu = np.where(weak, mu2, mu)
        sd = np.where(weak, sd2, sd)
        weak &= n2 < min_frac * ring_size
        mu = np.where(weak, gmu, mu)
        sd = np.where(weak, gsd, sd)
    # a floor on the spread avoids detecting tiny ripples on flat (constant) data
    sd = np.maximum(sd, 1e-3 + 0.05 * gsd)
    return v & (x > mu + k * sd), mu + k * sd


def _reject_clutter(det, n_valid, shape, max_area_frac, max_extent_frac, min_area):
    """Drop components that are too small, or too large / too extended to be
    a target (land, urban or strong sea clutter): area above ``max_area_frac``
    of the valid pixels, a box spanning more than ``max_extent_frac`` of the
    image height or width, or, for components touching the image border
    (structures continuing outside the scene, e.g. coast), more than half
    of that. Boxes up to 64 px long are never rejected for extent."""
    lab, n, areas = label_areas(det)
    if n == 0:
        return det
    keep = (areas >= min_area) & (areas <= max_area_frac * max(n_valid, 1))
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        if keep[i] and sl is not None:
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            border = (sl[0].start == 0 or sl[1].start == 0
                      or sl[0].stop == shape[0] or sl[1].stop == shape[1])
            limit = max_extent_frac * (0.5 if border else 1.0)
            if max(h / shape[0], w / shape[1]) > limit and max(h, w) > 64:
                keep[i] = False
    keep[0] = False
    return keep[lab]


def _sea_context(det, land, v, r_in, r_out, max_land_frac):
    """Keep components whose surroundings (a ring from ``r_in`` to ``r_out``
    px around the component) are mostly sea: at most ``max_land_frac`` of the
    valid ring pixels are above the sea level. Ships lie on sea clutter, land
    and urban clutter is surrounded by more land."""
    lab, n, _ = label_areas(det)
    if n == 0:
        return det
    grown = ndi.grey_dilation(lab, size=(2 * r_out + 1, 2 * r_out + 1))
    near = ndi.binary_dilation(det, iterations=r_in) if r_in > 0 else det
    ring = (grown > 0) & ~near & v
    n_ring = np.bincount(grown[ring], minlength=n + 1)
    n_land = np.bincount(grown[ring & land], minlength=n + 1)
    keep = n_land <= max_land_frac * n_ring
    keep[0] = False
    return keep[lab]


def sar_bright_targets(db, valid=None, *, pfa: float = 1e-4, guard: int = 12,
                       background: int = 40, min_area: int = 12,
                       max_area_frac: float = 0.25, max_extent_frac: float = 0.75,
                       max_land_frac: float = 0.1, context: tuple[int, int] = (8, 24),
                       test: int = 3, close: int = 3) -> np.ndarray:
    """Ship / bright-target mask from SAR backscatter in dB (bool, H x W).

    Method (log-domain cell-averaging CFAR with censoring):

    1. For every pixel, mean and std of dB in the ring between a
       (2*guard+1)^2 guard window and a (2*background+1)^2 window; detect
       where ``dB > mean + k*std`` with ``k = Phi^-1(1 - pfa)`` (Gaussian model
       of log-speckle). Being relative to the local background, this works for
       calibrated dB (sea ~ -20 dB) and for relative dB of 8-bit amplitude
       chips (20*log10(DN)).
    2. A second pass recomputes the ring statistics excluding the first-pass
       detections (dilated), so that large ships and ship clusters do not
       raise their own background; where the ring is mostly censored a 3x
       wider ring, then global statistics, are used.
    3. Closing (3x3) merges speckle-fragmented targets, holes are filled.
    4. Clutter rejection, per connected component (8-connected): keep it if
       ``area >= min_area``, ``area <= max_area_frac`` of the valid pixels,
       its box spans at most ``max_extent_frac`` of the image height and
       width (ignored for boxes <= 64 px), and at least ``min_sea_frac`` of
       a ``context_radius`` px ring around it is darker than the sea/land
       Otsu level of the smoothed scene (targets sit on sea clutter, land
       clutter is surrounded by land).
    """
    x, v = prepare(db, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    k = float(ndtri(1.0 - pfa))
    sm = _smooth_db(x, v, 5)
    sea_level = _sea_level(sm, v)
    raw = x
    if test > 1:  # test-cell averaging (multilook) in dB: reduces speckle variance
        n_t, s_t, _ = masked_box_stats(x, v, test)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(n_t > 0, s_t / n_t, x)
    sea = v & (sm <= sea_level)
    det, _ = _cfar_pass(x, sea, v, k, guard, background)
    censor = ndi.binary_dilation(det, iterations=2) if det.any() else det
    det, thr = _cfar_pass(x, sea & ~censor, v, k, guard, background)
    # undo the spread of the test window: keep pixels that are bright themselves
    det &= raw > thr
    if not det.any():
        return out
    det = ndi.binary_closing(det, structure=np.ones((close, close)), border_value=0) & v
    det = ndi.binary_fill_holes(det) & v
    det = _reject_clutter(det, int(v.sum()), x.shape, max_area_frac, max_extent_frac, min_area)
    if max_land_frac < 1 and det.any():
        det = _sea_context(det, sm > sea_level, v, context[0], context[1], max_land_frac)
    return det


def _sea_level(sm, v, min_effectiveness=0.7):
    """Upper dB level of sea clutter: Otsu split of the speckle-reduced scene
    when it is bimodal (sea + land/targets), else +inf (all sea)."""
    vals = sm[v & np.isfinite(sm)]
    if vals.size < 4:
        return np.inf
    t = robust_threshold(vals, "otsu")
    return t if otsu_effectiveness(vals, t) >= min_effectiveness else np.inf


def _smooth_db(x, v, size):
    """Boxcar multilook in linear power, back to dB (speckle reduction)."""
    p = np.where(v, 10.0 ** (np.clip(x, -100, 100) / 10.0), 0.0)
    n, s, _ = masked_box_stats(p, v, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s / n
    return np.where(n > 0, 10.0 * np.log10(np.maximum(m, 1e-12)), np.nan)


def _looks_calibrated(vals):
    """True when values look like absolute sigma0 dB (not 20*log10(DN))."""
    med = float(np.median(vals))
    return -35.0 <= med <= 5.0 and float(np.percentile(vals, 5)) < -8.0


def sar_water(db, valid=None, *, smooth: int = 5, method: str = "otsu",
              bounds: tuple[float, float] = (-26.0, -12.0), min_area: int = 16,
              min_effectiveness: float = 0.70) -> np.ndarray:
    """Open water / flood mask from SAR backscatter in dB (bool, H x W).

    Specular water is dark. Steps: speckle reduction by a ``smooth`` x
    ``smooth`` boxcar in linear power; automatic threshold on the valid
    histogram (``method``: Kittler-Illingworth minimum error by default,
    Otsu, triangle); when the values look like calibrated dB (median in
    [-35, 5] dB with a dark tail) the threshold is clipped to ``bounds``
    (VV; use about (-30, -18) for VH); otherwise (relative dB) no physical
    clipping. No dark mode: if the split is not bimodal (Otsu effectiveness
    ``sigma_between^2 / sigma_total^2 < min_effectiveness``; a single
    Gaussian split in two gives ~0.64) and, for calibrated data, the dark
    class mean is above the upper bound, the result is empty. Clean-up:
    3x3 opening, components and holes smaller than ``min_area`` removed.
    """
    x, v = prepare(db, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    sm = _smooth_db(x, v, smooth)
    vals = sm[v]
    if float(vals.max() - vals.min()) <= 1e-9:
        return out
    t = robust_threshold(vals, method)
    calibrated = _looks_calibrated(x[v])
    if calibrated:
        t = float(np.clip(t, *bounds))
    dark = vals[vals <= t]
    eff = otsu_effectiveness(vals, t)
    if dark.size == 0 or eff < min_effectiveness and not (calibrated and dark.mean() < bounds[1] - 3):
        return out
    water = v & (sm <= t)
    water = ndi.binary_opening(water, structure=np.ones((3, 3)))
    water = remove_small(water, min_area)
    water = ~remove_small(~water, min_area) & v
    return water
