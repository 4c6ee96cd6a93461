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
    """Nearest-neighbour move of a mask patch to a scaled/translated grid."""
    ox, oy = origin
    nx0, ny0 = ox * sx + xoff, oy * sy + yoff
    nx1, ny1 = (ox + patch.shape[1]) * sx + xoff, (oy + patch.shape[0]) * sy + yoff
    ix0, iy0 = math.floor(nx0), math.floor(ny0)
    ix1, iy1 = max(ix0 + 1, math.ceil(nx1)), max(iy0 + 1, math.ceil(ny1))
    cols = ((np.arange(ix0, ix1) + 0.5 - xoff) / sx - ox).astype(int).clip(0, patch.shape[1] - 1)
    rows = ((np.arange(iy0, iy1) + 0.5 - yoff) / sy - oy).astype(int).clip(0, patch.shape[0] - 1)
    return patch[np.ix_(rows, cols)], (ix0, iy0)


def image_rectangle(grid_shape: tuple[int, int]) -> shapely.Geometry:
    h, w = grid_shape
    return shapely_box(0, 0, w, h)


def point_inside(pt: ShapelyPoint, grid_shape: tuple[int, int]) -> bool:
    h, w = grid_shape
    return 0 <= pt.x < w and 0 <= pt.y < h
