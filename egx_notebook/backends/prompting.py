"""What an RGB-trained vision-language model is shown and told, for every modality.

- :func:`render_for_model` turns a :class:`~egx_notebook.imagery.View` into an RGB image with the modality
  rendering of :mod:`egx_notebook.imagery.render` (SAR dB window in grey, thermal palette, optical stretch) and a
  sensible band choice for multi-band optical data (true colour when red/green/blue exist, else colour infrared),
  overridable with ``colour=`` or ``bands=``;
- :func:`modality_brief` writes what the model is looking at: sensor, polarisation or band, units, the display
  range, and what bright and dark mean for that sensor, plus the ground size of a pixel;
- :func:`draw_marker` draws the visual prompt on the image (box outline, point dot, scribble stroke, contour of a
  polygon or mask) in a colour that stands out on that rendering, and says in words what was drawn;
- the ``*_instruction`` functions assemble the text instructions for grounding, referring and scene questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Marker colours (name, RGB) per rendering: red on grey SAR and natural colour, cyan on the thermal palette
#: and on colour infrared (where vegetation is red).
MARKER_RED = ("red", (255, 0, 0))
MARKER_CYAN = ("cyan", (0, 255, 255))

NIR_NAMES = ("nir", "nir08", "b8", "b08", "b5_nir")


@dataclass
class ModelImage:
    """An RGB rendering for a model plus the words that explain it."""

    rgb: np.ndarray  # (h, w, 3) uint8
    colour: str  # "natural colour", "colour infrared", "grey", "thermal palette", "bands a, b, c"
    bands: tuple[str, ...]
    vmin: float | None
    vmax: float | None
    brief: str
    marker: tuple[str, tuple[int, int, int]]


def choose_bands(view, colour: str = "auto", bands=None):
    """The bands to render for a model: explicit ``bands`` win; for optical data ``colour="auto"`` gives natural
    colour when red, green and blue exist and colour infrared (NIR, red, green) otherwise when possible;
    ``"true"`` / ``"false"`` force one of them. Returns (bands or None for the default, a name for the choice)."""
    names = [n.lower() for n in view.band_names]
    if bands is not None:
        return bands, None
    if view.modality != "optical":
        return None, None
    nir = next((n for n in NIR_NAMES if n in names), None)
    has_true = all(c in names for c in ("red", "green", "blue"))
    has_false = nir is not None and all(c in names for c in ("red", "green"))
    if colour not in ("auto", "true", "false"):
        raise ValueError(f"colour must be 'auto', 'true' or 'false', not {colour!r}; or pass bands=(...)")
    if colour == "false" or (colour == "auto" and not has_true and has_false):
        if not has_false:
            raise ValueError(f"colour='false' needs NIR, red and green bands; this scene has {names}")
        return (nir, "red", "green"), "colour infrared"
    if colour == "true" and not has_true:
        raise ValueError(f"colour='true' needs red, green and blue bands; this scene has {names}")
    if has_true:
        return ("red", "green", "blue"), "natural colour"
    return None, None


def render_for_model(view, colour: str = "auto", bands=None) -> ModelImage:
    """Render ``view`` for an RGB-trained model and describe it (see the module docstring)."""
    chosen, choice = choose_bands(view, colour, bands)
    rendering = view.rendering(chosen)
    rgb = np.ascontiguousarray(rendering.rgb[..., :3])
    used = tuple(rendering.bands)
    if view.modality == "sar":
        choice = "grey"
    elif view.modality == "infrared":
        choice = "thermal palette" if rendering.cmap not in (None, "gray", "grey") else "grey"
    elif choice is None:
        choice = "grey" if len(used) == 1 else "bands " + ", ".join(used)
    marker = MARKER_CYAN if choice in ("thermal palette", "colour infrared") else MARKER_RED
    brief = modality_brief(view, choice, used, rendering.vmin, rendering.vmax)
    return ModelImage(rgb, choice, used, rendering.vmin, rendering.vmax, brief, marker)


def _pixel_size_text(view) -> str:
    try:
        size = view.pixel_size_m()
    except Exception:  # noqa: BLE001 - georeferencing problems must not stop a model call
        size = None
    if not size:
        return ""
    m = (abs(size[0]) + abs(size[1])) / 2
    return f" Each image pixel covers about {m:.3g} m on the ground."


def modality_brief(view, colour: str, bands: tuple[str, ...], vmin, vmax) -> str:
    """What the model is looking at, in two or three sentences (see the module docstring)."""
    units = view.units or ""
    size = _pixel_size_text(view)
    if view.modality == "sar":
        pol = bands[0].upper() if bands and bands[0].lower() in ("vv", "vh", "hh", "hv") else None
        pol_text = f"{pol} polarisation" if pol else "single polarisation"
        scale = "in decibels" if units.startswith("dB") else f"in {units or 'relative units'}"
        rng = (f", shown as grey levels from {vmin:.3g} {units} (black) to {vmax:.3g} {units} (white)"
               if vmin is not None and vmax is not None else ", shown as grey levels")
        return ("This is a synthetic aperture radar (SAR) image seen from above, not a photograph: radar "
                f"backscatter, {pol_text}, {scale}{rng}. Bright pixels are strong radar echoes (ships, buildings, "
                "metal structures, rough or steep surfaces); dark pixels are weak echoes (calm water, smooth "
                "surfaces such as roads or runways, radar shadow). The grainy texture is speckle noise, not detail."
                + size)
    if view.modality == "infrared":
        calibrated = units == "K"
        quantity = "surface (brightness) temperature in kelvin" if calibrated else \
            "relative thermal brightness (not calibrated to temperature)"
        if vmin is not None and vmax is not None:
            unit = " K" if calibrated else ""
            span = f" from {vmin:.4g}{unit} (coldest) to {vmax:.4g}{unit} (hottest)"
        else:
            span = ""
        palette = ("with a black-purple-orange-yellow palette" if colour == "thermal palette"
                   else "as grey levels (black cold, white hot)")
        return (f"This is a thermal infrared image seen from above, not a photograph: {quantity}, shown {palette}"
                f"{span}. Bright or yellow means warm (people, animals, running engines, fires, sunlit roofs and "
                "roads); dark means cold (water, shaded ground, vegetation at night, sky)." + size)
    if colour == "natural colour":
        text = ("This is an optical remote-sensing image seen from above, in natural colour (red, green and blue "
                "bands).")
    elif colour == "colour infrared":
        text = ("This is an optical remote-sensing image seen from above, in false colour (colour infrared): "
                "near-infrared is shown as red, red as green and green as blue, so healthy vegetation looks bright "
                "red, water dark blue or black, and bare or built-up ground cyan to grey.")
    elif colour == "grey":
        text = (f"This is a single-band optical remote-sensing image seen from above ({bands[0] if bands else 'band'}"
                "), shown in grey: bright means high reflectance.")
    else:
        text = (f"This is an optical remote-sensing image seen from above, showing {', '.join(bands)} as red, "
                "green and blue.")
    return text + size


# ---------------------------------------------------------------------------------------------- markers
def _line_width(shape) -> int:
    return max(2, int(round(min(shape[:2]) / 150)))


def draw_marker(rgb: np.ndarray, region, colour=MARKER_RED, width: int | None = None) -> tuple[np.ndarray, str]:
    """A copy of ``rgb`` with ``region`` (a :class:`~egx_notebook.prompts.Region` on this image's grid) drawn on it,
    and the words for it: a rectangle outline for a box, a filled dot for a point, the stroke for a scribble and an
    outline that traces the shape for a polygon or mask (never reduced to a box)."""
    from PIL import Image, ImageDraw

    name, value = colour
    h, w = rgb.shape[:2]
    lw = width or _line_width(rgb.shape)
    if region.kind == "point":
        img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
        draw = ImageDraw.Draw(img)
        x, y = region.center
        r = max(3, 2 * lw)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(value), outline=(0, 0, 0), width=1)
        return np.asarray(img), f"a {name} dot"
    if region.kind == "box":
        from ..prompts.region import box_pixels

        c0, r0, c1, r1 = box_pixels(region.bounds)
        img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
        ImageDraw.Draw(img).rectangle([max(c0, 0), max(r0, 0), min(c1, w) - 1, min(r1, h) - 1],
                                      outline=tuple(value), width=lw)
        return np.asarray(img), f"a {name} rectangle outline"
    mask = region.mask()
    out = np.array(rgb[..., :3], copy=True)
    if _is_scribble(region):
        out[mask] = value
        return out, f"a {name} stroke drawn over it"
    out[contour(mask, lw)] = value
    return out, f"a {name} outline that traces its shape"


def _is_scribble(region) -> bool:
    prompt = getattr(region, "prompt", None)
    return bool(getattr(prompt, "is_scribble", False))


def contour(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """The inner boundary band of ``mask``, ``width`` pixels wide (the whole mask when it is thinner)."""
    from scipy import ndimage

    if not mask.any():
        return mask
    inner = ndimage.binary_erosion(mask, iterations=width, border_value=0)
    return mask & ~inner


def dim_outside(rgb: np.ndarray, mask: np.ndarray, window, factor: float = 0.35) -> np.ndarray:
    """A copy of ``rgb`` where the pixels of ``window = (x0, y0, x1, y1)`` outside ``mask`` are darkened: the model is
    pointed at a box, and only the shape inside it stays bright (how a free-form prompt reaches a box-only model)."""
    out = np.array(rgb[..., :3], copy=True)
    x0, y0, x1, y1 = window
    sub = out[y0:y1, x0:x1]
    outside = ~mask[y0:y1, x0:x1]
    sub[outside] = (sub[outside].astype(np.float32) * factor).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------------------- instructions
def grounding_instruction(brief: str, query: str, coordinates: str, box_key: str = "bbox_2d") -> str:
    """Ask for every instance of ``query`` as a JSON list of boxes (``coordinates`` says what the numbers mean)."""
    return (f"{brief}\nFind every instance of: \"{query}\".\n"
            f"Report them as a JSON list [{{\"{box_key}\": [x1, y1, x2, y2], \"label\": \"<name>\"}}, ...] where the "
            f"numbers are {coordinates}. Give only the JSON. Answer [] if there is none.")


def referring_instruction(brief: str, marker: str, coordinates: str, question: str | None = None) -> str:
    """Ask what is inside the marked region (or ``question`` about it); answer as JSON label + description."""
    ask = (f"Question about the marked region: {question.strip()}\n"
           "Reply with JSON {\"label\": \"<short answer or name, one to three words>\", "
           "\"description\": \"<your full answer>\"}.") if question else (
        "What is in the marked region?\nReply with JSON {\"label\": \"<what it is, one to three words>\", "
        "\"description\": \"<one or two sentences about the region and its surroundings>\"}.")
    return f"{brief}\nThe region of interest is marked on the image with {marker}; {coordinates}.\n{ask}"


def scene_instruction(brief: str, question: str | None = None, context: str | None = None) -> str:
    """Scene-level description or a free question about the whole image (optionally with a context image)."""
    ctx = f"\n{context}" if context else ""
    ask = (f"Question: {question.strip()}\nReply with JSON {{\"label\": \"<short answer, one to three words>\", "
           "\"description\": \"<your full answer>\"}.") if question else (
        "Describe this scene: the land cover, objects and structures you see, and where they are.\n"
        "Reply with JSON {\"label\": \"<the scene type, one to three words>\", "
        "\"description\": \"<two or three sentences>\"}.")
    return f"{brief}{ctx}\n{ask}"
