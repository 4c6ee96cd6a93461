"""Coordinate codecs: how each model family writes boxes and points, and back to pixels.

Every family speaks its own coordinates. A codec is bound to the image the model is shown (``size = (width,
height)`` in view pixels, plus whatever else the convention needs) and converts exactly in both directions:

- ``box_to_model(box)`` / ``box_from_model(values)``: pixel box ``(x0, y0, x1, y1)`` (half-open, floats) <->
  the model's numbers (in the model's own order, e.g. y before x for PaliGemma);
- ``point_to_model(point)`` / ``point_from_model(values)``: pixel point ``(x, y)`` <-> the model's numbers;
- ``format_box(values)`` / ``format_point(values)``: the model's numbers as the text the model reads and writes.

The functions are pure (no state, no I/O) and the round trip ``box_from_model(box_to_model(b))`` is within one
unit of the codec's grid (``unit`` = pixels per model unit along x and y). Parsing model text into numbers lives in
:mod:`egx_notebook.backends.parsing`; clipping and swapped corners are handled there, not here.

Conventions (sources: transformers 5 processors and model cards, the models' papers and evaluation code):

============================  =================================================================================
``qwen2.5-vl``                absolute pixels of the image *after* the processor's resize (``resized`` size)
``qwen3-vl`` / ``internvl``   integers 0-1000 relative to width / height (also Qwen2-VL)
``florence2``                 ``<loc_0>`` .. ``<loc_999>``: 1000 bins, ``floor``; decoded at the bin centre
``paligemma``                 ``<loc0000>`` .. ``<loc1023>`` in **y, x** order; value / 1024 * size
``geochat`` / ``earthdial``   ``{<x1><y1><x2><y2>|theta}`` integers 0-100, theta in degrees
``kosmos2``                   32 x 32 grid: ``<patch_index_NNNN>`` of the top-left and bottom-right cells
``earthgpt``                  floats in [0, 1] of the image centre-padded to a square
============================  =================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Box = tuple[float, float, float, float]
PointXY = tuple[float, float]


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def _floor_bin(v: float, size: float, bins: int) -> int:
    """Bin index of pixel coordinate ``v`` on an axis of ``size`` pixels split into ``bins`` equal bins."""
    return int(_clamp(math.floor(v / size * bins), 0, bins - 1))


def _round_scale(v: float, size: float, scale: float) -> int:
    """``v / size * scale`` rounded to the nearest integer and clamped to ``[0, scale]``."""
    return int(_clamp(round(v / size * scale), 0, scale))


@dataclass(frozen=True)
class Codec:
    """Base class: a coordinate convention bound to an image of ``size = (width, height)`` view pixels."""

    size: tuple[float, float]
    name = "codec"

    @property
    def width(self) -> float:
        return float(self.size[0])

    @property
    def height(self) -> float:
        return float(self.size[1])

    @property
    def unit(self) -> tuple[float, float]:
        """Pixels per model unit along x and y (the grid the round trip is exact to)."""
        raise NotImplementedError

    # Most conventions encode each corner independently: a subclass gives ``_to(x, y)`` (view pixels -> the
    # model's pair, in the model's order) and ``_from(a, b)`` (the inverse); boxes and points follow from them.
    def _to(self, x: float, y: float) -> tuple:
        raise NotImplementedError

    def _from(self, a, b) -> PointXY:
        raise NotImplementedError

    def box_to_model(self, box: Box) -> tuple:
        return self._to(box[0], box[1]) + self._to(box[2], box[3])

    def box_from_model(self, values) -> Box:
        return self._from(values[0], values[1]) + self._from(values[2], values[3])

    def point_to_model(self, point: PointXY) -> tuple:
        return self._to(*point)

    def point_from_model(self, values) -> PointXY:
        return self._from(values[0], values[1])

    def format_box(self, values) -> str:
        return "[" + ", ".join(_num(v) for v in values) + "]"

    def format_point(self, values) -> str:
        return self.format_box(values)

    def describe(self) -> str:
        """One sentence for instructions: what the numbers mean."""
        raise NotImplementedError


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{float(v):g}"


# ---------------------------------------------------------------------------------------------- Qwen2.5-VL
@dataclass(frozen=True)
class Qwen25Codec(Codec):
    """Qwen2.5-VL: absolute integer pixels of the image as resized by the processor (``resized = (W', H')``,
    from ``image_grid_thw * patch_size``). A box in the view image maps by ``x * W' / W``."""

    resized: tuple[int, int] = (0, 0)
    name = "qwen2.5-vl"

    def __post_init__(self):
        if self.resized[0] <= 0 or self.resized[1] <= 0:
            raise ValueError("Qwen25Codec needs the resized image size (width, height) from the processor")

    @property
    def unit(self):
        return self.width / self.resized[0], self.height / self.resized[1]

    def _to(self, x, y):
        rw, rh = self.resized
        return (int(_clamp(round(x * rw / self.width), 0, rw)), int(_clamp(round(y * rh / self.height), 0, rh)))

    def _from(self, x, y):
        rw, rh = self.resized
        return float(x) * self.width / rw, float(y) * self.height / rh

    def describe(self):
        return (f"absolute pixel coordinates of this {self.resized[0]} x {self.resized[1]} image, "
                "x from the left edge and y from the top edge")


# ---------------------------------------------------------------------------------------------- 0-1000
@dataclass(frozen=True)
class Relative1000Codec(Codec):
    """Qwen3-VL, Qwen2-VL and InternVL: integers 0-1000 relative to the image width and height."""

    scale: int = 1000
    name = "relative-1000"

    @property
    def unit(self):
        return self.width / self.scale, self.height / self.scale

    def _to(self, x, y):
        return _round_scale(x, self.width, self.scale), _round_scale(y, self.height, self.scale)

    def _from(self, x, y):
        return float(x) / self.scale * self.width, float(y) / self.scale * self.height

    def describe(self):
        return (f"coordinates normalised to 0-{self.scale} (0 = left/top edge, {self.scale} = right/bottom edge), "
                "x first")


# ---------------------------------------------------------------------------------------------- Florence-2
@dataclass(frozen=True)
class Florence2Codec(Codec):
    """Florence-2: ``<loc_0>`` .. ``<loc_999>``, 1000 equal bins per axis (``floor(x / W * 1000)``), decoded at
    the bin centre ``(q + 0.5) * W / 1000`` as the transformers post-processor does (but without its ``int()``)."""

    bins: int = 1000
    name = "florence2"

    @property
    def unit(self):
        return self.width / self.bins, self.height / self.bins

    def _to(self, x, y):
        return _floor_bin(x, self.width, self.bins), _floor_bin(y, self.height, self.bins)

    def _from(self, qx, qy):
        return (float(qx) + 0.5) * self.width / self.bins, (float(qy) + 0.5) * self.height / self.bins

    def format_box(self, values):
        return "".join(f"<loc_{int(v)}>" for v in values)

    def describe(self):
        return "location tokens <loc_0> .. <loc_999> (x then y, 1000 bins across the image)"


# ---------------------------------------------------------------------------------------------- PaliGemma
@dataclass(frozen=True)
class PaliGemmaCodec(Codec):
    """PaliGemma: ``<locNNNN>`` tokens, 1024 bins, in **y, x** order (``y1 x1 y2 x2``); decoded as
    ``value / 1024 * size`` (the big_vision / PaliGemma parsing rule)."""

    bins: int = 1024
    name = "paligemma"

    @property
    def unit(self):
        return self.width / self.bins, self.height / self.bins

    def _to(self, x, y):  # y first
        return _floor_bin(y, self.height, self.bins), _floor_bin(x, self.width, self.bins)

    def _from(self, qy, qx):
        return float(qx) / self.bins * self.width, float(qy) / self.bins * self.height

    def format_box(self, values):
        return "".join(f"<loc{int(v):04d}>" for v in values)

    def describe(self):
        return "location tokens <loc0000> .. <loc1023> in y, x order (y1 x1 y2 x2)"


# ---------------------------------------------------------------------------------------------- GeoChat / EarthDial
@dataclass(frozen=True)
class GeoChatCodec(Codec):
    """GeoChat / EarthDial: integers 0-100 relative to width and height, plus an angle ``theta`` in degrees.

    ``box_to_model`` returns ``(x1, y1, x2, y2, theta)``; ``box_from_model`` accepts 4 or 5 values and returns the
    axis-aligned box (use :meth:`rotated_corners` for the rotated rectangle). ``syntax`` picks the text form:
    ``"geochat"`` ``{<x1><y1><x2><y2>|<theta>}`` or ``"earthdial"`` ``<box>[[x1, y1, x2, y2, theta]]</box>``."""

    scale: int = 100
    syntax: str = "geochat"
    name = "geochat"

    @property
    def unit(self):
        return self.width / self.scale, self.height / self.scale

    def _to(self, x, y):
        return _round_scale(x, self.width, self.scale), _round_scale(y, self.height, self.scale)

    def _from(self, x, y):
        return float(x) / self.scale * self.width, float(y) / self.scale * self.height

    def box_to_model(self, box, theta: float = 0):
        return self._to(box[0], box[1]) + self._to(box[2], box[3]) + (int(round(theta)),)

    def box_from_model(self, values):
        return self._from(values[0], values[1]) + self._from(values[2], values[3])

    def rotated_corners(self, values) -> list[PointXY]:
        """Pixel corners of the box rotated by ``theta`` degrees about its centre (counter-clockwise as seen on
        the image, i.e. with y pointing down the rotation is applied as ``-theta`` in pixel axes)."""
        x0, y0, x1, y1 = self.box_from_model(values)
        theta = math.radians(float(values[4]) if len(values) > 4 else 0.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        c, s = math.cos(theta), math.sin(theta)
        out = []
        for px, py in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            dx, dy = px - cx, py - cy
            out.append((cx + c * dx + s * dy, cy - s * dx + c * dy))
        return out

    def point_to_model(self, point):
        return self._to(*point)

    def point_from_model(self, values):
        return self._from(values[0], values[1])

    def format_box(self, values):
        v = list(values) + [0] * (5 - len(values))
        if self.syntax == "earthdial":
            return f"<box>[[{', '.join(_num(x) for x in v[:5])}]]</box>"
        return "{" + "".join(f"<{_num(x)}>" for x in v[:4]) + f"|<{_num(v[4])}>" + "}"

    def format_point(self, values):
        return "{" + "".join(f"<{_num(x)}>" for x in values) + "}"

    def describe(self):
        return "integers 0-100 relative to the image width and height, then the rotation angle in degrees"


# ---------------------------------------------------------------------------------------------- Kosmos-2
@dataclass(frozen=True)
class Kosmos2Codec(Codec):
    """Kosmos-2: the image is a ``grid x grid`` (32 x 32) lattice; a box is the pair (top-left cell, bottom-right
    cell) as indices ``row * grid + col``, encoded as in ``Kosmos2Processor`` (``floor(x1 * P)``,
    ``ceil(x2 * P - 1)``). Decoded to the box that covers both cells (cell edges); a point is one cell and
    decodes to its centre."""

    grid: int = 32
    name = "kosmos2"

    @property
    def unit(self):
        return self.width / self.grid, self.height / self.grid

    def _cell(self, x, y, end: bool = False):
        p = self.grid
        fx, fy = x / self.width * p, y / self.height * p
        cx, cy = (math.ceil(fx - 1), math.ceil(fy - 1)) if end else (math.floor(fx), math.floor(fy))
        return int(_clamp(cx, 0, p - 1)), int(_clamp(cy, 0, p - 1))

    def box_to_model(self, box):
        ux, uy = self._cell(box[0], box[1])
        lx, ly = self._cell(box[2], box[3], end=True)
        lx, ly = max(lx, ux), max(ly, uy)
        return uy * self.grid + ux, ly * self.grid + lx

    def box_from_model(self, values):
        p = self.grid
        ul, lr = int(values[0]), int(values[1])
        ux, uy, lx, ly = ul % p, ul // p, lr % p, lr // p
        cw, ch = self.unit
        return ux * cw, uy * ch, (lx + 1) * cw, (ly + 1) * ch

    def point_to_model(self, point):
        cx, cy = self._cell(*point)
        return (cy * self.grid + cx,)

    def point_from_model(self, values):
        idx = int(values[0])
        cw, ch = self.unit
        return (idx % self.grid + 0.5) * cw, (idx // self.grid + 0.5) * ch

    def format_box(self, values):
        return "<object>" + "".join(f"<patch_index_{int(v):04d}>" for v in values) + "</object>"

    def format_point(self, values):
        return self.format_box((values[0], values[0]))

    def describe(self):
        return f"patch indices of a {self.grid} x {self.grid} grid (top-left cell, bottom-right cell)"


# ---------------------------------------------------------------------------------------------- EarthGPT
@dataclass(frozen=True)
class EarthGPTCodec(Codec):
    """EarthGPT (LLaVA-1.5 style): floats in [0, 1] of the image centre-padded to a square of side
    ``max(W, H)``, written with ``decimals`` digits."""

    decimals: int = 2
    name = "earthgpt"

    @property
    def side(self) -> float:
        return max(self.width, self.height)

    @property
    def offset(self) -> tuple[float, float]:
        return (self.side - self.width) / 2, (self.side - self.height) / 2

    @property
    def unit(self):
        u = self.side / 10 ** self.decimals
        return u, u

    def _to(self, x, y):
        ox, oy = self.offset
        return (round(_clamp((x + ox) / self.side, 0.0, 1.0), self.decimals),
                round(_clamp((y + oy) / self.side, 0.0, 1.0), self.decimals))

    def _from(self, u, v):
        ox, oy = self.offset
        return float(u) * self.side - ox, float(v) * self.side - oy

    def format_box(self, values):
        return "[" + ", ".join(f"{float(v):.{self.decimals}f}" for v in values) + "]"

    def describe(self):
        return "fractions 0-1 of the image padded to a square (x first)"


#: Codec classes by convention name (aliases included).
CODECS: dict[str, type[Codec]] = {
    "qwen2.5-vl": Qwen25Codec, "qwen2_5_vl": Qwen25Codec, "absolute": Qwen25Codec,
    "qwen3-vl": Relative1000Codec, "qwen3_vl": Relative1000Codec, "qwen2-vl": Relative1000Codec,
    "qwen2_vl": Relative1000Codec, "internvl": Relative1000Codec, "relative-1000": Relative1000Codec,
    "florence2": Florence2Codec, "florence-2": Florence2Codec,
    "paligemma": PaliGemmaCodec,
    "geochat": GeoChatCodec, "earthdial": GeoChatCodec,
    "kosmos2": Kosmos2Codec, "kosmos-2": Kosmos2Codec,
    "earthgpt": EarthGPTCodec,
}


def codec_for(convention: str, size, **params) -> Codec:
    """The codec for ``convention`` (a name in :data:`CODECS`) bound to an image of ``size = (width, height)``.
    Extra ``params`` go to the codec (``resized=`` for Qwen2.5-VL, ``syntax=`` for GeoChat/EarthDial, ...)."""
    key = convention.lower()
    if key not in CODECS:
        raise ValueError(f"unknown coordinate convention {convention!r}; known: {', '.join(sorted(CODECS))}")
    if key == "earthdial":
        params.setdefault("syntax", "earthdial")
    w, h = size
    if w <= 0 or h <= 0:
        raise ValueError(f"image size must be positive, got {size}")
    return CODECS[key](size=(float(w), float(h)), **params)
