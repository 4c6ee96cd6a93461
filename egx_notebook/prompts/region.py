"""A visual prompt resolved onto a pixel grid: exact float geometry in (col, row) pixels, plus its mask."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import box as shapely_box


@dataclass(frozen=True)
class Region:
    """A prompt in pixel space of one grid. ``geometry`` uses exact float pixel coordinates: pixel (i, j)
    covers ``i <= x < i + 1``, ``j <= y < j + 1``; origin top-left.

    ``kind`` is ``"point"``, ``"box"`` or ``"freeform"``. A mask-based free-form prompt keeps its exact
    mask in ``mask_patch`` (a boolean array placed at integer offset ``mask_origin``) so it is never reduced
    to a polygon or a box.
    """

    kind: str
    geometry: shapely.Geometry
    grid_shape: tuple[int, int]  # (height, width)
    prompt: object = None
    mask_patch: np.ndarray | None = field(default=None, repr=False, compare=False)
    mask_origin: tuple[int, int] = (0, 0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the geometry in pixels, exact floats."""
        return tuple(float(v) for v in self.geometry.bounds)

    @property
    def center(self) -> tuple[float, float]:
        c = self.geometry.centroid if self.kind != "point" else self.geometry
        return float(c.x), float(c.y)

    @property
    def window(self) -> tuple[int, int, int, int]:
        """The smallest integer pixel window (half-open) that contains the region."""
        x0, y0, x1, y1 = self.bounds
        h, w = self.grid_shape
        ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        ix1 = min(w, max(ix0 + 1, math.ceil(x1)))
        iy1 = min(h, max(iy0 + 1, math.ceil(y1)))
        return ix0, iy0, ix1, iy1

    @property
    def area_px(self) -> float:
        """Area in pixels (mask pixel count for mask prompts; 1 for a point)."""
        if self.mask_patch is not None:
            return float(self.mask_patch.sum())
        if self.kind == "point":
            return 1.0
        return float(self.geometry.area)

    def mask(self, window: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Boolean mask of the region over ``window`` (default: the whole grid).

        Polygons cover the pixels whose centres fall inside (``all_touched`` for thin shapes, with a mean
        width ``2 * area / perimeter`` under 2 px, so a scribble or a sliver never rasterizes to nothing);
        a point covers the pixel that contains it.
        """
        from rasterio import features
        from rasterio.transform import Affine

        h, w = self.grid_shape
        x0, y0, x1, y1 = window if window is not None else (0, 0, w, h)
        shape = (y1 - y0, x1 - x0)
        if self.mask_patch is not None:
            out = np.zeros(shape, dtype=bool)
            mx, my = self.mask_origin
            ph, pw = self.mask_patch.shape
            sx0, sy0 = max(x0, mx), max(y0, my)
            sx1, sy1 = min(x1, mx + pw), min(y1, my + ph)
            if sx1 > sx0 and sy1 > sy0:
                out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = self.mask_patch[sy0 - my:sy1 - my, sx0 - mx:sx1 - mx]
            return out
        if self.kind == "point":
            out = np.zeros(shape, dtype=bool)
            px, py = math.floor(self.geometry.x) - x0, math.floor(self.geometry.y) - y0
            if 0 <= py < shape[0] and 0 <= px < shape[1]:
                out[py, px] = True
            return out
        geom = self.geometry
        if is_axis_aligned_box(geom):
            return box_mask(self.bounds, (x0, y0, x1, y1))
        thin = geom.area < geom.length  # mean width under 2 px
        out = features.rasterize([(geom, 1)], out_shape=shape, transform=Affine.translation(x0, y0),
                                 fill=0, all_touched=thin, dtype="uint8")
        return out.astype(bool)

    def map_pixels(self, a: float, b: float, d: float, e: float, xoff: float, yoff: float,
                   grid_shape: tuple[int, int]) -> "Region":
        """The same region on another pixel grid related by ``x' = a x + b y + xoff, y' = d x + e y + yoff``.

        Used to move a region between a scene and one of its views (scaling and translation only)."""
        geom = affinity.affine_transform(self.geometry, [a, b, d, e, xoff, yoff])
        patch, origin = self.mask_patch, self.mask_origin
        if patch is not None:
            patch, origin = _resample_patch(patch, origin, a, e, xoff, yoff, grid_shape)
        return Region(self.kind, geom, grid_shape, self.prompt, patch, origin)


def _resample_patch(patch, origin, sx, sy, xoff, yoff, grid_shape):
    """Nearest-neighbour move of a mask patch to a scaled/translated grid: a new pixel is set when its
    centre falls on a set pixel of the patch. A patch too small to hold any new pixel centre keeps the
    nearest pixels, so a mask never vanishes."""
    ox, oy = origin
    ph, pw = patch.shape
    nx0, ny0 = ox * sx + xoff, oy * sy + yoff
    nx1, ny1 = (ox + pw) * sx + xoff, (oy + ph) * sy + yoff
    ix0, iy0 = math.floor(nx0), math.floor(ny0)
    ix1, iy1 = max(ix0 + 1, math.ceil(nx1)), max(iy0 + 1, math.ceil(ny1))
    cols = np.floor((np.arange(ix0, ix1) + 0.5 - xoff) / sx - ox).astype(int)
    rows = np.floor((np.arange(iy0, iy1) + 0.5 - yoff) / sy - oy).astype(int)
    out = patch[np.ix_(rows.clip(0, ph - 1), cols.clip(0, pw - 1))]
    inside = ((rows >= 0) & (rows < ph))[:, None] & ((cols >= 0) & (cols < pw))[None, :]
    return (out & inside if (out & inside).any() else out), (ix0, iy0)


def is_axis_aligned_box(geom: shapely.Geometry) -> bool:
    """True for a Polygon that fills its bounding box (an axis-aligned rectangle)."""
    if geom.geom_type != "Polygon" or geom.is_empty:
        return False
    x0, y0, x1, y1 = geom.bounds
    return abs(geom.area - (x1 - x0) * (y1 - y0)) <= 1e-9 * max((x1 - x0) * (y1 - y0), 1e-12)


def box_pixels(bounds) -> tuple[int, int, int, int]:
    """Integer window ``(c0, r0, c1, r1)`` of the pixels whose centres lie in the half-open box
    ``x0 <= x < x1, y0 <= y < y1``; along an axis with no centre inside, the pixels the box touches
    (so a sliver never rasterizes to nothing). Exact, unlike GDAL's rule for centres on an edge."""
    def axis(lo, hi):
        i0, i1 = math.ceil(lo - 0.5), math.ceil(hi - 0.5)
        return (i0, i1) if i1 > i0 else (math.floor(lo), max(math.floor(lo) + 1, math.ceil(hi)))

    (c0, c1), (r0, r1) = axis(bounds[0], bounds[2]), axis(bounds[1], bounds[3])
    return c0, r0, c1, r1


def box_mask(bounds, window: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask over ``window`` of the pixels of the box ``bounds`` (see :func:`box_pixels`)."""
    x0, y0, x1, y1 = window
    c0, r0, c1, r1 = box_pixels(bounds)
    out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    out[max(r0, y0) - y0:max(min(r1, y1) - y0, 0), max(c0, x0) - x0:max(min(c1, x1) - x0, 0)] = True
    return out


def image_rectangle(grid_shape: tuple[int, int]) -> shapely.Geometry:
    h, w = grid_shape
    return shapely_box(0, 0, w, h)


def point_inside(pt: ShapelyPoint, grid_shape: tuple[int, int]) -> bool:
    h, w = grid_shape
    return 0 <= pt.x < w and 0 <= pt.y < h
