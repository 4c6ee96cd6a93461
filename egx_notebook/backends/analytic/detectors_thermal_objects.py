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


_SQUARE = np.ones((3, 3), bool)


def _separating_edge(lab, keep):
    """Pixels of labelling ``lab`` whose 8-neighbourhood holds another label, not in ``keep``: removing them
    leaves each label its own 8-connected component."""
    big = int(lab.max()) + 1
    mx = ndi.maximum_filter(lab, size=3)
    mn = ndi.minimum_filter(np.where(lab > 0, lab, big), size=3)
    return (lab > 0) & ((mx != lab) | ((mn != lab) & (mn != big))) & ~keep


def _drop_extended(out, c, d, v, thr, max_ratio, exempt=None):
    """Drop objects that are the tip of an extended structure: an object is dropped when a region of
    connected ``c > thr`` pixels of one polarity (all warm or all cold, by the sign of ``d``) that it touches,
    less the pixels of all objects in it, covers more than ``max_ratio`` times the object's area (a warm
    roof edge, a sunlit road verge, the bright or dark side of a tree-shade edge). Regions are connected
    within one polarity, so busy ground of mixed warm and cold patches does not form one large region.
    With ``exempt``, an object whose peak ``c`` is >= ``exempt`` times the region's 90th percentile (less the
    objects) stands on the structure rather than ending it (a person walking on a warm road) and is kept."""
    lab, n, area = label_areas(out)
    if n == 0:
        return out
    bad = np.zeros(n + 1, bool)
    for side in (d > 0, d < 0):
        reg, nr = ndi.label((v & (c > thr) & side) | out, structure=_SQUARE)
        extra = np.bincount(reg[~out], minlength=nr + 1)
        extra[0] = 0
        region = np.zeros(n + 1, int)
        region[lab[out]] = reg[out]
        big = extra[region] > max_ratio * area
        big[0] = False
        if exempt is not None and big.any():
            peak = label_extrema(c, lab, n)[0]
            for r in np.unique(region[big]):
                q = np.percentile(c[(reg == r) & ~out], 90)
                big &= ~((region == r) & (peak >= exempt * q))
        bad |= big
    bad[0] = False
    return out & ~bad[lab]


def _structured(mask, c, sig, k):
    """Components of ``mask`` whose contrast ``c`` varies inside them: 90th - 10th percentile >= ``k * sig``
    (a body has a peak; the flat corner of a warm plateau that the background window cuts off has not)."""
    lab, n = ndi.label(mask, structure=_SQUARE)
    ok = np.zeros(n + 1, bool)
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        p10, p90 = np.percentile(c[sl][lab[sl] == i], [10, 90])
        ok[i] = p90 - p10 >= k * sig
    return ok[lab]


def _grow_halo(out, d, allowed, radius):
    """Grow each object by up to ``radius`` px into ``allowed`` pixels of its own polarity (the sign of ``d``
    over most of the object): its blurred rim, part of the object's box. A pixel joins an object only when
    no other object is in its 8-neighbourhood, so objects never touch (objects grow one after the other,
    within their box padded by ``radius`` + 1 px)."""
    lab, n = ndi.label(out, structure=_SQUARE)
    if n == 0 or radius <= 0:
        return out
    radius = int(radius)
    H, W = out.shape
    sd = np.sign(d)
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        y0, x0 = max(0, sl[0].start - radius - 1), max(0, sl[1].start - radius - 1)
        y1, x1 = min(H, sl[0].stop + radius + 1), min(W, sl[1].stop + radius + 1)
        crop = lab[y0:y1, x0:x1]  # a view: growth is written into ``lab``
        own = crop == i
        sign = np.sign(sd[y0:y1, x0:x1][own].sum())
        ok = allowed[y0:y1, x0:x1] & (sd[y0:y1, x0:x1] == sign)
        for _ in range(radius):
            others = ndi.binary_dilation((crop > 0) & ~own, structure=_SQUARE)
            new = ok & (crop == 0) & ~others & ndi.binary_dilation(own, structure=_SQUARE)
            if not new.any():
                break
            crop[new] = i
            own |= new
    return lab > 0


def _split_touching(out, c, sig, h, sigma, min_area, min_peak, max_pieces):
    """Split objects that hold several contrast peaks (people walking side by side): markers are the
    maxima of ``c`` smoothed by ``sigma`` px with a dynamic >= ``h * sig``, pieces are their watershed basins
    within the object. The split is kept only when 2..``max_pieces`` pieces each pass the area and peak
    priors; otherwise the object stays whole."""
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    lab, _, area = label_areas(out)
    res = out.copy()
    H, W = out.shape
    pad = int(3 * sigma) + 1
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None or area[i] < 2 * min_area:
            continue
        y0, x0 = max(0, sl[0].start - pad), max(0, sl[1].start - pad)
        y1, x1 = min(H, sl[0].stop + pad), min(W, sl[1].stop + pad)
        m = lab[y0:y1, x0:x1] == i
        cc = c[y0:y1, x0:x1]
        s = ndi.gaussian_filter(cc, sigma)
        marks, nm = ndi.label(h_maxima(np.where(m, s, 0.0), h * sig).astype(bool) & m, structure=_SQUARE)
        if not 2 <= nm <= max_pieces:
            continue
        basins = watershed(-s, marks, mask=m)
        cut = m & ~_separating_edge(basins, np.zeros_like(m))
        pieces = np.bincount(basins[cut], minlength=nm + 1)[1:]
        peaks = label_extrema(cc, np.where(cut, basins, 0), nm)[0][1:]
        if (pieces >= min_area).all() and (peaks >= min_peak * sig).all():
            res[y0:y1, x0:x1] &= ~(m & ~cut)
    return res


def _pair_two_tone(out, d, gap, max_aspect, min_area, max_area, min_fill, part_fill):
    """Join warm and cold objects with at most ``gap`` px of background between them into one object when
    their union looks like one compact body (a car by day or after parking: hot bonnet, cold glass). Each part
    has >= ``min_area`` px and fills >= ``part_fill`` of its own box (a ragged shade patch next to a person is
    no car part); the union's box has an aspect ratio <= ``max_aspect``, the parts fill >= ``min_fill`` of it
    and cover <= ``max_area`` px. Parts join pairwise, most compact union first, and a group keeps growing
    only while it passes the same tests. The gap is bridged by the pixels within ``gap`` px of two of the
    group's parts and not next to any other object."""
    lab, n, area = label_areas(out)
    if n < 2:
        return out
    pol = np.sign(ndi.sum_labels(np.sign(d), lab, np.arange(n + 1)))
    slices = ndi.find_objects(lab)
    box = np.array([[0, 0, 0, 0]] + [[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in slices])
    H, W = out.shape
    st = np.ones((2 * gap + 3, 2 * gap + 3), bool)  # reaches parts with ``gap`` px between
    compact = area >= part_fill * np.maximum((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]), 1)
    pairs = []
    for i, sl in enumerate(slices, start=1):
        if pol[i] <= 0 or area[i] < min_area or not compact[i]:  # from each warm part, look for cold neighbours
            continue
        y0, x0 = max(0, sl[0].start - gap - 1), max(0, sl[1].start - gap - 1)
        y1, x1 = min(H, sl[0].stop + gap + 1), min(W, sl[1].stop + gap + 1)
        near = ndi.binary_dilation(lab[y0:y1, x0:x1] == i, structure=st)
        for j in np.unique(lab[y0:y1, x0:x1][near]):
            if j > 0 and pol[j] < 0 and area[j] >= min_area and compact[j]:
                pairs.append((i, int(j)))
    if not pairs:
        return out
    group = np.arange(n + 1)
    gbox, garea = box.copy(), area.astype(float).copy()

    def root(k):
        while group[k] != k:
            k = group[k]
        return k

    def union_ok(a, b):
        y0, x0 = min(gbox[a, 0], gbox[b, 0]), min(gbox[a, 1], gbox[b, 1])
        y1, x1 = max(gbox[a, 2], gbox[b, 2]), max(gbox[a, 3], gbox[b, 3])
        h, w = y1 - y0, x1 - x0
        fill = (garea[a] + garea[b]) / (h * w)
        ok = max(h, w) <= max_aspect * min(h, w) and fill >= min_fill and garea[a] + garea[b] <= max_area
        return ok, fill, (y0, x0, y1, x1)

    order = sorted(pairs, key=lambda p: -union_ok(p[0], p[1])[1])
    res = out.copy()
    for i, j in order:
        a, b = root(i), root(j)
        if a == b:
            continue
        ok, _, ub = union_ok(a, b)
        if not ok:
            continue
        group[b] = a
        gbox[a], garea[a] = ub, garea[a] + garea[b]
    members = np.array([root(k) for k in range(n + 1)])
    for g in np.unique(members[1:]):
        parts = np.flatnonzero(members == g)
        if len(parts) < 2:
            continue
        y0, x0, y1, x1 = gbox[g]
        y0, x0, y1, x1 = max(0, y0 - 1), max(0, x0 - 1), min(H, y1 + 1), min(W, x1 + 1)
        crop = lab[y0:y1, x0:x1]
        mine = np.isin(crop, parts)
        others = ndi.binary_dilation((crop > 0) & ~mine, structure=_SQUARE)
        reach = np.ones((2 * gap + 1, 2 * gap + 1), bool)
        near = sum(ndi.binary_dilation(crop == k, structure=reach).astype(np.int8) for k in parts)
        bridge = (near >= 2) & ~mine & ~others
        inner = np.zeros_like(mine)  # within the union's box: the bridge does not widen it
        inner[gbox[g, 0] - y0:gbox[g, 2] - y0, gbox[g, 1] - x0:gbox[g, 3] - x0] = True
        bridge &= inner
        joined, _ = ndi.label(mine | bridge, structure=_SQUARE)
        keep = np.isin(joined, np.unique(joined[mine]))  # drop stray bridge pixels that touch no part
        res[y0:y1, x0:x1] |= keep & bridge
    return res


def thermal_objects(temp, valid=None, *, background=(121, 81), looks: int = 4,
                    passes: tuple = ((5.0, 0, 3.0), (4.0, 0)), min_peak: float = 8.0,
                    min_range: float = 7.0, min_area: int = 20, max_area_frac: float = 0.04,
                    max_aspect: float = 3.5, min_fill: float = 0.3, support_k: float = 2.0,
                    max_support: float = 20.0, split_h: float = 2.5, split_sigma: float = 2.5,
                    max_pieces: int = 10, halo: int = 2, halo_k: float = 2.0,
                    pair_gap: int | None = 1, pair_aspect: float = 2.8, pair_fill: float = 0.35,
                    pair_part_fill: float = 0.4, core_k: float | None = 10.0, core_spread: float = 8.0,
                    support_exempt: float | None = 2.0) -> np.ndarray:
    """Compact objects warmer OR colder than their surroundings (bool mask):
    people, cars and bicycles in UAV / close-range thermal frames.

    Unlike :func:`~.detectors_thermal.thermal_hot_targets` this does not assume that objects are
    hot: by day the ground can be hotter than people, and car glass or a car
    parked for hours look cold. Method:

    1. For each window of ``background`` (px, largest first): background =
       median of ``looks`` x ``looks`` block means over the window
       (``_coarse_median_background``); signed contrast ``d = temp -
       background``, ``c = |d|``; noise level ``sig`` = 1.4826 * MAD of ``c``
       over the valid pixels (floored at 0.2 % of the 1-99 % range of the scene).
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
       Later passes (and windows) only add components that do not touch
       those already kept, so one object is not split or merged twice.
    3b. A last pass per window at ``c > median + core_k * sig`` (no
       closing) adds the cores of bodies whose lower-threshold component
       merged with their surroundings (a person on a warm road) and failed
       the shape priors - only cores whose contrast varies inside them
       (90th - 10th percentile >= ``core_spread * sig``), not the flat
       corner of a warm plateau (``core_k=None``: off).
    4. Extended structures (on the last, finest window): an object is dropped
       when a region of connected pixels of one polarity (all warmer or all
       colder than the background) with ``c > median + support_k * sig``
       that it touches, less all objects, is more than ``max_support`` times
       its area - it is the tip of a warm roof edge, a sunlit verge or one
       side of a shade edge, not a body of its own - unless its peak
       contrast is >= ``support_exempt`` times the region's 90th percentile
       (a person walking on a warm road: far warmer than the road;
       ``None``: no exemption).
    5. Each object grows by up to ``halo`` px into its blurred rim (pixels
       of its own polarity with ``c > median + halo_k * sig``) without
       touching another object, so its box
       covers the whole body rather than its hottest / coldest core.
    6. Touching objects (people side by side) are split at the watershed
       between contrast peaks (``c`` smoothed by ``split_sigma`` px, peak
       dynamic >= ``split_h * sig``) when every piece passes the area and
       peak priors.
    7. A warm and a cold object with at most ``pair_gap`` px between them
       join into one object (a car by day or just parked: hot bonnet, cold
       glass) when each part has >= ``min_area`` px and fills >=
       ``pair_part_fill`` of its own box, and their union is compact: box
       aspect ratio <= ``pair_aspect``, parts filling >= ``pair_fill`` of the
       union's box, area <= the largest object area (``pair_gap=None``: off).

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
        d = xf - _coarse_median_background(xf, int(size), looks)
        c = np.abs(d)
        sig, med = _mad_sigma(c[v])
        sig = max(sig, 0.002 * (hi - lo))
        if not np.isfinite(sig) or sig <= 0:
            return out
        for k, close, *rest in passes:
            low = med + rest[0] * sig if rest else None
            out |= _object_pass(c, xf, v, med + k * sig, int(close), sig, out, min_area=min_area,
                                max_area=max_area, max_aspect=max_aspect, min_fill=min_fill, min_peak=min_peak,
                                min_range=min_range, low=low)
        if core_k is not None:  # cores of bodies whose lower-threshold component merged with their surroundings
            core = _object_pass(c, xf, v, med + core_k * sig, 0, sig, out, min_area=min_area, max_area=max_area,
                                max_aspect=max_aspect, min_fill=min_fill, min_peak=min_peak, min_range=min_range)
            out |= _structured(core, c, sig, core_spread) if core.any() else core
    out &= v
    if max_support is not None and max_support > 0:
        out = _drop_extended(out, c, d, v, med + support_k * sig, max_support, support_exempt)
    if halo > 0:
        out = _grow_halo(out, d, v & (c > med + halo_k * sig), halo)
    if split_h > 0:
        out = _split_touching(out, c, sig, split_h, split_sigma, min_area, min_peak, max_pieces)
    if pair_gap is not None and pair_gap >= 0:
        out = _pair_two_tone(out, d, pair_gap, pair_aspect, min_area, max_area, pair_fill, pair_part_fill)
    return out & v
