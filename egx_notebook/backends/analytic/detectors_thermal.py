"""Thermal detectors: hot targets and infrared small targets (local contrast), large hot regions.

Warm-or-cold compact objects (people, cars) are in ``detectors_thermal_objects``.

Inputs are temperatures in Kelvin or relative brightness (8-bit thermal
video: hot = bright). Everything is relative to the scene (robust
statistics), so the unit does not matter.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .detectors_common import filled, label_areas, label_extrema, prepare, robust_threshold

__all__ = ["thermal_hot_regions", "thermal_hot_targets"]


def _mad_sigma(vals):
    """(Robust standard deviation = 1.4826 * median absolute deviation, median);
    inputs of more than 1e6 values are subsampled regularly."""
    vals = np.ravel(vals)
    if vals.size > 1_000_000:
        vals = vals[:: -(-vals.size // 1_000_000)]
    med = np.median(vals)
    return float(1.4826 * np.median(np.abs(vals - med))), float(med)


def _white_tophat(x, size, mode="nearest"):
    """x minus its grey opening with a size x size square (separable, fast)."""
    return x - ndi.grey_opening(x, size=(size, size), mode=mode)


def _patch_contrast(x, cells=(2, 3, 5, 7)):
    """Multiscale patch contrast (MPCM-like): for each cell size, the mean of
    the centre cell minus the brightest of its 8 neighbouring cells; max over
    scales. High only for compact blobs brighter than every direction around
    them (edges and extended clutter have a bright neighbour). The 2 px cell
    keeps 2 x 2 px targets (a point source blurred by the optics), which a
    3 px cell dilutes with five background pixels (an even cell is centred
    half a pixel up-left; the top-hat and the extent step re-centre it)."""
    x = np.asarray(x, dtype=np.float32)  # half the memory traffic; contrasts need no more precision
    best = np.full(x.shape, -np.inf, dtype=np.float32)
    h, w = x.shape
    for c in cells:
        m = np.pad(ndi.uniform_filter(x, c, mode="nearest"), c, mode="edge")
        # brightest neighbour cell: the rows above and below (max of 3 cells each), then left and right
        rows = np.maximum(np.maximum(m[:, :w], m[:, c:c + w]), m[:, 2 * c:2 * c + w])
        nb = np.maximum(rows[:h], rows[2 * c:2 * c + h])
        np.maximum(nb, m[c:c + h, :w], out=nb)
        np.maximum(nb, m[c:c + h, 2 * c:2 * c + w], out=nb)
        np.maximum(best, m[c:c + h, c:c + w] - nb, out=best)
    return best


def _grow_to_half_peak(seeds, contrast, v, grow, frac=0.5):
    """Target extent: pixels within ``grow`` px of each seed component whose
    contrast is at least ``frac`` of the component's peak contrast."""
    near = ndi.binary_dilation(seeds, iterations=grow) & v if grow > 0 else seeds
    lab, n, _ = label_areas(near)
    peaks = label_extrema(np.where(seeds, contrast, -np.inf), lab, n)[0]
    return near & (contrast >= frac * peaks[lab]) & (lab > 0)


def _local_std(x, size):
    """Standard deviation of x in a size x size window."""
    m = ndi.uniform_filter(x, size)
    return np.sqrt(np.maximum(ndi.uniform_filter(x * x, size) - m * m, 0.0))


def _sized_components(mask, contrast, min_area, max_area):
    """(labels, count, peak contrast per label, whether each label's area is within [min_area, max_area])."""
    lab, n, areas = label_areas(mask)
    peaks = label_extrema(contrast, lab, n)[0] if n else np.zeros(1)
    ok = (areas >= min_area) & (areas <= max_area)
    ok[0] = False
    return lab, n, peaks, ok


def _keep_salient(mask, contrast, min_area, max_area, rel_peak):
    """Keep components with ``min_area <= area <= max_area`` whose peak
    contrast is at least ``rel_peak`` times the strongest component's peak."""
    lab, n, peaks, keep = _sized_components(mask, contrast, min_area, max_area)
    if n == 0:
        return mask
    if keep.any() and rel_peak > 0:
        keep &= peaks >= rel_peak * peaks[keep].max()
    return keep[lab]


# Small targets: ring around a candidate (px outside its component) for the local background / clutter,
# the signal-to-clutter ratio a second, similarly bright target needs, and how many candidates are scored.
_RING = (2, 6)
_SCR_MIN = 8.0
_MAX_CANDIDATES = 64


def _noise_sigma(x):
    """Pixel noise level: MAD sigma of horizontal pixel differences / sqrt(2) (floor 1e-3 of the range), the
    floor of the clutter level so that flat (quantised) backgrounds do not give infinite signal-to-clutter
    ratios."""
    s = _mad_sigma(np.diff(x, axis=1))[0] / np.sqrt(2.0)
    return max(s, 1e-3 * (float(np.ptp(x)) + 1e-9))


def _grey_step(x):
    """Digitisation step of the data: the smallest positive gap between sorted values (1 for 8- or 16-bit
    frames, ~0 for continuous data such as Kelvin); values are subsampled regularly to <= 50k."""
    vals = np.ravel(x)
    if vals.size > 50_000:
        vals = vals[:: -(-vals.size // 50_000)]
    gaps = np.diff(np.sort(vals[np.isfinite(vals)]))
    gaps = gaps[gaps > 0]
    return float(gaps.min()) if gaps.size else 0.0


def _signal_to_clutter(x, lab, ids, det, floor):
    """Per label in ``ids``: (amplitude = peak of x minus the median of a ring ``_RING`` px around the
    component, excluding other detections; signal-to-clutter ratio = amplitude / max(ring std, floor))."""
    r0, r1 = _RING
    objs = ndi.find_objects(lab)
    h, w = x.shape
    out = np.zeros((len(ids), 2))
    for j, i in enumerate(ids):
        sl = objs[i - 1]
        y0, x0 = max(sl[0].start - r1 - 1, 0), max(sl[1].start - r1 - 1, 0)
        y1, x1 = min(sl[0].stop + r1 + 1, h), min(sl[1].stop + r1 + 1, w)
        m = lab[y0:y1, x0:x1] == i
        ring = ndi.binary_dilation(m, iterations=r1) & ~ndi.binary_dilation(m, iterations=r0)
        ring &= ~det[y0:y1, x0:x1]
        win = x[y0:y1, x0:x1]
        rv = win[ring] if ring.sum() > 4 else win[~m]
        if rv.size == 0:
            continue
        amp = float(win[m].max() - np.median(rv))
        out[j] = amp, amp / max(float(rv.std()), floor)
    return out


def _select_targets(det, c, t, x, v, min_area, max_area, rel_peak, grey_floor=True, max_targets=None):
    """Small-target selection (bool mask of the kept components of ``det``).

    Each candidate (``min_area <= area <= max_area``) has a contrast ``pc = peak(c) / t`` and a local
    signal-to-clutter ratio ``scr`` (see :func:`_signal_to_clutter`); its score is ``sqrt(pc * scr)``, so a
    strong blob inside bright clutter (cloud, structure) loses to a fainter one on a smooth background.
    The best-scoring candidate is the primary target; another is kept when its score is at least
    ``rel_peak`` times the primary's, or when its contrast is at least ``rel_peak`` times the primary's and
    its scr is at least ``_SCR_MIN`` (a second target of the same kind, e.g. a formation); at most
    ``max_targets`` (best scores first; None = no limit) are kept. The clutter level (ring std) is floored
    by the pixel noise and, with ``grey_floor``, by one grey level of the data: on a flat, quantised
    background the ring std is 0, and a blip of 1-2 grey levels (compression residue) is not a target."""
    lab, n, peaks, ok = _sized_components(det, c, min_area, max_area)
    if n == 0:
        return det
    ids = np.flatnonzero(ok)
    if ids.size == 0:
        return np.zeros(det.shape, bool)
    if rel_peak <= 0:
        return ok[lab]
    ids = ids[np.argsort(-peaks[ids])][:_MAX_CANDIDATES]
    pc = peaks[ids] / t
    floor = max(_noise_sigma(x), _grey_step(x[v])) if grey_floor else _noise_sigma(x)
    amp, scr = _signal_to_clutter(x, lab, ids, det & v, floor).T
    score = np.sqrt(np.maximum(pc, 0) * np.maximum(scr, 0))
    p = int(np.argmax(score))
    keep_ids = (score >= rel_peak * score[p]) | ((pc >= rel_peak * pc[p]) & (scr >= _SCR_MIN))
    if max_targets:
        keep_ids[np.argsort(-score)[max_targets:]] = False
    keep = np.zeros(n + 1, bool)
    keep[ids[keep_ids & (amp > 0)]] = True
    keep[ids[p]] = True
    return keep[lab]


def thermal_hot_targets(temp, valid=None, *, small: bool = False, min_area: int | None = None,
                        max_area_frac: float | None = None, size: int | None = None,
                        k: float | None = None, rel_peak: float | None = None,
                        snr: bool = False, pcm: bool = True, grow: int = 2, grow_frac: float = 0.3,
                        mode: str = "nearest", cells: tuple[int, ...] = (2, 3, 5, 7),
                        grey_floor: bool = True, max_targets: int | None = 3) -> np.ndarray:
    """Hot objects (bool mask): local thermal contrast + robust threshold.

    1. Invalid pixels are filled with the scene median; contrast
       ``c = temp - opening(temp, size x size)`` (white top-hat) keeps
       structures narrower than ``size`` that are warmer than their
       surroundings.
    2. Threshold ``median(c) + k * 1.4826 * MAD(c)`` (robust noise level of
       the contrast image), never below 1% of the scene's 1-99% range.
    3. Components (8-connected) with ``min_area <= area <= max_area_frac *
       valid pixels`` and a peak contrast of at least ``rel_peak`` times the
       strongest one are kept.

    Defaults: ``small=False`` (people, cars from a UAV: tens to thousands of
    px): size 41, k 6, min_area 20, max_area_frac 0.02, rel_peak 0.
    ``small=True`` (infrared small targets, a few to ~100 px, SIRST):
    size 11, k 5, min_area 1, max_area_frac 0.005, rel_peak 0.8:

    1. the contrast is the minimum of the top-hat and a multiscale patch
       contrast (``cells`` 2/3/5/7 px; the 2 px cell keeps 2 x 2 px
       targets), which suppresses edges and extended clutter; thresholded as
       in step 2;
    2. each candidate gets a local signal-to-clutter ratio (amplitude over
       the median of a ring 2-6 px around it, divided by the ring's std,
       floored by the pixel noise and by one grey level of the data, so
       1-2 grey-level blips on flat compressed sky do not score) and a score
       ``sqrt(contrast / t * scr)``: bright blobs inside cloud or structure
       lose to point targets on a smooth background;
    3. the best-scoring candidate is kept, and any other whose score is at
       least ``rel_peak`` times its score, or whose contrast is at least
       ``rel_peak`` times its contrast with scr >= 8, up to ``max_targets``
       (3) by score (SIRST frames hold 1-3 targets, usually alike; a crowd
       of near-threshold noise peaks must not all be kept);
    4. each kept target's extent is the pixels within ``grow`` px whose
       top-hat contrast is at least ``grow_frac`` of its peak (0.3: a point
       target blurred by the optics keeps its faint rim).

    ``snr=True`` (contrast / local std as the map) and ``rel_peak=0`` (all
    candidates) keep the plain component rule of step 3 above.
    ``cells=(3, 5, 7), grey_floor=False, max_targets=None`` is the previous
    version, kept for comparisons (``scripts/sirst_injection.py``).
    """
    x, v = prepare(temp, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    if small:
        size, k, min_area = size or 11, k or 5.0, 1 if min_area is None else min_area
        max_area_frac = 0.005 if max_area_frac is None else max_area_frac
        rel_peak = 0.8 if rel_peak is None else rel_peak
    else:
        size, k, min_area = size or 41, k or 6.0, 20 if min_area is None else min_area
        max_area_frac = 0.02 if max_area_frac is None else max_area_frac
        rel_peak = 0.0 if rel_peak is None else rel_peak
    xf = filled(x, v)
    c = th = np.where(v, _white_tophat(xf, size, mode), 0.0)
    if small and pcm:
        c = np.where(v, np.minimum(_patch_contrast(xf, cells), c), 0.0)
    if small and snr:  # local signal-to-clutter ratio: contrast / local std
        c = np.where(v, c / (_local_std(xf, 3 * size) + 1e-6 * (np.ptp(xf) + 1.0)), 0.0)
    cv = c[v]
    sig, med = _mad_sigma(cv)
    lo, hi = np.percentile(x[v], [1, 99]) if not small else np.percentile(cv, [1, 99])
    t = max(med + k * sig, 0.01 * (hi - lo))
    if not np.isfinite(t) or t <= 0:
        return out
    det = v & (c > t)
    max_area = max(max_area_frac * v.sum(), min_area)
    if small and not snr:
        det = _select_targets(det, c, t, xf, v, min_area, max_area, rel_peak, grey_floor, max_targets)
    else:
        det = _keep_salient(det, c, min_area, max_area, rel_peak)
    if small and det.any():
        det = _grow_to_half_peak(det, th, v, grow, grow_frac)
    return det


def thermal_hot_regions(temp, valid=None, *, smooth: float = 2.0, min_area_frac: float = 0.001) -> np.ndarray:
    """Large-scale hot areas (bool mask), e.g. urban heat islands.

    The valid pixels are lightly smoothed (Gaussian ``smooth`` px, NaN-aware)
    and thresholded at the higher of Otsu and the 75th percentile, so that at
    most the hottest quarter of the scene is returned; components smaller
    than ``min_area_frac`` of the valid pixels are dropped. Constant scenes
    give an empty mask.
    """
    x, v = prepare(temp, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    w = ndi.gaussian_filter(v.astype(float), smooth)
    with np.errstate(divide="ignore", invalid="ignore"):
        sm = ndi.gaussian_filter(np.where(v, x, 0.0), smooth) / w
    vals = sm[v]
    if vals.max() - vals.min() <= 1e-9 * max(1.0, abs(vals.max())):
        return out
    t = max(robust_threshold(vals, "otsu"), float(np.percentile(vals, 75)))
    hot = v & (sm > t)
    lab, _, areas = label_areas(hot)
    keep = areas >= max(1, min_area_frac * v.sum())
    keep[0] = False
    return keep[lab]
