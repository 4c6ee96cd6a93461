"""SAR bright targets (ships) on backscatter in dB: CFAR with a land/sea mask and shape tests.

Open water is in ``detectors_sar_water``."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.special import ndtri

from .detectors_common import (block_sum, label_areas, masked_box_stats, prepare, remove_small, robust_threshold,
                               upsample_blocks)

__all__ = ["sar_bright_targets"]


def _box(a, size):
    if size <= 1:
        return a
    return ndi.uniform_filter(a, size=size, mode="constant") * float(size * size)


def _cfar_blocks(x, w, d):
    """Block sums (d x d) of the background weight, x*w and x^2*w."""
    xw = np.where(w, x, 0.0).astype(np.float32)
    return (block_sum(w.astype(np.float32), d), block_sum(xw, d), block_sum(xw * xw, d))


def _cfar_threshold(blocks, k, guard, background, d, min_frac=0.25):
    """Log-domain CA-CFAR threshold ``mu + k*sd`` on the d x d block grid.

    ``blocks`` = block sums of (w, x*w, x^2*w) where w is the background
    weight (sea, not censored). Ring statistics between a (2*guard+1)^2 guard
    window and a (2*background+1)^2 window are box sums of 2*round(r/d)+1
    blocks: the background varies on the ring scale, so this gives the
    statistics of a full resolution CFAR at ~1/d^2 of the cost. Where fewer
    than ``min_frac`` of the ring is usable (censored by detections, land or
    invalid) a 3x wider ring is used, then the global statistics of the
    usable pixels."""
    n_b, s_b, q_b = (np.asarray(a, np.float64) for a in blocks)
    g = max(0, int(round(guard / d)))
    b = max(g + 1, int(round(background / d)))

    def ring(rin, rout):
        o = [_box(a, 2 * rout + 1) for a in (n_b, s_b, q_b)]
        i = [_box(a, 2 * rin + 1) for a in (n_b, s_b, q_b)]
        n, s, q = (oo - ii for oo, ii in zip(o, i))
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = s / n
            sd = np.sqrt(np.maximum(q / n - mu * mu, 0.0))
        return mu, sd, n

    mu, sd, n = ring(g, b)
    ring_size = ((2 * b + 1) ** 2 - (2 * g + 1) ** 2) * d * d
    nt = float(n_b.sum())
    if nt > 0:
        gmu = float(s_b.sum()) / nt
        gsd = float(np.sqrt(max(float(q_b.sum()) / nt - gmu * gmu, 0.0)))
    else:
        gmu = gsd = 0.0
    weak = n < min_frac * ring_size
    if weak.any():
        mu2, sd2, n2 = ring(g, 3 * b)
        mu = np.where(weak, mu2, mu)
        sd = np.where(weak, sd2, sd)
        weak &= n2 < min_frac * ring_size
        mu = np.where(weak, gmu, mu)
        sd = np.where(weak, gsd, sd)
    # a floor on the spread avoids detecting tiny ripples on flat (constant) data
    sd = np.maximum(sd, 1e-3 + 0.05 * gsd)
    return mu + k * sd


def _local_morphology(det, close):
    """Closing (close x close) and hole filling, done per component box
    (padded) instead of over the whole image."""
    lab, n = ndi.label(det, structure=np.ones((3, 3), bool))
    if n == 0:
        return det
    out = det.copy()
    pad = close + 1
    H, W = det.shape
    st = np.ones((close, close), bool)
    for sl in ndi.find_objects(lab):
        y0, y1 = max(0, sl[0].start - pad), min(H, sl[0].stop + pad)
        x0, x1 = max(0, sl[1].start - pad), min(W, sl[1].stop + pad)
        m = det[y0:y1, x0:x1]
        if close > 1:
            m = ndi.binary_closing(m, structure=st, border_value=0)
        out[y0:y1, x0:x1] |= ndi.binary_fill_holes(m)
    return out


def _reject_clutter(det, n_valid, shape, max_area_frac, max_extent_frac, min_area):
    """Drop components that are too small, or too large / too extended to be
    a target: area above ``max_area_frac`` of the valid pixels, a box spanning
    more than ``max_extent_frac`` of the image height or width, or, for
    components touching the image border, more than half of that. Boxes up
    to 64 px long are never rejected for extent."""
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


def _land_context(det, land, v, r_in, r_out, max_land_frac, cand=None):
    """Keep components whose surroundings (a ring from ``r_in`` to ``r_out``
    px around the component) are mostly sea: at most ``max_land_frac`` of the
    valid ring pixels are land. Ships lie on sea, land clutter is next to
    more land. With ``cand`` (labels of the bright-body candidates of
    ``_land_sea``) a candidate that the component does not overlap counts as
    land in its ring: a small piece beside a large bright body is a fragment
    of that body's rim (land clutter or the ship's own sidelobes)."""
    lab, n, _ = label_areas(det)
    if n == 0:
        return det
    grown = ndi.grey_dilation(lab, size=(2 * r_out + 1, 2 * r_out + 1))
    near = ndi.binary_dilation(det, iterations=r_in) if r_in > 0 else det
    ring = (grown > 0) & ~near & v
    n_ring = np.bincount(grown[ring], minlength=n + 1)
    if cand is not None and cand.any():
        own = np.zeros(n + 1, cand.dtype)
        on = lab > 0
        np.maximum.at(own, lab[on], cand[on])
        land = land | ((cand > 0) & (cand != own[grown]))
    n_land = np.bincount(grown[ring & land], minlength=n + 1)
    keep = n_land <= max_land_frac * n_ring
    keep[0] = False
    return keep[lab]


#: Multilook window (px) of the moored-ship pass, and the least width of a moored ship body: 1.5 windows.
#: A quay wall or pier edge is a bright line (double bounce) one or two resolution cells thick; the
#: multilook blurs it to about one window wide, while a ship hull is a body clearly wider than that.
_MOORED_LOOKS = 5
_MOORED_MIN_WIDTH = 1.5 * _MOORED_LOOKS


def _moored_ships(raw, v, land, land_c, d, bg, rejected, kept, *, coast_px, pixel_db,
                  excess, min_elong, min_fill, min_area, cand=None):
    """Ships moored against land, which the land mask absorbs or the land
    context test rejects.

    Bright bodies are taken from the ``_MOORED_LOOKS`` (5 x 5) multilooked level (linear power):
    pixels ``pixel_db`` dB or more above the sea median, on the sea or on
    land within ``coast_px`` px of the non-land (the coarse land mask can
    swallow a ship moored flush against a quay). A body that touches land or
    a rejected detection, does not overlap a kept detection and passes
    ``_ship_like`` is a ship. Two failed bodies in line at most one
    multilook window apart (``_collinear_pairs``) are tested again as one
    body and, if it passes, bridged (``_bridge``): a hull broken by a dim
    section."""
    depth_c = _land_depth(land_c, d)
    zone = v & ~(upsample_blocks(depth_c > coast_px, d, land.shape) & land)
    if cand is not None:
        zone &= ~cand
    if not (zone & land).any() and not rejected.any():
        return np.zeros(land.shape, bool)
    sea_db = _sea_level(raw, bg)
    # 5 x 5 mean of linear power >= level, without taking logs (float32: speed)
    pw = np.where(v, np.power(np.float32(10.0), (np.clip(raw, -300, 300) / 10.0 - (sea_db + pixel_db) / 10.0)
                              .astype(np.float32)), np.float32(0.0))
    bright = zone & (ndi.uniform_filter(pw, _MOORED_LOOKS, mode="constant")
                     >= ndi.uniform_filter(v.astype(np.float32), _MOORED_LOOKS, mode="constant"))
    lab, n, areas = label_areas(bright)
    if n == 0:
        return np.zeros(land.shape, bool)
    touch = np.bincount(lab[land | rejected], minlength=n + 1) > 0
    clash = np.bincount(lab[kept], minlength=n + 1) > 0
    ok = np.zeros(n + 1, bool)
    depth = None
    sls = ndi.find_objects(lab)
    for i, sl in enumerate(sls, start=1):
        if sl is None or not touch[i] or clash[i] or areas[i] < min_area:
            continue
        if depth is None:
            depth = upsample_blocks(depth_c, d, land.shape)
        m = lab[sl] == i
        dep = np.where(land[sl], depth[sl], 0.0)[m]
        ok[i] = _ship_like(m, raw[sl][m], sea_db, excess, min_elong, min_fill, dep,
                           coast_px / 2.0, _MOORED_MIN_WIDTH)
    out = ok[lab]
    # a hull broken by a short dark gap: two failed bodies in line are tested as one
    loose = touch & ~clash & ~ok & (areas >= min_area // 4)
    loose[0] = False
    for i, j in _collinear_pairs(lab, sls, loose, _MOORED_LOOKS, _JOIN_DEG):
        sl = _union_slice(sls[i - 1], sls[j - 1])
        m = (lab[sl] == i) | (lab[sl] == j)
        if m.sum() < min_area:
            continue
        if depth is None:
            depth = upsample_blocks(depth_c, d, land.shape)
        dep = np.where(land[sl], depth[sl], 0.0)[m]
        if _ship_like(m, raw[sl][m], sea_db, excess, min_elong, min_fill, dep, coast_px / 2.0,
                      _MOORED_MIN_WIDTH):
            out[sl] |= _bridge(m)
    return out


def _coastal_ships(rej, land, raw, sea_db, max_land_frac, excess, min_elong, min_fill, min_area):
    """CFAR components rejected by the land context test (``rej``) that lie
    on the sea (at most ``max_land_frac`` of their own pixels on land) and
    pass the moored-ship test (``_ship_like``, >= ``_MOORED_MIN_WIDTH`` wide)
    on their own: a ship close inshore has land in its surroundings, but
    land clutter at the coast is not a wide, elongated, filled, bright body."""
    lab, n, areas = label_areas(rej)
    if n == 0:
        return np.zeros(rej.shape, bool)
    on_land = np.bincount(lab[land], minlength=n + 1)
    ok = np.zeros(n + 1, bool)
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None or areas[i] < min_area or on_land[i] > max_land_frac * areas[i]:
            continue
        m = lab[sl] == i
        ok[i] = _ship_like(m, raw[sl][m], sea_db, excess, min_elong, min_fill, None, 0.0, _MOORED_MIN_WIDTH)
    return ok[lab]


#: Greatest angle (degrees) between a body's major axis and the line to a piece that continues it.
_JOIN_DEG = 20.0


def _axis(m):
    """Centroid (x, y), unit major axis and major/minor axis ratio of a mask (second moments)."""
    ys, xs = np.nonzero(m)
    c = np.array([xs.mean(), ys.mean()])
    p = np.stack([xs - c[0], ys - c[1]]).astype(np.float64)
    ev, evec = np.linalg.eigh(p @ p.T / max(p.shape[1], 1))
    return c, evec[:, 1], float(np.sqrt(ev[1] / max(ev[0], 1e-9)))


def _union_slice(a, b):
    """The box (pair of slices) holding the boxes ``a`` and ``b``."""
    return (slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop)),
            slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop)))


def _collinear_pairs(lab, sls, eligible, gap, max_deg):
    """Pairs ``(i, j)`` of eligible labelled pieces (``sls``: their boxes)
    at most ``gap`` px apart where one continues the other along its major
    axis: the larger piece is elongated (axis ratio >= 1.5) and the line
    between the centroids is within ``max_deg`` of its axis."""
    ids = np.flatnonzero(eligible)
    if ids.size < 2:
        return []
    box = np.array([[sls[i - 1][0].start, sls[i - 1][0].stop, sls[i - 1][1].start, sls[i - 1][1].stop]
                    for i in ids])
    cos = np.cos(np.radians(max_deg))
    axes = {}
    pairs = []
    for u in range(ids.size):
        # box gaps to the later pieces (cheap pre-selection), then the true pixel gap
        dy = np.maximum(0, np.maximum(box[u + 1:, 0] - box[u, 1], box[u, 0] - box[u + 1:, 1]))
        dx = np.maximum(0, np.maximum(box[u + 1:, 2] - box[u, 3], box[u, 2] - box[u + 1:, 3]))
        for w in np.flatnonzero((dy <= gap) & (dx <= gap)) + u + 1:
            i, j = int(ids[u]), int(ids[w])
            for k in (i, j):
                if k not in axes:
                    sk = sls[k - 1]
                    m = lab[sk] == k
                    c, ax, r = _axis(m)
                    axes[k] = (c + (sk[1].start, sk[0].start), ax, r, int(m.sum()))
            (ca, ua, ra, _), (cb, _, _, _) = (axes[i], axes[j]) if axes[i][3] >= axes[j][3] else (axes[j], axes[i])
            dv = cb - ca
            dist = float(np.hypot(*dv))
            if ra < 1.5 or dist <= 0 or abs(float(dv @ ua)) < cos * dist:
                continue
            win = lab[_union_slice(sls[i - 1], sls[j - 1])]
            if ndi.distance_transform_edt(win != i)[win == j].min() <= gap + 1:
                pairs.append((i, j))
    return pairs


def _bridge(m):
    """``m`` (two pieces) made one component: the segment between the
    nearest pixels of the pieces is added, 3 px thick."""
    lab, n = ndi.label(m, structure=np.ones((3, 3), bool))
    if n < 2:
        return m
    dist, idx = ndi.distance_transform_edt(lab != 1, return_indices=True)
    other = lab >= 2
    k = int(np.argmin(np.where(other, dist, np.inf)))
    y1, x1 = np.unravel_index(k, m.shape)
    y0, x0 = idx[0][y1, x1], idx[1][y1, x1]
    steps = int(max(abs(y1 - y0), abs(x1 - x0))) + 1
    line = np.zeros(m.shape, bool)
    line[np.round(np.linspace(y0, y1, steps)).astype(int), np.round(np.linspace(x0, x1, steps)).astype(int)] = True
    return m | ndi.binary_dilation(line, structure=np.ones((3, 3), bool))


def _ship_like(m, vals, sea_db, excess, min_elong, min_fill, depth, max_dist, min_width=0.0):
    """Moored-ship test of a component (mask ``m`` cropped to its box,
    ``vals`` its dB values): median ``excess`` dB above the sea level (ships
    are much brighter than land on average), major/minor axis ratio (second
    moments) >= ``min_elong``, width (``sqrt(12 * minor variance)``, the
    width of a uniform band) >= ``min_width`` px, area >= ``min_fill`` of its
    oriented bounding box, and mean depth in the land mask <= ``max_dist`` px
    (a ship is on the water side of the coast, land clutter extends inland)."""
    if vals.size < 3 or float(np.median(vals)) - sea_db < excess:
        return False
    if depth is not None and depth.size and float(depth.mean()) > max_dist:
        return False
    ys, xs = np.nonzero(m)
    p = np.stack([xs - xs.mean(), ys - ys.mean()]).astype(np.float64)
    ev, evec = np.linalg.eigh(p @ p.T / p.shape[1])
    if ev[0] <= 1e-9 or np.sqrt(ev[1] / ev[0]) < min_elong:
        return False
    if np.sqrt(12.0 * ev[0]) < min_width:
        return False
    q = evec.T @ p
    box = (np.ptp(q[0]) + 1.0) * (np.ptp(q[1]) + 1.0)
    return vals.size >= min_fill * box


def _land_depth(land_c, d):
    """Depth (px) of each land cell of the block grid in the land mask."""
    return ndi.distance_transform_edt(land_c) * float(d)


def _sea_level(x, bg):
    """Median dB of the sea background (subsampled)."""
    vals = x[bg]
    if vals.size == 0:
        return float(np.median(x))
    if vals.size > 200_000:
        vals = vals[:: vals.size // 200_000]
    return float(np.median(vals))


#: Ship-shaped islands of the coarse land mask (``_ship_island``): least major/minor axis ratio and fill of
#: the oriented box on the block grid, and the largest share of the outline on the image edge.
_ISLAND_ELONG = 2.5
_ISLAND_FILL = 0.65
_ISLAND_EDGE = 0.2
#: Greatest coefficient of variation of the 5 x 5 multilooked power inside the full-resolution body of a
#: ship-shaped island (``_failed_islands``). Measured on the HRSID chips: ship interiors 0.3-0.77 (median
#: ~0.5; pure 25-look speckle gives 0.2), 60 px windows of urban / port land 0.79-1.6 (median 1.1): land
#: clutter mixes strong corner reflectors with dark streets and shadows, a hull is one metal body.
_ISLAND_MAX_CV = 0.8


#: Radius (blocks of the ~200 x 200 grid: 24 px on an 800 px chip) of the disk that opens the coarse land
#: mask in ``_land_sea``: a protrusion narrower than the disk (a large ship moored head-on or alongside a
#: jetty end, merged into the coast by the median filter) is split off the coast body and, when it is
#: shaped like a ship, re-examined as a ship-shaped island. Measured by injection (scripts/hrsid_injection.py,
#: seeds 0 / 1 / 2): large ships at the coast 6 / 1 / 1 more found of 29 / 30 / 33, no other change.
_BUMP_R = 6


def _shape(m):
    """(major/minor axis ratio, fill of the oriented bounding box) of a cropped mask (second moments)."""
    ys, xs = np.nonzero(m)
    p = np.stack([xs - xs.mean(), ys - ys.mean()]).astype(np.float64)
    ev, evec = np.linalg.eigh(p @ p.T / max(p.shape[1], 1))
    q = evec.T @ p
    box = (np.ptp(q[0]) + 1.0) * (np.ptp(q[1]) + 1.0)
    return float(np.sqrt(ev[1] / max(ev[0], 1e-9))), xs.size / box


def _ship_island(m, edges):
    """True when a coarse non-sea component (cropped mask ``m``; ``edges`` = (top, bottom, left, right):
    whether its box touches that side of the image) is shaped like a ship: elongated (axis ratio >=
    ``_ISLAND_ELONG``), compact and filled (>= ``_ISLAND_FILL`` of its oriented box) and surrounded by sea
    (at most ``_ISLAND_EDGE`` of its outline on the image edge: a ship cut by the chip edge touches it
    with its beam, land runs along it). Natural islands and coast strips are irregular or run off the chip."""
    outline = int((m & ~ndi.binary_erosion(m, border_value=0)).sum())
    on_edge = sum(int(e.sum()) for e, t in zip((m[0], m[-1], m[:, 0], m[:, -1]), edges) if t)
    if on_edge > _ISLAND_EDGE * max(outline, 1):
        return False
    elong, fill = _shape(m)
    return elong >= _ISLAND_ELONG and fill >= _ISLAND_FILL


def _land_sea(x, v, *, grid=200, window=0.045, min_contrast=6.0, ship_excess=15.0,
              max_ship_frac=0.2, islands=True):
    """Coarse land / sea segmentation for ship detection.

    The scene is reduced to about ``grid`` x ``grid`` blocks (block mean of
    linear power, in dB), median filtered over ``window`` of the image side
    (speckle and ships smaller than half the window disappear into the sea,
    land, which is dense, stays) and split by Otsu. When the two classes are
    less than ``min_contrast`` dB apart the scene is all sea. Sea components
    smaller than 2 windows are holes of the land (streets, shadows, fields).
    The non-sea components are land, except those whose median block level is
    ``ship_excess`` dB or more above the sea (ships are much brighter than
    natural or urban land on average) and that cover at most
    ``max_ship_frac`` of the scene: those are large ship candidates. With
    ``islands`` so are dimmer components of at least half a window squared
    that are shaped like a ship (``_ship_island``): a large ship less than
    ``ship_excess`` above the sea survives the median filter as a small,
    elongated, filled island. With ``islands`` the land is also opened
    with a disk of ``_BUMP_R`` blocks: a ship-shaped protrusion that the
    opening removes (a large ship attached to the coast) is a candidate too.

    Returns ``(land, candidates, labels, d, t, shaped)``: bool grids and the
    label grid of the candidates on the block grid, the block size ``d``, the
    sea/non-sea level ``t`` in dB (None when all sea) and the bool grid of
    the candidates taken for their shape alone."""
    H, W = x.shape
    d = max(1, int(round(min(H, W) / grid)))
    n = block_sum(v.astype(np.float64), d)
    p = block_sum(np.where(v, np.power(np.float32(10.0), (np.clip(x, -300, 300) / 10.0).astype(np.float32)), 0.0), d)
    cv = n >= 0.25 * d * d
    shape = n.shape
    none = np.zeros(shape, bool)
    if cv.sum() < 16:
        return none, none, np.zeros(shape, np.int32), d, None, none
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = np.where(cv, 10.0 * np.log10(np.maximum(p / np.maximum(n, 1), 1e-30)), np.nan)
    ws = max(3, int(window * min(shape)) | 1)
    m = ndi.median_filter(np.where(cv, lc, float(np.median(lc[cv]))), size=ws)
    vals = m[cv]
    if float(vals.max() - vals.min()) <= 1e-9:
        return none, none, np.zeros(shape, np.int32), d, None, none
    t = robust_threshold(vals, "otsu")
    lo, hi = vals[vals <= t], vals[vals > t]
    if lo.size == 0 or hi.size == 0 or float(np.median(hi) - np.median(lo)) < min_contrast:
        return none, none, np.zeros(shape, np.int32), d, None, none
    sea = cv & (m <= t)
    sea = remove_small(sea, 2 * ws * ws)
    if not sea.any():  # no sizeable dark area: all land
        return cv.copy(), none, np.zeros(shape, np.int32), d, t, none
    sea_med = float(np.median(lc[sea]))
    lab, nl, areas = label_areas(cv & ~sea)
    cand = np.zeros(nl + 1, bool)
    if nl:
        med = ndi.median(lc, lab, index=np.arange(1, nl + 1))
        small = areas[1:] <= max_ship_frac * cv.sum()
        cand[1:] = (np.asarray(med) - sea_med >= ship_excess) & small
    shaped = np.zeros(nl + 1, bool)
    if nl and islands:
        gh, gw = shape
        for i, sl in enumerate(ndi.find_objects(lab), start=1):
            if cand[i] or not small[i - 1] or areas[i] < ws * ws // 2:
                continue
            edges = (sl[0].start == 0, sl[0].stop == gh, sl[1].start == 0, sl[1].stop == gw)
            shaped[i] = _ship_island(lab[sl] == i, edges)
        cand |= shaped
    land = (lab > 0) & ~cand[lab]
    clab = np.where(cand[lab], lab, 0).astype(np.int32)
    shaped_px = shaped[lab]
    if islands and _BUMP_R > 0 and land.any():
        r = _BUMP_R
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        body = ndi.binary_opening(land, structure=(yy * yy + xx * xx) <= r * r)
        blab, nb, bareas = label_areas(land & ~body)
        gh, gw = shape
        nxt = int(clab.max()) + 1
        for i, sl in enumerate(ndi.find_objects(blab), start=1):
            if sl is None or bareas[i] < ws * ws // 2:
                continue
            m = blab[sl] == i
            edges = (sl[0].start == 0, sl[0].stop == gh, sl[1].start == 0, sl[1].stop == gw)
            if _ship_island(m, edges):
                land[sl] &= ~m
                clab[sl][m] = nxt
                shaped_px[sl] |= m
                nxt += 1
    return land, clab > 0, clab, d, t, shaped_px


#: Dimmer-copy rule of ``_suppress_satellites``: a neighbour of up to this fraction of a strong target's
#: area, at least ``_GHOST_DB`` dimmer (90th percentile) and within ``_GHOST_DEG`` of its orientation, is
#: a sidelobe / ambiguity copy of it (a displaced, attenuated image of the same hull) rather than a ship.
_GHOST_RATIO = 0.5
_GHOST_DB = 3.0
_GHOST_DEG = 20.0


def _orientation(m):
    """Orientation (degrees in [0, 180)) of the major axis of a cropped mask (second moments)."""
    ys, xs = np.nonzero(m)
    if xs.size < 3:
        return None
    p = np.stack([xs - xs.mean(), ys - ys.mean()]).astype(np.float64)
    ev, evec = np.linalg.eigh(p @ p.T / p.shape[1])
    if ev[1] <= 1.5 * ev[0]:  # roundish: no defined axis
        return None
    return float(np.degrees(np.arctan2(evec[1, 1], evec[0, 1])) % 180.0)


def _suppress_satellites(det, zone=0.5, ratio=0.2, max_gap=16, db=None):
    """Drop small components next to a much larger one (sidelobes, azimuth
    ghosts and speckle fragments around strong targets): a component with
    less than ``ratio`` of the area of a larger component whose box, grown
    by ``zone`` x its longer side (at most ``max_gap`` px), contains the
    small component's centre. With ``db`` (the image) a neighbour of up to
    ``_GHOST_RATIO`` of the area is dropped too when it is a dimmer parallel
    copy: 90th percentile ``_GHOST_DB`` below the strong one and major axes
    within ``_GHOST_DEG``."""
    lab, n, areas = label_areas(det)
    if n < 2:
        return det
    sls = ndi.find_objects(lab)
    cen = [((sl[0].start + sl[0].stop) / 2, (sl[1].start + sl[1].stop) / 2) for sl in sls]
    feats = {}

    def feat(i):  # (p90 dB, orientation), computed lazily
        if i not in feats:
            sl = sls[i - 1]
            m = lab[sl] == i
            feats[i] = (float(np.percentile(db[sl][m], 90)), _orientation(m))
        return feats[i]

    order = np.argsort(-areas[1:]) + 1
    keep = np.ones(n + 1, bool)
    keep[0] = False
    for i in order:
        if not keep[i]:
            continue
        sl = sls[i - 1]
        g = min(zone * max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start), max_gap)
        y0, y1, x0, x1 = sl[0].start - g, sl[0].stop + g, sl[1].start - g, sl[1].stop + g
        for j in order:
            if j == i or not keep[j] or areas[j] >= areas[i]:
                continue
            cy, cx = cen[j - 1]
            if not (y0 <= cy <= y1 and x0 <= cx <= x1):
                continue
            if areas[j] < ratio * areas[i]:
                keep[j] = False
            elif db is not None and areas[j] < _GHOST_RATIO * areas[i]:
                (pi, ai), (pj, aj) = feat(i), feat(j)
                if ai is not None and aj is not None and pj <= pi - _GHOST_DB:
                    dang = abs(ai - aj) % 180.0
                    if min(dang, 180.0 - dang) <= _GHOST_DEG:
                        keep[j] = False
    return keep[lab]


def sar_bright_targets(db, valid=None, *, pfa: float = 1e-4, guard: int = 12,
                       background: int = 40, min_area: int = 24,
                       max_area_frac: float = 0.25, max_extent_frac: float = 0.75,
                       max_land_frac: float = 0.1, context: tuple[int, int] = (8, 24),
                       test: int = 3, close: int = 3, land_mask: bool = True,
                       ship_excess_db: float = 15.0, max_ship_frac: float = 0.2,
                       satellite_zone: float = 0.5, merge_frac: float = 0.005,
                       coast_px: int = 16, ship_pixel_db: float = 15.0,
                       min_elongation: float = 2.5, min_fill: float = 0.55) -> np.ndarray:
    """Ship / bright-target mask from SAR backscatter in dB (bool, H x W).

    Method:

    1. Land / sea segmentation (``land_mask``, see ``_land_sea``): block
       means (~200 x 200 grid) median filtered over ~4.5 % of the image side,
       Otsu split when the classes are >= 6 dB apart. Non-sea components are
       land, unless they cover at most ``max_ship_frac`` of the scene and
       either their median level is ``ship_excess_db`` above the sea or they
       are shaped like a ship (``_ship_island``: axis ratio >= 2.5, >= 0.65
       of their oriented box filled, <= 0.2 of their outline on the image
       edge): large ships, which survive the median filter. So are
       ship-shaped protrusions of the land that an opening with a disk of
       ``_BUMP_R`` blocks (24 px on an 800 px chip) cuts off the coast body
       (large ships moored against it). CFAR detects nothing on land.
    2. Log-domain cell-averaging CFAR: mean and std of (3x3 averaged) dB over
       sea pixels in the ring between a (2*guard+1)^2 guard window and a
       (2*background+1)^2 window (computed on a block grid, ~guard/4 px
       blocks, for speed); detect where ``dB > mean + k*std`` with
       ``k = Phi^-1(1 - pfa)`` (Gaussian model of log-speckle), both for the
       averaged and the raw pixel. Being relative to the local background,
       this works for calibrated dB (sea ~ -20 dB) and for relative dB of
       8-bit amplitude chips (20*log10(DN)).
    3. A second pass excludes the first-pass detections (dilated) from the
       background, so that large ships and clusters do not raise their own
       background; a mostly censored ring falls back to a 3x wider ring, then
       to global sea statistics.
    4. Closing (3x3), holes filled. Each ship candidate of step 1 covering
       at least ``merge_frac`` of the scene becomes one target: its
       detections are joined with its pixels above the sea/land level (so
       that a big ship and its azimuth smearing give one box; ships berthed
       side by side in one candidate become one box too). Ship-shaped
       candidates of any size are joined too, over their ends (grown by 5
       blocks into the non-land: the median filter rounds them off), and
       their body is then tested at full resolution (``_failed_islands``):
       axis ratio >= ``min_elongation``, fill >= ``min_fill`` of its oriented
       box and a coefficient of variation of the 5x5 multilooked power
       inside it <= 0.8 (a hull is one body; urban or port land mixes
       strong scatterers with dark streets). A body that fails is land again.
    5. Clutter rejection, per 8-connected component: ``area >= min_area``
       (24 px: about a 25 m x 8 m boat at 3 m pixels; smaller blobs are
       mostly sidelobes and speckle spikes),
       ``area <= max_area_frac`` of the valid pixels, box extent at most
       ``max_extent_frac`` of the image (ignored for boxes <= 64 px), and at
       most ``max_land_frac`` of a ring ``context`` px around it on land.
       For this test land also covers the land's rim (``_land_rim``: pixels
       up to 16 px outside the coarse land mask whose 9x9 multilooked level
       is above the land/sea level, eroded by half the window; the coarse
       median filter rounds corners and edges off) and every ship candidate of step 1 that the component
       does not overlap (a small piece beside a large bright body is a
       fragment of its rim, not a ship).
       Moored ships (``_moored_ships``): bright bodies of the 5x5
       multilooked level, ``ship_pixel_db`` above the sea median, on the sea
       or on land at most ``coast_px`` px from the non-land, touching land or
       a rejected detection, are kept when their median is
       ``ship_excess_db - 1`` dB above the sea, their major/minor axis ratio
       is >= ``min_elongation``, they are >= 7.5 px wide (1.5 multilook
       windows: quay walls and pier edges are thinner bright lines), fill
       >= ``min_fill`` of their oriented box, have >= 4 x ``min_area`` px
       and lie on average <= ``coast_px``/2 px inside the land mask
       (``coast_px=0`` disables this). Two bodies that fail alone but lie
       in line (the line between their centroids within 20 degrees of the
       larger one's major axis) with at most one multilook window (5 px)
       between them are tested again as one body (a hull broken by a dim
       section) and, if it passes, bridged into one target. A CFAR
       component rejected for its land context that lies on the sea (at
       most ``max_land_frac`` of its pixels on land) and passes the same
       moored-ship test on its own is kept (``_coastal_ships``: a ship at
       anchor close inshore, water between it and the land).
    6. Satellites (``_suppress_satellites``): components smaller than 1/5
       of a neighbour whose box, grown by ``satellite_zone`` x its length
       (<= 16 px), holds their centre are dropped (sidelobes, ghosts and
       fragments of strong targets); so are such neighbours of up to 1/2
       of its area that are dimmer copies of it: 90th percentile >= 3 dB
       lower and major axis within 20 degrees of its own (azimuth
       ambiguities and sidelobes are displaced, attenuated images of the
       same hull).
    """
    x, v = prepare(db, valid)
    out = np.zeros(x.shape, bool)
    if v.sum() < 4:
        return out
    k = float(ndtri(1.0 - pfa))
    if land_mask:
        land_c, cand_c, clab_c, dl, t_sea, shaped_c = _land_sea(x, v, ship_excess=ship_excess_db,
                                                                max_ship_frac=max_ship_frac)
    else:
        t_sea = None
    if t_sea is not None:
        land = upsample_blocks(land_c, dl, x.shape) & v
        cand = upsample_blocks(cand_c, dl, x.shape) & v
        bg = v & ~land & ~cand
    else:
        land = cand = None
        bg = v
    raw = x
    if test > 1:  # test-cell averaging (multilook) in dB: reduces speckle variance
        if v.all():
            x = ndi.uniform_filter(x.astype(np.float32), test, mode="nearest")
        else:
            xv = np.where(v, x, 0.0).astype(np.float32)
            n_t = ndi.uniform_filter(v.astype(np.float32), test, mode="constant")
            s_t = ndi.uniform_filter(xv, test, mode="constant")
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(n_t > 0, s_t / np.maximum(n_t, 1e-6), x).astype(np.float32)
    d = max(1, min(guard, background) // 4)
    blocks = _cfar_blocks(x, bg, d)
    thr = upsample_blocks(_cfar_threshold(blocks, k, guard, background, d), d, x.shape)
    det = v & (x > thr)
    if det.any():
        # censor the blocks holding first-pass detections (and their neighbours)
        cb = ndi.maximum_filter(block_sum(det.astype(np.float32), d) > 0, size=3)
        blocks = tuple(np.where(cb, 0.0, a) for a in blocks)
        thr = upsample_blocks(_cfar_threshold(blocks, k, guard, background, d), d, x.shape)
    # undo the spread of the test window: keep pixels that are bright themselves
    det = v & (x > thr) & (raw > thr)
    if land is not None:
        det &= ~land
    if not det.any() and (land is None or not land.any()):
        return out
    det = _local_morphology(det, close) & v
    if cand is not None and cand.any():
        # ship-shaped islands are always made one body, over the ends that the median filter ate
        big = np.where(shaped_c, clab_c, _big_only(clab_c, merge_frac * clab_c.size))
        if big.any():
            grown = upsample_blocks(_grow_islands(big, shaped_c, land_c), dl, x.shape)
            merged = _merge_candidates(det, upsample_blocks(big, dl, x.shape), raw, t_sea, v, grown)
            if shaped_c.any():
                # an island whose body is not ship-like goes back to land, its surroundings as they were
                isl = upsample_blocks(np.where(shaped_c, clab_c, 0), dl, x.shape) * v
                bad = _failed_islands(merged, isl, raw, v, min_elongation, min_fill)
                if bad.size:
                    failed = np.isin(isl, bad)
                    merged = np.where(np.isin(grown, bad), det, merged) & ~failed
                    land |= failed
            det = merged
    if land is not None:
        det &= ~land
    det = _reject_clutter(det, int(v.sum()), x.shape, max_area_frac, max_extent_frac, min_area)
    if land is not None and max_land_frac < 1 and land.any():
        ctx = land | _land_rim(raw, v, land, t_sea, _RIM_PX)
        kept = _land_context(det, ctx, v, context[0], context[1], max_land_frac,
                             upsample_blocks(clab_c, dl, x.shape) * v if cand is not None and cand.any() else None)
        if coast_px > 0:
            kept |= _moored_ships(raw, v, land, land_c, dl, bg, det & ~kept, kept,
                                  coast_px=coast_px, pixel_db=ship_pixel_db,
                                  excess=ship_excess_db - 1.0, min_elong=min_elongation,
                                  min_fill=min_fill, min_area=4 * min_area, cand=cand)
            kept |= _coastal_ships(det & ~kept, land, raw, _sea_level(raw, bg), max_land_frac,
                                   ship_excess_db - 1.0, min_elongation, min_fill, 4 * min_area)
        det = kept
    if satellite_zone > 0 and det.any():
        det = _suppress_satellites(det, satellite_zone, db=raw)
    return det


#: Land rim (``_land_rim``): reach (px) outside the coarse land mask and multilook window (px). The coarse
#: mask (4 px blocks, ~9-block median) rounds off up to ~half a median window (~16-18 px) of the land's
#: corners and edges; land clutter there, multilooked over a 9 px window, stays above the land / sea
#: level. The context ring leaves out 8 px around each detection, so a ship's own multilooked halo does
#: not count as land against it.
_RIM_PX = 16
_RIM_LOOKS = 9


def _land_rim(raw, v, land, t_sea, reach):
    """Pixels within ``reach`` px outside the coarse land mask whose
    multilooked level is above the land / sea level ``t_sea``, less the half
    window by which the multilook spreads bright land into the water: the rim
    of the land that the coarse median filter rounded off. (Without that
    erosion, ships 20-30 px off a shore failed the land-context test.)"""
    # the reach is taken on a 4 px block grid (square, speed)
    b = ndi.maximum_filter(block_sum(land, 4) > 0, size=2 * (-(-reach // 4)) + 1)
    band = upsample_blocks(b, 4, land.shape) & ~land & v
    if not band.any():
        return band
    ys, xs = np.nonzero(band)
    sl = (slice(max(ys.min() - _RIM_LOOKS, 0), ys.max() + _RIM_LOOKS + 1),
          slice(max(xs.min() - _RIM_LOOKS, 0), xs.max() + _RIM_LOOKS + 1))
    # mean linear power over the window >= the level, without logs (float32: speed)
    pw = np.where(v[sl], np.power(np.float32(10.0), ((np.clip(raw[sl], -300, 300) - t_sea) / 10.0)
                                  .astype(np.float32)), np.float32(0.0))
    ml = ndi.uniform_filter(pw, _RIM_LOOKS, mode="constant")
    nv = ndi.uniform_filter(v[sl].astype(np.float32), _RIM_LOOKS, mode="constant")
    # the window spreads bright land half a window into the water: take that halo back off
    above = ndi.binary_erosion(ml > nv, iterations=_RIM_LOOKS // 2, border_value=1)
    out = np.zeros_like(band)
    out[sl] = band[sl] & above
    return out


def _big_only(clab, min_cells):
    areas = np.bincount(clab.ravel())
    big = areas >= min_cells
    big[0] = False
    return np.where(big[clab], clab, 0)


def _grow_islands(clab, shaped, land):
    """Candidate labels (block grid) with the ship-shaped ones grown by one
    median half-window (5 blocks) into the non-land (their ends, which the
    median filter rounds off)."""
    isl = np.where(shaped, clab, 0)
    g = ndi.grey_dilation(isl, size=(11, 11))
    return np.where((clab == 0) & ~land & (g > 0), g, clab)


def _merge_candidates(det, clab, x, t_sea, v, grown=None):
    """Make each ship candidate of ``clab`` (labels) one component: inside
    it keep the detections plus the bright pixels, close, fill, and keep the
    largest piece (with everything connected to it). ``grown`` (labels, a
    superset of ``clab``) lets the piece extend outside the candidate, where
    other detections are left as they are."""
    grown = clab if grown is None else grown
    out = det.copy()
    for i, sl in enumerate(ndi.find_objects(grown), start=1):
        if sl is None:
            continue
        c = clab[sl] == i
        if not c.any():
            continue
        cg = grown[sl] == i
        m = (det[sl] | (_smooth_db(x[sl], v[sl], 5) > t_sea)) & cg
        if not m.any():
            continue
        r = max(1, int(0.01 * max(m.shape)) + 1)
        m = ndi.binary_closing(m, structure=np.ones((2 * r + 1, 2 * r + 1)), border_value=0) & cg
        m = ndi.binary_fill_holes(m)
        lab, n, areas = label_areas(m)
        if n == 0:
            continue
        m = lab == (int(np.argmax(areas[1:])) + 1)
        out[sl] = np.where(c, m, out[sl] | m)
    return out & v


def _failed_islands(det, ilab, raw, v, min_elong, min_fill):
    """Labels of the ship-shaped islands (label image ``ilab``) whose body at full
    resolution (the largest detection component over the island) is not
    ship-like: major/minor axis ratio < ``min_elong``, fill of its oriented
    box < ``min_fill``, or a textured interior (coefficient of variation of
    the 5 x 5 multilooked power, 3 px inside the outline, above
    ``_ISLAND_MAX_CV``). They go back to land. Returns an int array."""
    failed = []
    lab, _, _ = label_areas(det)
    body_sls = ndi.find_objects(lab)
    for i, sl in enumerate(ndi.find_objects(ilab), start=1):
        if sl is None:
            continue
        c = ilab[sl] == i
        ids = np.bincount(lab[sl][c & det[sl]])
        ok = False
        if ids.size > 1 and ids[1:].max() > 0:
            j = int(np.argmax(ids[1:])) + 1
            bsl = body_sls[j - 1]  # the body may run outside the island's box
            body = lab[bsl] == j
            elong, fill = _shape(body)
            ok = (elong >= min_elong and fill >= min_fill
                  and _texture_cv(raw[bsl], v[bsl], body) <= _ISLAND_MAX_CV)
        if not ok:
            failed.append(i)
    return np.asarray(failed, int)


def _texture_cv(x, v, body):
    """Coefficient of variation of the 5 x 5 mean of linear power over the
    interior of ``body`` (eroded by 3 px; the whole body when that is empty)."""
    inner = ndi.binary_erosion(body, iterations=3)
    if inner.sum() < 10:
        inner = body
    p = np.where(v, np.power(np.float32(10.0), (np.clip(x, -300, 300) / 10.0).astype(np.float32)), np.float32(0.0))
    n = ndi.uniform_filter(v.astype(np.float32), 5, mode="constant")
    ml = (ndi.uniform_filter(p, 5, mode="constant") / np.maximum(n, 1e-6))[inner]
    return float(ml.std() / max(float(ml.mean()), 1e-30))


def _smooth_db(x, v, size):
    """Boxcar multilook in linear power, back to dB (speckle reduction)."""
    p = np.where(v, 10.0 ** (np.clip(x, -100, 100) / 10.0), 0.0)
    n, s, _ = masked_box_stats(p, v, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s / n
    return np.where(n > 0, 10.0 * np.log10(np.maximum(m, 1e-12)), np.nan)
