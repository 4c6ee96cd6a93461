"""Referring for the analytic backend: statistics of the prompted region against its surroundings, a
label from transparent rules, and a plain-English sentence built from those numbers."""

from __future__ import annotations

import math

import numpy as np

from ...errors import QueryError
from ...results import Referring
from .evidence import Evidence, band_mean
from .grounding import thermal_object_kind
from .measure import elongation
from .query import parse_query

#: A pixel is "bright" when it exceeds the surroundings' median by this many robust sigmas (MAD).
BRIGHT_SIGMAS = 3.0
#: Calibrated co-pol backscatter below this (dB) is typical of calm open water (specular reflection).
SEA_DB = -15.0
#: The largest ships afloat are about 400 m x 60 m; a brighter blob than this is a structure, not a ship.
MAX_SHIP_AREA_M2 = 30000.0
#: Without a pixel size, a prompted thermal object covering less than this fraction of the frame is taken for a
#: person, a larger one for a vehicle. Measured on HIT-UAV (640x512 frames from 60-130 m: people cover 0.03-0.4 %
#: of the frame, cars and bicycles 0.1-2.7 %); a weak, camera- and altitude-dependent cue: pass pixel_size_m.
PERSON_MAX_FRAME_FRACTION = 0.002
#: A prompt is an object when thermal objects cover this much of it, or its values span this many robust sigmas.
OBJECT_COVER = 0.1
OBJECT_RANGE_SIGMAS = 4.0
OPTICAL_CLASSES = ("water", "vegetation", "cloud", "built_up", "bare_soil")
#: A prompt is named "tree" when detected crowns cover at least half of TREE_COVER of it (score 0.5) and it holds
#: at most TREE_MAX_CROWNS crowns (more is a stand: vegetation). Crowns are green, rounded objects, so a tree
#: outranks the area classes (vegetation, and the weak RGB-only cloud rule).
TREE_COVER = 0.5
TREE_MAX_CROWNS = 3
#: Crowns are looked for only where at least this share of the prompt is vegetation.
TREE_MIN_VEGETATION = 0.1
LABELS = {"built_up": "built-up", "bare_soil": "bare soil"}


def refer_view(ev: Evidence, region, instruction: str | None, backend_name: str) -> Referring:
    view = ev.view
    h, w = view.height, view.width
    if region is None:
        inside = ev.valid.copy()
        outside = np.zeros_like(inside)
    else:
        inside = region.mask() & ev.valid
        if region.kind == "point":
            inside = _neighbourhood(region, (h, w)) & ev.valid
        outside = ev.valid & ~_grow(inside)
    stats = _common_stats(ev, region, inside, outside)
    if not inside.any():
        return Referring("The prompt covers no valid pixels (no data there).", "no data", 0.0, {}, stats,
                         backend=backend_name, crs=view.crs, transform=view.transform, grid_shape=(h, w))
    rules = {"sar": _sar, "infrared": _thermal, "optical": _optical}[ev.modality]
    scores, label, phrase = rules(ev, region, inside, outside, stats)
    conf = float(scores.get(label, max(scores.values()) if scores else 0.0))
    text = _sentence(ev, region, label, conf, phrase, stats)
    if instruction:
        text += _answer_instruction(instruction, ev.modality, scores)
    extent = (0.0, 0.0, float(w), float(h)) if region is None else None
    return Referring(text, label, conf, {LABELS.get(k, k): float(v) for k, v in scores.items()}, stats,
                     backend=backend_name, crs=view.crs, transform=view.transform, grid_shape=(h, w),
                     extent=extent)


# -- shared measurements --------------------------------------------------------------------------
def _neighbourhood(region, shape, radius: int = 1) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    px, py = int(math.floor(region.geometry.x)), int(math.floor(region.geometry.y))
    out[max(0, py - radius):py + radius + 1, max(0, px - radius):px + radius + 1] = True
    return out


def _grow(mask: np.ndarray, px: int = 2) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.binary_dilation(mask, iterations=px) if mask.any() else mask


def _frac(mask: np.ndarray, within: np.ndarray) -> float:
    n = int(within.sum())
    return float((mask & within).sum()) / n if n else 0.0


def _common_stats(ev: Evidence, region, inside, outside) -> dict:
    view = ev.view
    n = int(inside.sum())
    stats: dict = {"pixels": n, "modality": ev.modality, "units": view.units}
    size = view.pixel_size_m()
    if size is not None:
        stats["pixel_size_m"] = float(math.sqrt(size[0] * size[1]))
        stats["area_m2"] = float(n * size[0] * size[1])
    if region is not None and region.kind != "point" and n >= 3:
        stats["elongation"] = elongation(inside)
    return stats


def _pct(x: float) -> str:
    """A fraction as a percentage that never shows a non-zero value as 0%."""
    if 0 < x < 0.005:
        return "<1%"
    return f"{100 * x:.0f}%"


def _largest_bright_blob_px(db: np.ndarray, inside: np.ndarray, threshold_db: float) -> int:
    """Pixels of the largest connected blob inside the region above ``threshold_db`` (after a 3x3 mean in
    linear power, which suppresses single-pixel speckle)."""
    from scipy import ndimage as ndi

    power = np.where(np.isfinite(db), 10 ** (db / 10.0), 0.0)
    smooth = 10 * np.log10(np.maximum(ndi.uniform_filter(power, 3), 1e-12))
    lab, n = ndi.label((smooth > threshold_db) & inside, structure=np.ones((3, 3)))
    return int(np.bincount(lab.ravel())[1:].max()) if n else 0


def _component_at(mask: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The connected components of ``mask`` that touch ``inside``."""
    from scipy import ndimage as ndi

    lab, _ = ndi.label(mask, structure=np.ones((3, 3)))
    ids = np.unique(lab[inside & mask])
    return np.isin(lab, ids[ids > 0])


# -- SAR ------------------------------------------------------------------------------------------
def _sar(ev: Evidence, region, inside, outside, stats):
    db = ev.primary
    relative = ev.view.units != "dB"
    stats["mean_db"] = band_mean(db, inside, "sar", db=True)
    sel = db[inside & np.isfinite(db)]
    stats["std_db"] = float(sel.std()) if sel.size else float("nan")
    stats["max_db"] = float(sel.max()) if sel.size else float("nan")
    water = ev.context_mask("water")
    stats["water_fraction"] = _frac(water, inside)
    if outside.any():
        # Bright pixels are judged against this prompt's own surroundings (a local CFAR-like test), so a
        # ship moored at a quay is still a bright target even where grounding's land rejection drops it.
        ring = db[outside & np.isfinite(db)]
        med = float(np.median(ring))
        sigma = 1.4826 * float(np.median(np.abs(ring - med))) or 1.0
        stats["surround_db"] = band_mean(db, outside, "sar", db=True)
        stats["surround_median_db"] = med
        stats["surround_water_fraction"] = _frac(water, outside)
        stats["bright_fraction"] = float(np.mean(sel > med + BRIGHT_SIGMAS * sigma)) if sel.size else 0.0
    else:
        from . import detectors

        ships = ev.mask("ship")
        stats["bright_fraction"] = _frac(ships, inside)
        stats["bright_targets"] = len(detectors.components(ships & inside, min_area=1))
    sea_context = stats.get("surround_water_fraction", stats["water_fraction"]) > 0.3 or \
        (not relative and stats.get("surround_median_db", 0.0) < SEA_DB)
    scores = {"water": stats["water_fraction"]}
    if not relative and stats["mean_db"] < SEA_DB:
        scores["water"] = max(scores["water"], float(np.clip((SEA_DB - stats["mean_db"]) / 3.0, 0, 1)))
    # A bright target: many bright pixels, or a power-averaged level far above the surroundings' median.
    contrast = stats["mean_db"] - stats.get("surround_median_db", stats["mean_db"])
    stats["contrast_db"] = float(contrast)
    target = max(min(1.0, 2.5 * stats["bright_fraction"]), float(np.clip((contrast - 6.0) / 8.0, 0, 1)))
    ship_sized = True
    if "pixel_size_m" in stats and "surround_median_db" in stats:
        blob_m2 = _largest_bright_blob_px(db, inside, stats["surround_median_db"] + 8.0) * stats["pixel_size_m"] ** 2
        stats["bright_blob_m2"] = float(blob_m2)
        ship_sized = blob_m2 <= MAX_SHIP_AREA_M2
    strong = (not relative) and stats["mean_db"] > -3.0
    scores["built-up"] = 0.0 if relative else float(np.clip((stats["mean_db"] + 6.0) / 6.0, 0, 1)) * (1 - target)
    if sea_context and ship_sized:
        scores["ship"] = target
    elif strong and not ship_sized:
        scores["built-up"] = max(scores["built-up"], target)  # a large, very bright blob: buildings, not a ship
    else:
        scores["bright target"] = target
    scores["land"] = max(0.0, 1.0 - max(scores.values()))
    if region is None:
        label = "water" if scores["water"] >= 0.5 else ("built-up" if strong else "land")
        scores[label] = max(scores[label], 0.5)
    else:
        label = max(scores, key=scores.get)
    unit = "dB" if not relative else "dB (relative to the 8-bit amplitude)"
    phrase = f"mean backscatter {stats['mean_db']:.1f} {unit}"
    if "surround_db" in stats:
        phrase += f" against {stats['surround_db']:.1f} around it"
    phrase += f"; {_pct(stats['bright_fraction'])} bright-target pixels, {_pct(stats['water_fraction'])} dark water-like pixels"
    if "bright_targets" in stats:
        phrase += f"; {stats['bright_targets']} bright target(s) such as ships (CFAR)"
    return scores, label, phrase


# -- thermal --------------------------------------------------------------------------------------
def _thermal(ev: Evidence, region, inside, outside, stats):
    t = ev.primary
    kelvin = ev.view.units == "K"
    sel = t[inside & np.isfinite(t)]
    stats["mean"] = float(sel.mean())
    stats["max"] = float(sel.max())
    if kelvin:
        stats["mean_c"] = stats["mean"] - 273.15
    hot = ev.mask("hot_spot")
    stats["hot_fraction"] = _frac(hot, inside)
    if outside.any():
        stats["surround_mean"] = float(np.nanmean(t[outside]))
        stats["contrast"] = stats["mean"] - stats["surround_mean"]
    spread = ev.spread
    z = stats.get("contrast", 0.0) / spread if spread else 0.0
    stats["contrast_sigma"] = float(z)
    object_like = stats["hot_fraction"] >= 0.1 or (region is not None and region.kind == "point" and hot[inside].any())
    scores = {"hot spot": min(1.0, 2.0 * stats["hot_fraction"]) if object_like else 0.0,
              "warm area": float(np.clip(z / 4.0, 0, 1)), "cool area": float(np.clip(-z / 4.0, 0, 1))}
    scores["background"] = max(0.0, 1.0 - max(scores.values()))
    label = max(scores, key=scores.get)
    if region is None:
        from . import detectors

        stats["hot_objects"] = len(detectors.components(hot, min_area=1))
        label = "thermal scene"
        scores[label] = 1.0
    elif label == "hot spot" and "area_m2" in stats:
        blob = _component_at(hot, inside)
        area = float(blob.sum()) * stats["area_m2"] / max(stats["pixels"], 1)
        kind = thermal_object_kind(area)
        if kind != "hot spot":
            scores[kind] = scores.pop("hot spot")
            label = kind
    elif region.kind != "point" and "area_m2" not in stats and not ev.satellite_thermal:
        kind, score = _frame_object(ev, inside, stats, sel)
        if kind is not None:
            scores[kind] = score
            label = kind
    unit = "K" if kelvin else "(relative brightness, hot = bright)"
    phrase = f"mean {stats['mean']:.1f} {unit}" + (f" ({stats['mean_c']:.1f} degC)" if kelvin else "")
    if "contrast" in stats:
        phrase += f", {stats['contrast']:+.1f} against its surroundings"
    phrase += f"; {_pct(stats['hot_fraction'])} of it in hot objects"
    if "hot_objects" in stats:
        phrase = f"{stats['hot_objects']} hot object(s); " + phrase
    return scores, label, phrase


def _frame_object(ev: Evidence, inside, stats, sel):
    """(``person`` / ``vehicle`` / None, score) for a prompt on a thermal frame without a pixel size.

    The prompt is an object when the warm-or-cold object detector covers ``OBJECT_COVER`` of it or its values
    span ``OBJECT_RANGE_SIGMAS`` robust sigmas (objects have structure; ground is flat). It is then named by its
    size relative to the whole frame (``PERSON_MAX_FRAME_FRACTION``): weak, as it assumes a UAV frame at
    roughly 60-130 m."""
    cover = _frac(ev.mask("person"), inside)
    span = float(np.percentile(sel, 98) - np.percentile(sel, 2)) / ev.spread if sel.size > 4 else 0.0
    stats["object_fraction"], stats["range_sigma"] = cover, span
    if cover < OBJECT_COVER and span < OBJECT_RANGE_SIGMAS:
        return None, 0.0
    view = ev.view
    scene = getattr(view, "scene", None)
    t = view.pixel_transform
    frame_px = float(scene.width * scene.height) if scene is not None else float(view.width * view.height)
    frac = float(inside.sum()) * abs(t.a * t.e) / frame_px
    stats["frame_fraction"] = frac
    score = float(max(min(1.0, cover / 0.5), min(1.0, span / (2 * OBJECT_RANGE_SIGMAS))))
    return ("person" if frac < PERSON_MAX_FRAME_FRACTION else "vehicle"), max(score, 0.5)


# -- optical --------------------------------------------------------------------------------------
def _optical(ev: Evidence, region, inside, outside, stats):
    for name, idx in ev.indices.items():
        vals = idx[inside & np.isfinite(idx)]
        if vals.size:
            stats[name] = float(vals.mean())
    stats["colour"] = _colour_name(ev, inside)
    scores = {}
    for key in OPTICAL_CLASSES:
        scores[LABELS.get(key, key)] = _frac(ev.mask(key), inside)
    top = max(scores, key=scores.get)
    label = top if scores[top] >= 0.3 else "mixed surface"
    if label == "mixed surface":
        scores[label] = 1.0 - scores[top]
    tree = _tree_score(ev, region, inside, stats, scores["vegetation"])
    if tree is not None:
        scores["tree"] = tree
        if region is not None and tree >= 0.5:
            label = "tree"
    if region is None:
        parts = [f"{_pct(v)} {k}" for k, v in sorted(scores.items(), key=lambda kv: -kv[1])
                 if v >= 0.02 and k not in ("mixed surface", "tree")]
        phrase = (", ".join(parts) or "no dominant cover class") + f"; overall {stats['colour']}"
        if stats.get("tree_crowns"):
            phrase += f"; {stats['tree_crowns']} tree crown(s)"
    elif label == "tree":
        n = stats["tree_crowns"]
        phrase = (f"{stats['colour']} in colour; {_pct(stats['crown_cover'])} of it in "
                  f"{'a tree crown' if n <= 1 else f'{n} tree crowns'}")
        if "crown_diameter_m" in stats:
            phrase += f" about {stats['crown_diameter_m']:.1f} m across"
    else:
        phrase = f"{stats['colour']} in colour; {_pct(scores[top])} {top} pixels"
    extra = [f"{k.upper()} {stats[k]:.2f}" for k in ("ndvi", "ndwi", "mndwi", "ndbi") if k in stats]
    if extra:
        phrase += " (" + ", ".join(extra) + ")"
    return scores, label, phrase


def _tree_score(ev: Evidence, region, inside, stats, vegetation: float) -> float | None:
    """Score of "a tree" for a prompt (None when crowns are not looked for), from the detected crowns.

    Crowns are looked for when the view resolves them, the prompt is mostly vegetation and no larger than a few
    of the largest plausible crowns. ``stats`` gets ``crown_cover`` (share of the prompt in crowns),
    ``tree_crowns`` (crowns under a point, or with most of their area inside the prompt; at least 1 when any
    crown is touched) and ``crown_diameter_m`` (equivalent diameter of the crown most inside the prompt)."""
    from .detectors_trees import MIN_RESOLVED_PX, crown_diameter_px

    view = ev.view
    size = view.pixel_size_m()
    prior = crown_diameter_px((view.height, view.width), size)
    n_in = int(inside.sum())
    if prior[1] < MIN_RESOLVED_PX or vegetation < TREE_MIN_VEGETATION:
        return None
    if region is None:
        stats["tree_crowns"] = int(ev.crowns[0].max())
        return None
    if n_in > TREE_MAX_CROWNS * math.pi / 4 * prior[1] ** 2:
        return None
    labels, inside = _crowns_around(ev, inside, prior)
    ids, counts = np.unique(labels[inside], return_counts=True)
    counts, ids = counts[ids > 0], ids[ids > 0]
    cover = float(counts.sum()) / max(n_in, 1)
    total = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
    mostly = counts / total[ids] >= 0.5
    n = int(mostly.sum()) if region.kind != "point" else len(ids)
    n = max(n, 1) if len(ids) else 0
    stats["crown_cover"], stats["tree_crowns"] = cover, n
    if len(ids) and size is not None:
        main = ids[int(np.argmax(counts))]  # the crown with most pixels in the prompt
        stats["crown_diameter_m"] = 2.0 * math.sqrt(float(total[main]) * size[0] * size[1] / math.pi)
    if n == 0:
        return 0.0
    return float(min(1.0, cover / TREE_COVER) * min(1.0, TREE_MAX_CROWNS / n))


def _crowns_around(ev: Evidence, inside, prior) -> tuple[np.ndarray, np.ndarray]:
    """(crown labels, prompt mask) on the prompt's bounding box grown by half the largest plausible crown: the
    crowns the prompt touches, for a fraction of the cost of the whole view (same size prior as the view)."""
    from . import detectors

    rows, cols = np.nonzero(inside)
    pad = math.ceil(prior[1] / 2)
    h, w = inside.shape
    y0, y1 = max(0, rows.min() - pad), min(h, rows.max() + 1 + pad)
    x0, x1 = max(0, cols.min() - pad), min(w, cols.max() + 1 + pad)
    if (y1 - y0) * (x1 - x0) >= 0.5 * h * w:
        return ev.crowns[0], inside
    bands = {k: v[y0:y1, x0:x1] for k, v in ev.bands.items()}
    labels = detectors.tree_crowns(bands, ev.valid[y0:y1, x0:x1], crown_px=prior)
    return labels, inside[y0:y1, x0:x1]


def _colour_name(ev: Evidence, inside) -> str:
    from matplotlib.colors import rgb_to_hsv

    rgb = ev.view.render()[inside].astype(float).mean(axis=0) / 255.0
    hue, sat, val = rgb_to_hsv(rgb[None, :])[0]
    if val < 0.2:
        return "dark"
    if sat < 0.15:
        return "white" if val > 0.8 else "grey"
    names = [(0.04, "red"), (0.11, "orange"), (0.18, "yellow"), (0.45, "green"), (0.55, "cyan"), (0.72, "blue"),
             (0.9, "purple"), (1.01, "red")]
    return next(n for limit, n in names if hue < limit)


# -- text -----------------------------------------------------------------------------------------
def _sentence(ev: Evidence, region, label: str, conf: float, phrase: str, stats: dict) -> str:
    view = ev.view
    if region is None:
        size = view.pixel_size_m()
        extent = ""
        if size is not None:
            extent = f" covering about {view.width * size[0] / 1000:.2f} x {view.height * size[1] / 1000:.2f} km"
        what = {"sar": "SAR backscatter", "infrared": "thermal infrared", "optical": "optical"}[ev.modality]
        article = "An" if what[0] in "aeiou" else "A"
        return f"{article} {what} scene of {view.width} x {view.height} px{extent}: {phrase}."
    where = "The point" if region.kind == "point" else "The prompted region"
    area = f" ({stats['area_m2']:,.0f} m2)" if "area_m2" in stats and region.kind != "point" else ""
    return f"{where}{area} is most likely {label} (confidence {conf:.2f}): {phrase}."


def _answer_instruction(instruction: str, modality: str, scores: dict) -> str:
    try:
        q = parse_query(instruction, modality)
    except QueryError:
        return " (The analytic backend answers with measurements only; it did not recognise a class in the instruction.)"
    label = q.target.label
    score = max((v for k, v in scores.items() if k == label or k.startswith(label)), default=0.0)
    verdict = "likely" if score >= 0.5 else ("possible" if score >= 0.2 else "unlikely")
    return f" Asked about {label}: {verdict} (score {score:.2f})."
