"""Grounding for the analytic backend: query -> class mask -> components -> ranked, filtered detections."""

from __future__ import annotations

import math

import numpy as np

from ...results import Detection, Grounding
from . import detectors
from .evidence import Evidence, band_mean
from .measure import contrast_score, elongation, major_axis_px, ring_contrast, robust_spread, two_tone_score
from .query import Query
from .vocabulary import BY_KEY

#: Ground area (m2) separating people from vehicles in thermal imagery when the pixel size is known.
PERSON_MAX_M2 = 2.5
VEHICLE_MAX_M2 = 60.0
#: Area classes: components smaller than this fraction of the view are speckle, not regions.
MIN_AREA_FRACTION = 1e-4


def ground_view(ev: Evidence, q: Query, backend_name: str) -> Grounding:
    view, key = ev.view, q.target.key
    inst = ev.instances(key)
    if inst is not None:
        # instance detectors (tree crowns) separate touching objects and score each one themselves
        labels, scores = inst
        comps = detectors.crown_components(labels)
        for comp in comps:
            comp["score"] = float(scores[comp["label"] - 1])
    else:
        mask = ev.mask(key)
        min_area = 1 if q.target.kind == "object" else max(4, int(MIN_AREA_FRACTION * mask.size))
        comps = detectors.components(mask, min_area=min_area)
    band = ev.evidence_band(key)
    px_area = _pixel_area(view)
    dets, notes = [], []
    for comp in comps:
        det = _detection(ev, comp, band, q, px_area)
        if det is not None:
            dets.append(det)
    if key == "tree" and not comps and px_area is not None and not _crowns_resolved(view):
        notes.append(f"pixels of {math.sqrt(px_area):.1f} m are too coarse to show single tree crowns; ask for "
                     "'forest' or 'vegetation' to find wooded areas, or use imagery of about 1 m or finer")
    if key in ("person", "vehicle") and px_area is None:
        notes.append("pixel size unknown: people and vehicles cannot be told apart by size, so every warm or cold "
                     "object is returned; open the image with pixel_size_m=... to separate them")
    dets = by_position(dets, q, view)
    dets = ordered(dets, q)
    if q.count is not None:
        dets = dets[:q.count]
    diag = {"candidates": len(comps), "note": "; ".join(notes)} if notes else {"candidates": len(comps)}
    return Grounding(q.text, dets, backend_name, view.crs, view.transform, (view.height, view.width),
                     q.as_dict(), diag)


def _crowns_resolved(view) -> bool:
    from .detectors_trees import MIN_RESOLVED_PX, crown_diameter_px

    return crown_diameter_px((view.height, view.width), view.pixel_size_m())[1] >= MIN_RESOLVED_PX


def _pixel_area(view) -> float | None:
    size = view.pixel_size_m()
    return None if size is None else size[0] * size[1]


def _detection(ev: Evidence, comp: dict, band: np.ndarray, q: Query, px_area: float | None) -> Detection | None:
    key = q.target.key
    mean_in, mean_out = ring_contrast(band, comp)
    contrast = mean_in - mean_out
    spread = ev.spread if band is ev.primary else robust_spread(band)
    label = q.target.label
    attrs = {"area_px": comp["area"], "mean": mean_in, "surround_mean": mean_out, "contrast": contrast,
             "length_px": major_axis_px(comp["mask"]), "elongation": elongation(comp["mask"])}
    if ev.modality == "sar" and band is ev.primary:
        x0, y0, x1, y1 = comp["box"]
        attrs["mean_db"] = band_mean(band[y0:y1, x0:x1], comp["mask"], "sar", db=True)
    if px_area is not None:
        attrs["area_m2"] = comp["area"] * px_area
        attrs["length_m"] = attrs["length_px"] * math.sqrt(px_area)
    if key in ("person", "vehicle", "hot_spot") and px_area is not None:
        kind = thermal_object_kind(attrs["area_m2"])
        if key != "hot_spot" and kind != key:
            return None
        label = kind if key == "hot_spot" and kind in ("person", "vehicle") else label
    elif key in ("person", "vehicle"):
        label = "thermal object"  # warm or cold (thermal_objects); no pixel size to tell people from vehicles
    if key == "tree":
        attrs["crown_diameter_px"] = 2.0 * math.sqrt(comp["area"] / math.pi)
        if px_area is not None:
            attrs["crown_diameter_m"] = 2.0 * math.sqrt(attrs["area_m2"] / math.pi)
    if "score" in comp:
        score = comp["score"]
    elif key in ("person", "vehicle") and ev.modality == "infrared" and not ev.satellite_thermal:
        score = two_tone_score(band, comp, spread)  # warm-or-cold objects (thermal_objects)
    else:
        score = contrast_score(contrast, spread)
    x0, y0, x1, y1 = comp["box"]
    return Detection((float(x0), float(y0), float(x1), float(y1)), label, score, comp["mask"], (x0, y0), attrs)


def thermal_object_kind(area_m2: float) -> str:
    """``person``, ``vehicle`` or ``hot spot`` from the ground area of a warm blob."""
    if area_m2 <= PERSON_MAX_M2:
        return "person"
    if area_m2 <= VEHICLE_MAX_M2:
        return "vehicle"
    return "hot spot"


def by_position(dets: list[Detection], q: Query, view) -> list[Detection]:
    """Keep detections in the asked part of the view (halves per axis; the central third for 'centre')."""
    if q.position is None:
        return dets
    dx, dy = q.position
    w, h = view.width, view.height
    if q.compass and view.crs is not None:
        # Compass words follow the map: compare in map coordinates (north = +y).
        cxm, cym = view.transform @ (w / 2, h / 2)

        def offset(d):
            mx, my = view.transform @ d.center
            return mx - cxm, -(my - cym)
        half_w, half_h = abs(view.transform.a) * w / 2 or 1, abs(view.transform.e) * h / 2 or 1
    else:
        def offset(d):
            return d.center[0] - w / 2, d.center[1] - h / 2
        half_w, half_h = w / 2, h / 2
    keep = []
    for d in dets:
        ox, oy = offset(d)
        if (dx, dy) == (0, 0):
            ok = abs(ox) <= half_w / 3 and abs(oy) <= half_h / 3
        else:
            ok = (dx == 0 or ox * dx > 0) and (dy == 0 or oy * dy > 0)
        if ok:
            d.attributes["position_offset"] = (ox * dx / half_w + oy * dy / half_h) if (dx, dy) != (0, 0) else \
                -math.hypot(ox / half_w, oy / half_h)
            keep.append(d)
    return keep


def ordered(dets: list[Detection], q: Query) -> list[Detection]:
    """Sort by the query's qualifier (largest, brightest, ...), else by position offset or score."""
    if q.order is None:
        if q.position is not None:
            return sorted(dets, key=lambda d: d.attributes.get("position_offset", 0.0), reverse=True)
        return sorted(dets, key=lambda d: (d.score, d.area_px), reverse=True)
    measure, desc = q.order
    keys = {"area": lambda d: d.area_px, "length": lambda d: d.attributes.get("length_px", 0.0),
            "mean": lambda d: d.attributes.get("mean", 0.0), "score": lambda d: d.score}
    return sorted(dets, key=keys[measure], reverse=desc)


__all__ = ["ground_view", "thermal_object_kind", "by_position", "ordered", "BY_KEY"]
