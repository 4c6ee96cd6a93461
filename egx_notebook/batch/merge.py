"""Seam-aware merge of per-tile detections (scene pixels): ownership by core, stitched masks, per-label NMS.

The rule (:func:`merge_tiles`), for the tiles of :func:`~egx_notebook.batch.tiling.plan_tiles`:

1. A detection whose box reaches an edge of its tile that lies inside the scene is **cut**: the object may
   go on in the neighbouring tile. Every other detection is **whole** (the tile saw all of it; edges on the
   scene border cut nothing, so objects at the border are kept like any other).
2. A whole detection is kept by the tile whose **core** holds its box centre. Cores tile the scene without
   gaps or overlaps, each boundary in the middle of an overlap, so an object is owned by exactly one tile.
3. Whole detections owned by another tile ("guests": the object is whole here, but its owner saw it cut or
   its box shifted by a pixel) are kept unless they repeat a kept detection of the same label.
4. Cut detections of the same label whose masks overlap or touch (boxes, without masks) are grouped across
   tiles and **stitched** into one detection (union of the masks, union of the boxes); a group mostly
   covered by kept detections is a fragment of an object already seen whole and is dropped.
5. Non-maximum suppression per label (mask IoU where both have masks, else box IoU) removes what is left of
   duplicates, e.g. two owners when a box centre moved across a core boundary between tiles.

**Why this is exact for objects smaller than the overlap.** Say an object is ``w <= overlap`` px wide and its
centre lies in the core of tile T. The core boundary sits at least ``overlap / 2`` px inside T's edge, so the
object's extent, ``w / 2`` either side of the centre, stays inside T: T saw it whole (rule 2 keeps it once,
since cores do not overlap). Any other tile that sees part of it sees it cut (rule 1) and the fragment is
covered by T's detection (rule 4 drops it). Objects wider than the overlap are cut in every tile that does
not contain them whole and are stitched from their fragments (rule 4); they are exact as far as the backend
answers the same way on both sides of a seam.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

#: Fraction of a detection covered by another of the same label above which it is a repeat.
REPEAT_FRACTION = 0.5


# -- pixel overlaps ------------------------------------------------------------------------------------
def _rect(d) -> tuple[int, int, int, int]:
    ox, oy = d.mask_origin
    return ox, oy, ox + d.mask.shape[1], oy + d.mask.shape[0]


def _intersection(a, b) -> float:
    """Shared pixels of two detections (masks where both have one, else boxes)."""
    if a.mask is not None and b.mask is not None:
        ax0, ay0, ax1, ay1 = _rect(a)
        bx0, by0, bx1, by1 = _rect(b)
        x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
        if x1 <= x0 or y1 <= y0:
            return 0.0
        return float(np.count_nonzero(a.mask[y0 - ay0:y1 - ay0, x0 - ax0:x1 - ax0]
                                      & b.mask[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]))
    w = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    h = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return float(max(w, 0.0) * max(h, 0.0))


def _touching(a, b) -> bool:
    """Masks that overlap or are 8-connected across a seam (boxes: overlap or share an edge)."""
    if a.mask is None or b.mask is None:
        return (min(a.box[2], b.box[2]) >= max(a.box[0], b.box[0])
                and min(a.box[3], b.box[3]) >= max(a.box[1], b.box[1]))
    from scipy import ndimage as ndi

    ax0, ay0, ax1, ay1 = _rect(a)
    grown = np.zeros((ay1 - ay0 + 2, ax1 - ax0 + 2), dtype=bool)
    grown[1:-1, 1:-1] = a.mask
    grown = ndi.binary_dilation(grown, structure=np.ones((3, 3), bool))
    return _intersection(replace(a, mask=grown, mask_origin=(ax0 - 1, ay0 - 1)), b) > 0


def _iou(a, b) -> float:
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _area(d) -> float:
    if d.mask is not None:
        return float(np.count_nonzero(d.mask))
    x0, y0, x1, y1 = d.box
    return float(max(x1 - x0, 0.0) * max(y1 - y0, 0.0))


def _candidate_pairs(a: list, b: list | None = None) -> list[tuple[int, int]]:
    """Index pairs (i in a, j in b) whose boxes intersect or touch (an STRtree query, not all pairs)."""
    import shapely

    if not a or (b is not None and not b):
        return []
    other = a if b is None else b

    def boxes(ds):
        return shapely.box(*np.array([d.box for d in ds], dtype=float).T)

    tree = shapely.STRtree(boxes(other))
    ia, ib = tree.query(boxes(a), predicate="intersects")
    pairs = [(int(i), int(j)) for i, j in zip(ia, ib) if a[i].label == other[j].label]
    return [(i, j) for i, j in pairs if i < j] if b is None else pairs


# -- stitching -----------------------------------------------------------------------------------------
def stitch(parts: list):
    """One detection from fragments of an object seen cut in several tiles: union of the masks and of the
    boxes, the best score; measurements from the largest fragment, sizes recomputed on the union."""
    if len(parts) == 1:
        return parts[0]
    big = max(parts, key=_area)
    box = (min(p.box[0] for p in parts), min(p.box[1] for p in parts),
           max(p.box[2] for p in parts), max(p.box[3] for p in parts))
    mask, origin = None, (0, 0)
    if all(p.mask is not None for p in parts):
        rects = [_rect(p) for p in parts]
        x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
        x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
        mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        for p, (px0, py0, px1, py1) in zip(parts, rects):
            mask[py0 - y0:py1 - y0, px0 - x0:px1 - x0] |= p.mask
        origin = (x0, y0)
    attrs = dict(big.attributes)
    merged = replace(big, box=box, score=max(p.score for p in parts), mask=mask, mask_origin=origin,
                     attributes=attrs)
    _update_sizes(attrs, big, merged)
    attrs["stitched_tiles"] = len(parts)
    return merged


def _update_sizes(attrs: dict, old, new) -> None:
    """Recompute the size measurements a backend reported, for the stitched object."""
    area_old, area_new = _area(old), _area(new)
    if "area_px" in attrs:
        attrs["area_px"] = int(area_new) if float(area_new).is_integer() else area_new
    if "area_m2" in attrs and area_old > 0:
        attrs["area_m2"] = attrs["area_m2"] * area_new / area_old
    if new.mask is not None and ("length_px" in attrs or "elongation" in attrs):
        from ..backends.analytic.measure import elongation, major_axis_px

        length_old = attrs.get("length_px")
        if "length_px" in attrs:
            attrs["length_px"] = major_axis_px(new.mask)
        if "elongation" in attrs:
            attrs["elongation"] = elongation(new.mask)
        if "length_m" in attrs and length_old:
            attrs["length_m"] = attrs["length_m"] * attrs["length_px"] / length_old


# -- the merge -----------------------------------------------------------------------------------------
def _groups(dets: list) -> list[list]:
    """Connected groups of touching detections of the same label (union-find), in first-seen order."""
    parent = list(range(len(dets)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _candidate_pairs(dets):
        if find(i) != find(j) and _touching(dets[i], dets[j]):
            parent[max(find(i), find(j))] = min(find(i), find(j))
    out: dict[int, list] = {}
    for i, d in enumerate(dets):
        out.setdefault(find(i), []).append(d)
    return list(out.values())


def _covered(d, kept: list, pairs_of: dict) -> float:
    """Fraction of ``d`` covered by the kept detections it meets."""
    area = _area(d)
    if area <= 0:
        return 1.0
    return min(1.0, sum(_intersection(d, kept[j]) for j in pairs_of) / area)


def _repeats(new: list, kept: list) -> list[bool]:
    """For each of ``new``: is it mostly covered (>= REPEAT_FRACTION) by the ``kept`` detections?"""
    near: dict[int, list[int]] = {}
    for i, j in _candidate_pairs(new, kept):
        near.setdefault(i, []).append(j)
    return [_covered(d, kept, near.get(i, [])) >= REPEAT_FRACTION for i, d in enumerate(new)]


def nms(detections: list, iou_threshold: float = 0.5) -> list:
    """Greedy non-maximum suppression per label: best score first (then larger, then earlier); a detection
    overlapping a kept one with IoU > ``iou_threshold`` (masks where both have one, else boxes) is dropped.
    The kept detections stay in their input order."""
    order = sorted(range(len(detections)), key=lambda i: (-detections[i].score, -_area(detections[i]), i))
    rank = {i: r for r, i in enumerate(order)}
    near: dict[int, list[int]] = {}
    for i, j in _candidate_pairs(detections):
        near.setdefault(i, []).append(j)
        near.setdefault(j, []).append(i)
    dropped = set()
    for i in order:
        if i in dropped:
            continue
        for j in near.get(i, []):
            if j not in dropped and rank[j] > rank[i] and _iou(detections[i], detections[j]) > iou_threshold:
                dropped.add(j)
    return [d for i, d in enumerate(detections) if i not in dropped]


def merge_tiles(results, tiles, iou_threshold: float = 0.5, edge_margin: float = 1.0) -> list:
    """Merge per-tile detections (scene pixels) into one list; see the module docstring for the rule.

    ``results`` are :class:`~egx_notebook.batch.tiling.TileResult` (any order: they are merged in tile
    order, so the output does not depend on which worker finished first); ``edge_margin`` (px) is how close
    to an inner tile edge a box must come to count as cut."""
    by_index = {t.index: t for t in tiles}
    owned, guests, cut = [], [], []
    for res in sorted(results, key=lambda r: r.index):
        tile = by_index[res.index]
        for d in res.detections:
            if tile.cuts(d.box, edge_margin):
                cut.append(d)
            elif tile.owns(*d.center):
                owned.append(d)
            else:
                guests.append(d)
    kept = list(owned)
    for g, repeat in zip(guests, _repeats(guests, kept)):
        # Guests are checked against the owners, then against the guests kept before them.
        if not repeat and not (kept[len(owned):] and _repeats([g], kept[len(owned):])[0]):
            kept.append(g)
    stitched = [stitch(group) for group in _groups(cut)]
    kept += [s for s, repeat in zip(stitched, _repeats(stitched, kept)) if not repeat]
    return nms(kept, iou_threshold)
