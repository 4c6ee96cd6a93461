"""Tolerant parsers for what vision-language models write: boxes, points, polygons, labels.

Real model output is messy: prose around the answer, Markdown code fences, single quotes, trailing commas,
JSON cut off by the token limit, corners in the wrong order, coordinates past the image edge. The parsers here
take any string and **never raise**: every usable item becomes a :class:`ParsedItem` in view pixels (through the
model's codec, :mod:`egx_notebook.backends.codecs`), every unusable one is dropped and counted by reason in
:attr:`ParseResult.dropped`, and every repair (swapped corners, clipping) is counted in :attr:`ParseResult.fixed`.
``ParseResult.diagnostics()`` is what backends put into a result's ``diagnostics`` (with the raw text).
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field

from .codecs import Codec

#: Keys models use for a box, a point, and a label in JSON answers.
BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box", "bounding_box", "bndbox", "xyxy", "coordinates")
POINT_KEYS = ("point_2d", "point", "points", "center", "xy")
LABEL_KEYS = ("label", "name", "category", "class", "object", "text", "phrase", "description")


@dataclass
class ParsedItem:
    """One object from model text, in view pixels: a box, and optionally a point, a polygon or an angle."""

    box: tuple[float, float, float, float]
    label: str = ""
    point: tuple[float, float] | None = None
    polygon: list[tuple[float, float]] | None = None
    score: float | None = None
    angle: float | None = None


@dataclass
class ParseResult:
    """What a parser found (``items``), what it dropped and repaired (counts by reason), and the raw text."""

    raw: str
    items: list[ParsedItem] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    fixed: Counter = field(default_factory=Counter)

    def diagnostics(self) -> dict:
        return {"raw": self.raw, "parsed": len(self.items), "dropped": dict(self.dropped), "fixed": dict(self.fixed)}


def _safe(parser):
    """Decorator: a parser that meets something unforeseen returns what it has, with a ``parser_error`` count."""

    def wrapper(text, *args, **kwargs):
        raw = text if isinstance(text, str) else ("" if text is None else str(text))
        result = ParseResult(raw)
        try:
            parser(raw, result, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - model output must never crash the caller
            result.dropped["parser_error"] += 1
            result.dropped[f"parser_error:{type(exc).__name__}"] += 1
        return result

    wrapper.__name__ = parser.__name__
    wrapper.__doc__ = parser.__doc__
    return wrapper


# ---------------------------------------------------------------------------------------------- text cleanup
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\s*\n?(.*?)(?:```|$)", re.S)
_SPECIAL = re.compile(r"<\|?(?:im_end|im_start|endoftext|box_start|box_end|object_ref_start|object_ref_end|"
                      r"quad_start|quad_end)\|?>|</?s>|<pad>")


def strip_fences(text: str) -> str:
    """The contents of Markdown code fences when there are any (all of them, joined), else the text."""
    blocks = [m.group(1) for m in _FENCE.finditer(text)]
    return "\n".join(blocks) if blocks else text


def clean_text(text: str) -> str:
    """Text with chat/special tokens (``<|im_end|>``, ``</s>``, ...) removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", _SPECIAL.sub(" ", text)).strip()


def _number(v) -> float | None:
    """A finite float from a number or a numeric string, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
    elif isinstance(v, str):
        try:
            f = float(v.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


# ---------------------------------------------------------------------------------------------- JSON recovery
def _balanced_spans(text: str, opener: str, closer: str) -> list[tuple[int, int | None]]:
    """Top-level ``opener ... closer`` spans, respecting quoted strings; an unclosed span ends with ``None``."""
    spans, depth, start, quote, escape = [], 0, None, None, False
    for i, ch in enumerate(text):
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'" and depth > 0:
            quote = ch
        elif ch == opener:
            if depth == 0:
                start = i
            depth += 1
        elif ch == closer and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    if depth > 0 and start is not None:
        spans.append((start, None))
    return spans


def _loads(fragment: str):
    """``json.loads`` with repairs: trailing commas, Python literals (single quotes, True/None). Raises on failure."""
    try:
        return json.loads(fragment)
    except (ValueError, RecursionError):
        pass
    repaired = re.sub(r",\s*([}\]])", r"\1", fragment)
    try:
        return json.loads(repaired)
    except (ValueError, RecursionError):
        pass
    if len(repaired) > 100_000:
        raise ValueError("fragment too long for literal_eval")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. invalid escape sequences in model text
        return ast.literal_eval(repaired.replace("null", "None").replace("true", "True").replace("false", "False"))


def extract_json(text: str, counts: Counter | None = None) -> list:
    """JSON values found in ``text`` (code fences first, then bare spans in prose), most complete first.

    A whole array or object is preferred; when it does not parse (e.g. cut off by the token limit) the complete
    objects inside it are recovered one by one and the cut-off tail is counted as ``truncated``."""
    counts = counts if counts is not None else Counter()
    body = strip_fences(text)
    try:
        value = _loads(body.strip())
        if isinstance(value, (list, dict)):
            return [value]
    except Exception:  # noqa: BLE001
        pass
    values = []
    for opener, closer in (("[", "]"), ("{", "}")):
        for start, end in _balanced_spans(body, opener, closer):
            if end is None:
                if opener == "{":
                    counts["truncated"] += 1
                continue
            try:
                value = _loads(body[start:end])
            except Exception:  # noqa: BLE001
                if opener == "{":
                    counts["bad_json"] += 1
                continue
            if isinstance(value, (list, dict)):
                values.append(value)
        if values:
            return values
    return values


def _walk_objects(value):
    """Every dict in a JSON value, and bare numeric lists of length 4 (boxes) as ``{"bbox": [...]}``."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            if isinstance(v, (list, dict)) and not _is_numeric_list(v):
                yield from _walk_objects(v)
    elif isinstance(value, list):
        if _is_numeric_list(value) and len(value) in (4, 5):
            yield {"bbox": value}
        else:
            for v in value:
                yield from _walk_objects(v)


def _is_numeric_list(v) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(_number(x) is not None for x in v)


# ---------------------------------------------------------------------------------------------- sanitising
def _finish_box(codec: Codec, box, result: ParseResult, clip: bool = True):
    """Order the corners, clip to the image; None (counted) when nothing of the box is left."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        result.dropped["not_finite"] += 1
        return None
    if x0 > x1 or y0 > y1:
        result.fixed["swapped"] += 1
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
    if clip:
        w, h = codec.width, codec.height
        c = (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))
        if c != (x0, y0, x1, y1):
            if c[2] <= c[0] or c[3] <= c[1]:
                result.dropped["outside_image"] += 1
                return None
            result.fixed["clipped"] += 1
            x0, y0, x1, y1 = c
    if x1 <= x0 or y1 <= y0:
        result.dropped["empty_box"] += 1
        return None
    return x0, y0, x1, y1


def _finish_point(codec: Codec, pt, result: ParseResult):
    x, y = (float(v) for v in pt)
    if not (math.isfinite(x) and math.isfinite(y)):
        result.dropped["not_finite"] += 1
        return None
    if not (0 <= x <= codec.width and 0 <= y <= codec.height):
        result.dropped["outside_image"] += 1
        return None
    return min(x, codec.width - 1e-6), min(y, codec.height - 1e-6)


def point_box(codec: Codec, pt) -> tuple[float, float, float, float]:
    """The one-unit box around a point (a point has no extent; its box is the codec's grid cell)."""
    ux, uy = codec.unit
    x, y = pt
    return (max(0.0, x - ux / 2), max(0.0, y - uy / 2), min(codec.width, x + ux / 2), min(codec.height, y + uy / 2))


def _label_of(obj: dict) -> str:
    for k in LABEL_KEYS:
        v = obj.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _score_of(obj: dict) -> float | None:
    for k in ("score", "confidence", "conf", "probability"):
        v = _number(obj.get(k))
        if v is not None:
            return v / 100.0 if v > 1.0 else v
    return None


# ---------------------------------------------------------------------------------------------- JSON boxes (Qwen, ...)
_QWEN2_BOX = re.compile(r"(?:<\|object_ref_start\|>(?P<label>.*?)<\|object_ref_end\|>\s*)?<\|box_start\|>\s*"
                        r"\(\s*(?P<a>-?[\d.]+)\s*,\s*(?P<b>-?[\d.]+)\s*\)\s*,\s*\(\s*(?P<c>-?[\d.]+)\s*,\s*"
                        r"(?P<d>-?[\d.]+)\s*\)\s*(?:<\|box_end\|>)?", re.S)
_BARE_BOX = re.compile(r"\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*"
                       r"(-?\d+(?:\.\d+)?)\s*\]")
_INTERNVL_BOX = re.compile(r"(?:<ref>(?P<label>.*?)</ref>\s*)?<box>\s*\[\[(?P<nums>[^\]]*)\]\]\s*</box>", re.S)


@_safe
def parse_boxes_json(text: str, result: ParseResult, codec: Codec, default_label: str = "") -> None:
    """Boxes and points from a JSON-style answer (Qwen2.5-VL / Qwen3-VL ``[{"bbox_2d": [...], "label": ...}]``,
    ``point_2d``, InternVL ``<ref>..</ref><box>[[..]]</box>``, Qwen2-VL ``<|box_start|>(x1,y1),(x2,y2)``), in any
    prose, fenced or truncated. Numbers are in ``codec``'s convention; items come back in view pixels."""
    # Token formats first: their numbers are inside brackets that would also read as bare JSON lists.
    found = False
    for m in _QWEN2_BOX.finditer(text):
        found = True
        _add_box(result, codec, [m["a"], m["b"], m["c"], m["d"]], (m["label"] or default_label).strip())
    for m in _INTERNVL_BOX.finditer(text):
        found = True
        nums = [n for n in re.split(r"[,\s]+", m["nums"].strip()) if n]
        _add_box(result, codec, nums[:4], (m["label"] or default_label).strip())
    if found:
        return
    for value in extract_json(text, result.dropped):
        for obj in _walk_objects(value):
            item = _item_from_object(obj, codec, result, default_label)
            if item is not None:
                result.items.append(item)
                found = True
    if not found:
        for m in _BARE_BOX.finditer(strip_fences(text)):
            _add_box(result, codec, list(m.groups()), default_label)


def _add_box(result: ParseResult, codec: Codec, nums, label: str) -> None:
    values = [_number(v) for v in nums]
    if len(values) != 4 or any(v is None for v in values):
        result.dropped["bad_numbers"] += 1
        return
    box = _finish_box(codec, codec.box_from_model(values), result)
    if box is not None:
        result.items.append(ParsedItem(box, label))


def _item_from_object(obj: dict, codec: Codec, result: ParseResult, default_label: str):
    label = _label_of(obj) or default_label
    score = _score_of(obj)
    for key in BOX_KEYS:
        if key in obj:
            raw = obj[key]
            if isinstance(raw, dict):  # {"x1":..,"y1":..} / {"xmin":..}
                raw = [raw.get(k, raw.get(k2)) for k, k2 in (("x1", "xmin"), ("y1", "ymin"), ("x2", "xmax"),
                                                              ("y2", "ymax"))]
            if isinstance(raw, str):
                raw = re.findall(r"-?\d+(?:\.\d+)?", raw)
            if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list):
                raw = raw[0]
            values = [_number(v) for v in raw] if isinstance(raw, list) else []
            if len(values) < 4 or any(v is None for v in values[:4]):
                result.dropped["bad_box"] += 1
                return None
            box = _finish_box(codec, codec.box_from_model(values[:4]), result)
            if box is None:
                return None
            angle = values[4] if len(values) > 4 else None
            return ParsedItem(box, label, score=score, angle=angle)
    for key in POINT_KEYS:
        if key in obj:
            raw = obj[key]
            if isinstance(raw, list) and raw and isinstance(raw[0], list):
                raw = raw[0]
            values = [_number(v) for v in raw] if isinstance(raw, list) else []
            if len(values) < 2 or any(v is None for v in values[:2]):
                result.dropped["bad_point"] += 1
                return None
            pt = _finish_point(codec, codec.point_from_model(values[:2]), result)
            if pt is None:
                return None
            return ParsedItem(point_box(codec, pt), label, point=pt, score=score)
    if any(k in obj for k in LABEL_KEYS) and len(obj) <= 3:
        result.dropped["no_coordinates"] += 1
    return None


# ---------------------------------------------------------------------------------------------- Florence-2
_FLORENCE_TOKEN = re.compile(r"<loc_(\d+)>|<poly>|</poly>|<sep>|([^<]+|<(?!loc_|poly>|/poly>|sep>))")


@_safe
def parse_florence(text: str, result: ParseResult, codec: Codec, default_label: str = "",
                   polygons: bool = False) -> None:
    """Florence-2 answers: ``label<loc_x1><loc_y1><loc_x2><loc_y2>...`` (OD, phrase grounding, open-vocabulary
    detection; a label may be followed by several boxes) and ``label<poly><loc_x><loc_y>...</poly>`` polygons.
    With ``polygons=True`` (referring segmentation) bare ``<loc_x><loc_y>...`` runs separated by ``<sep>`` are
    polygons too. Each polygon item gets its bounding box as ``box``."""
    body = re.sub(r"<(?!loc_\d+>|/?poly>|sep>)[^<>]{0,30}>", " ", text)
    label, locs, groups, in_poly = default_label, [], [], False  # groups: (label, [loc ints], is_polygon)

    def flush():
        if locs:
            groups.append((label, list(locs), in_poly or polygons))
            locs.clear()

    for m in _FLORENCE_TOKEN.finditer(body):
        token = m.group(0)
        if m.group(1) is not None:
            locs.append(int(m.group(1)))
        elif token in ("<poly>", "</poly>", "<sep>"):
            flush()
            in_poly = token == "<poly>" or (token == "<sep>" and in_poly)
        else:
            words = m.group(2).strip() if m.group(2) else ""
            if words:
                flush()
                label = words
    flush()
    for lab, nums, is_polygon in groups:
        if any(n > 999 for n in nums):
            result.dropped["loc_out_of_range"] += 1
            nums = [min(n, 999) for n in nums]
        if is_polygon:
            if len(nums) % 2:
                result.dropped["odd_coordinate"] += 1
                nums = nums[:-1]
            if len(nums) < 6:
                result.dropped["short_polygon"] += 1
                continue
            pts = [codec.point_from_model(nums[i:i + 2]) for i in range(0, len(nums), 2)]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            box = _finish_box(codec, (min(xs), min(ys), max(xs), max(ys)), result)
            if box is not None:
                result.items.append(ParsedItem(box, lab or default_label, polygon=pts))
            continue
        if len(nums) % 4:
            result.dropped["incomplete_box"] += 1
        for i in range(0, len(nums) - len(nums) % 4, 4):
            box = _finish_box(codec, codec.box_from_model(nums[i:i + 4]), result)
            if box is not None:
                result.items.append(ParsedItem(box, lab or default_label))


def florence_text(text: str) -> str:
    """Plain text of a Florence-2 answer: special tokens and location tokens removed."""
    return clean_text(re.sub(r"<loc_\d+>|</?poly>|<sep>", " ", text))


# ---------------------------------------------------------------------------------------------- PaliGemma
_PALI = re.compile(r"((?:<loc\d{4}>){4})\s*((?:<seg\d{3}>)*)\s*([^;<]*)")


@_safe
def parse_paligemma(text: str, result: ParseResult, codec: Codec, default_label: str = "") -> None:
    """PaliGemma ``detect``/``segment`` answers: ``<loc0123><loc0456><loc0789><loc1000> label ; ...``
    (y1 x1 y2 x2, 1024 bins). Segmentation codes are ignored (their decoder is not part of transformers)."""
    for m in _PALI.finditer(text):
        nums = [int(v) for v in re.findall(r"<loc(\d{4})>", m.group(1))]
        if any(n > 1023 for n in nums):
            result.dropped["loc_out_of_range"] += 1
            continue
        box = _finish_box(codec, codec.box_from_model(nums), result)
        if box is not None:
            result.items.append(ParsedItem(box, m.group(3).strip() or default_label))
    leftover = re.sub(r"(?:<loc\d{4}>){4}", "", text)
    if re.search(r"<loc\d{4}>", leftover):
        result.dropped["incomplete_box"] += 1


# ---------------------------------------------------------------------------------------------- GeoChat / EarthDial
_GEOCHAT = re.compile(r"(?:<p>(?P<label>[^<]*)</p>\s*)?(?P<boxes>(?:\{[^{}]*\}\s*)+)")
_GEOCHAT_BOX = re.compile(r"\{\s*<\s*(-?[\d.]+)\s*>\s*<\s*(-?[\d.]+)\s*>\s*<\s*(-?[\d.]+)\s*>\s*<\s*(-?[\d.]+)\s*>"
                          r"\s*(?:\|\s*<?\s*(-?[\d.]+)\s*>?\s*)?\}")
_EARTHDIAL = re.compile(r"(?:<ref>(?P<label>[^<]*)</ref>\s*)?<box>\s*(?P<nums>\[\[.*?\]\])\s*</box>", re.S)


@_safe
def parse_geochat(text: str, result: ParseResult, codec: Codec, default_label: str = "") -> None:
    """GeoChat ``<p>ship</p>{<10><20><30><40>|<0>}{...}`` and EarthDial ``<box>[[x1, y1, x2, y2, theta]]</box>``
    answers (integers 0-100). The angle is kept in ``ParsedItem.angle``; the box is the unrotated one."""
    for m in _GEOCHAT.finditer(text):
        label = (m["label"] or default_label).strip()
        for b in _GEOCHAT_BOX.finditer(m["boxes"]):
            _add_angled(result, codec, b.groups(), label)
        bad = len(re.findall(r"\{", m["boxes"])) - len(_GEOCHAT_BOX.findall(m["boxes"]))
        if bad > 0:
            result.dropped["bad_box"] += bad
    for m in _EARTHDIAL.finditer(text):
        label = (m["label"] or default_label).strip()
        for group in re.findall(r"\[([^\[\]]*)\]", m["nums"]):
            nums = [n for n in re.split(r"[,\s]+", group.strip()) if n]
            _add_angled(result, codec, (nums + [None])[:5] if len(nums) >= 4 else nums, label)


def _add_angled(result, codec, nums, label):
    values = [_number(v) for v in nums[:4]]
    if len(values) != 4 or any(v is None for v in values):
        result.dropped["bad_numbers"] += 1
        return
    angle = _number(nums[4]) if len(nums) > 4 and nums[4] is not None else None
    box = _finish_box(codec, codec.box_from_model(values), result)
    if box is not None:
        result.items.append(ParsedItem(box, label, angle=angle))


# ---------------------------------------------------------------------------------------------- Kosmos-2
_KOSMOS = re.compile(r"(?:<phrase>(?P<label>[^<]*)</phrase>\s*)?<object>(?P<body>.*?)</object>", re.S)


@_safe
def parse_kosmos2(text: str, result: ParseResult, codec: Codec, default_label: str = "") -> None:
    """Kosmos-2 ``<phrase>a ship</phrase><object><patch_index_0044><patch_index_0863></object>`` (several boxes
    in one object are separated by ``</delimiter_of_multi_objects/>``)."""
    grid_cells = getattr(codec, "grid", 32) ** 2
    for m in _KOSMOS.finditer(text):
        label = (m["label"] or default_label).strip()
        idx = [int(v) for v in re.findall(r"<patch_index_(\d+)>", m["body"])]
        if len(idx) % 2:
            result.dropped["incomplete_box"] += 1
        for i in range(0, len(idx) - len(idx) % 2, 2):
            if idx[i] >= grid_cells or idx[i + 1] >= grid_cells:
                result.dropped["patch_out_of_range"] += 1
                continue
            box = _finish_box(codec, codec.box_from_model(idx[i:i + 2]), result)
            if box is not None:
                result.items.append(ParsedItem(box, label))


# ---------------------------------------------------------------------------------------------- EarthGPT / LLaVA
_FLOAT_BOX = re.compile(r"\[\s*(-?\d*\.?\d+)\s*,\s*(-?\d*\.?\d+)\s*,\s*(-?\d*\.?\d+)\s*,\s*(-?\d*\.?\d+)\s*\]")


@_safe
def parse_normalised_boxes(text: str, result: ParseResult, codec: Codec, default_label: str = "") -> None:
    """EarthGPT / LLaVA-1.5 style ``[0.12, 0.30, 0.45, 0.61]`` boxes (fractions of the padded square) in prose;
    the nearest preceding words (up to 4) become the label."""
    for m in _FLOAT_BOX.finditer(text):
        values = [_number(v) for v in m.groups()]
        if any(v is None for v in values):
            result.dropped["bad_numbers"] += 1
            continue
        if any(v > 1.0 + 1e-9 or v < -1e-9 for v in values):
            result.fixed["out_of_range"] += 1
        before = re.findall(r"[A-Za-z][A-Za-z -]*", text[max(0, m.start() - 40):m.start()])
        label = " ".join(before[-1].split()[-4:]) if before else default_label
        box = _finish_box(codec, codec.box_from_model(values), result)
        if box is not None:
            result.items.append(ParsedItem(box, label or default_label))


# ---------------------------------------------------------------------------------------------- referring answers
@dataclass
class ReferringAnswer:
    """A referring answer split into a short ``label`` and a ``text`` description, with diagnostics."""

    label: str
    text: str
    diagnostics: dict


_LABEL_LINE = re.compile(r"^\s*(?:\*\*)?(?:label|category|class|object)(?:\*\*)?\s*[:=-]\s*(.+)$", re.I | re.M)
_DESC_LINE = re.compile(r"^\s*(?:\*\*)?(?:description|answer|caption)(?:\*\*)?\s*[:=-]\s*(.+)$", re.I | re.M)


def parse_referring(text, fallback_label: str = "unknown") -> ReferringAnswer:
    """Label and description from a referring answer: JSON ``{"label": .., "description": ..}`` (fenced, in prose,
    or truncated), ``Label: ..`` / ``Description: ..`` lines, or plain prose (then the label is the answer itself
    when it is at most four words, else ``fallback_label``). Never raises."""
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    diag = {"raw": raw, "dropped": {}, "fixed": {}}
    try:
        counts = Counter()
        label = desc = ""
        for value in extract_json(raw, counts):
            for obj in _walk_objects(value):
                label = label or _label_of({k: v for k, v in obj.items() if k != "description"})
                for k in ("description", "answer", "caption", "text", "reason"):
                    if isinstance(obj.get(k), str) and obj[k].strip() and not desc:
                        desc = obj[k].strip()
            if label or desc:
                break
        if not (label or desc):
            m, d = _LABEL_LINE.search(raw), _DESC_LINE.search(raw)
            label = m.group(1).strip().strip("*\"' .") if m else ""
            desc = d.group(1).strip() if d else ""
            if counts.get("truncated"):
                m2 = re.search(r'"(?:label|category|class)"\s*:\s*"([^"]+)"', raw)
                label = label or (m2.group(1) if m2 else "")
                d2 = re.search(r'"(?:description|answer)"\s*:\s*"([^"]*)', raw)
                desc = desc or (d2.group(1).strip() if d2 else "")
        plain = clean_text(strip_fences(raw))
        if not desc:
            desc = plain if not (label and plain.lower().startswith("label")) else ""
        if not label:
            words = re.sub(r"[^\w\s-]", " ", desc).split()
            if 0 < len(words) <= 4:
                label = " ".join(words).lower()
            else:
                label = fallback_label
                diag["dropped"]["label_missing"] = 1
        label = clean_text(label)[:80] or fallback_label
        desc = clean_text(desc) or label
        diag["dropped"].update({k: v for k, v in counts.items()})
        return ReferringAnswer(label, desc, diag)
    except Exception as exc:  # noqa: BLE001
        diag["dropped"]["parser_error"] = 1
        diag["dropped"][f"parser_error:{type(exc).__name__}"] = 1
        return ReferringAnswer(fallback_label, clean_text(raw) or fallback_label, diag)
