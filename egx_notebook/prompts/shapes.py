"""Visual prompts: :class:`Point`, :class:`Box` and :class:`FreeForm`, each with a CRS.

``crs=None`` (or ``"pixel"``) means pixel coordinates (col, row) of the scene the prompt is used on.
Any other value is anything pyproj understands (``"EPSG:4326"``, a WKT, a rasterio CRS). Conversion to
pixels is exact: pyproj for the CRS change (edges densified first so long edges follow the projection),
then the inverse affine transform of the scene; nothing is rounded.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Polygon, mapping, shape
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import box as shapely_box

from ..errors import MissingCRSError, PromptClippedWarning, PromptError, PromptOutsideImageError
from .region import Region, image_rectangle, point_inside

PIXEL = "pixel"


def _norm_crs(crs):
    if crs is None or (isinstance(crs, str) and crs.lower() in ("pixel", "pixels", "image")):
        return None
    return crs


def _same_crs(a, b) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)


def _to_grid_pixels(geom: shapely.Geometry, crs, grid) -> shapely.Geometry:
    """Move ``geom`` from ``crs`` (None = pixels) to the pixel space of ``grid``."""
    crs = _norm_crs(crs)
    if crs is None:
        return geom
    if grid.crs is None:
        raise MissingCRSError(
            f"the prompt is in {crs} but the scene has no CRS (e.g. a PNG); give the prompt in pixel "
            "coordinates (crs=None) or open a georeferenced raster"
        )
    if not _same_crs(crs, grid.crs):
        from pyproj import Transformer

        if geom.geom_type != "Point":
            x0, y0, x1, y1 = geom.bounds
            step = max(x1 - x0, y1 - y0) / 64.0
            if step > 0:
                geom = shapely.segmentize(geom, step)
        tr = Transformer.from_crs(crs, grid.crs, always_xy=True)
        geom = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    inv = ~grid.transform
    return affinity.affine_transform(geom, [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f])


def _clip(region_geom: shapely.Geometry, grid_shape, what: str) -> shapely.Geometry:
    rect = image_rectangle(grid_shape)
    if region_geom.geom_type == "Point":
        if not point_inside(region_geom, grid_shape):
            raise PromptOutsideImageError(
                f"{what} at pixel ({region_geom.x:.2f}, {region_geom.y:.2f}) is outside the image "
                f"({grid_shape[1]} x {grid_shape[0]} px); check the coordinates and their CRS"
            )
        return region_geom
    inter = region_geom.intersection(rect)
    if inter.is_empty or inter.area == 0 and region_geom.area > 0:
        x0, y0, x1, y1 = region_geom.bounds
        raise PromptOutsideImageError(
            f"{what} (pixels x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f}) lies outside the image "
            f"({grid_shape[1]} x {grid_shape[0]} px); check the coordinates and their CRS"
        )
    if not region_geom.difference(rect).is_empty and region_geom.difference(rect).area > 1e-9 * max(region_geom.area, 1):
        warnings.warn(f"{what} is partly outside the image and was clipped to it", PromptClippedWarning, stacklevel=4)
        return inter
    return region_geom


class Prompt:
    """Base class of visual prompts. Subclasses define :meth:`geometry` in their own CRS."""

    kind: str = "prompt"
    crs: object = None

    def geometry(self) -> shapely.Geometry:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_pixels(self, grid) -> Region:
        """Resolve onto ``grid`` (a Scene, View or anything with width/height/transform/crs): exact, clipped."""
        geom = _to_grid_pixels(self.geometry(), self.crs, grid)
        shape_ = (int(grid.height), int(grid.width))
        return Region(self.kind, _clip(geom, shape_, self.describe()), shape_, self)

    def to_geojson(self) -> dict:
        """A GeoJSON Feature (in the prompt's own CRS) with the prompt kind in its properties."""
        return {"type": "Feature", "geometry": mapping(self.geometry()),
                "properties": {"prompt": self.kind, "crs": str(self.crs) if self.crs is not None else PIXEL}}

    def describe(self) -> str:
        return f"{self.kind} prompt"


@dataclass(frozen=True)
class Point(Prompt):
    """A point prompt at ``(x, y)``: map x/y in ``crs``, or (col, row) pixels when ``crs`` is None.

    In pixels, ``Point(10.5, 20.5)`` is the centre of the pixel in column 10, row 20."""

    x: float
    y: float
    crs: object = None
    kind = "point"

    def __post_init__(self):
        if not (math.isfinite(self.x) and math.isfinite(self.y)):
            raise PromptError(f"point coordinates must be finite numbers, got ({self.x}, {self.y})")

    def geometry(self) -> shapely.Geometry:
        return ShapelyPoint(self.x, self.y)

    def describe(self) -> str:
        return f"point ({self.x:g}, {self.y:g})"


@dataclass(frozen=True)
class Box(Prompt):
    """An axis-aligned box in its own CRS. Corner order does not matter (swapped corners are sorted).

    In pixels the box is half-open: ``Box(0, 0, 2, 2)`` covers pixels (0, 0)-(1, 1)."""

    x0: float
    y0: float
    x1: float
    y1: float
    crs: object = None
    kind = "box"

    def __post_init__(self):
        vals = (self.x0, self.y0, self.x1, self.y1)
        if not all(math.isfinite(v) for v in vals):
            raise PromptError(f"box coordinates must be finite numbers, got {vals}")
        x0, x1 = sorted((self.x0, self.x1))
        y0, y1 = sorted((self.y0, self.y1))
        if x0 == x1 or y0 == y1:
            raise PromptError(f"box {vals} has zero width or height; use a Point for a single location")
        object.__setattr__(self, "x0", x0)
        object.__setattr__(self, "x1", x1)
        object.__setattr__(self, "y0", y0)
        object.__setattr__(self, "y1", y1)

    @classmethod
    def from_bounds(cls, bounds, crs=None) -> "Box":
        return cls(*bounds, crs=crs)

    def geometry(self) -> shapely.Geometry:
        return shapely_box(self.x0, self.y0, self.x1, self.y1)

    def describe(self) -> str:
        return f"box ({self.x0:g}, {self.y0:g}, {self.x1:g}, {self.y1:g})"


@dataclass(frozen=True, eq=False)
class FreeForm(Prompt):
    """A free-form prompt: a polygon, a freehand scribble with a stroke ``width``, or a boolean mask.

    Build with :meth:`polygon`, :meth:`scribble` or :meth:`from_mask`. The shape (or mask) is kept
    end to end; it is never reduced to its bounding box. ``width`` of a scribble is in the prompt's CRS
    units (pixels when ``crs`` is None)."""

    shape: shapely.Geometry | None = None
    crs: object = None
    width: float = 0.0
    mask: np.ndarray | None = field(default=None, repr=False)
    mask_origin: tuple[int, int] = (0, 0)
    kind = "freeform"

    def __post_init__(self):
        if self.mask is not None:
            m = np.asarray(self.mask)
            if m.ndim != 2 or m.dtype != bool:
                raise PromptError(f"a mask prompt must be a 2-D boolean array, got {m.dtype} with shape {m.shape}")
            if not m.any():
                raise PromptError("the mask prompt is empty (no True pixel)")
            if _norm_crs(self.crs) is not None:
                raise PromptError("a mask prompt is in pixel coordinates of the scene; leave crs=None")
            object.__setattr__(self, "mask", m)
            return
        if self.shape is None or self.shape.is_empty:
            raise PromptError("a free-form prompt needs a polygon, a scribble line or a mask")
        if not self.shape.is_valid:
            object.__setattr__(self, "shape", shapely.make_valid(self.shape))
        if self.width < 0:
            raise PromptError(f"scribble width must be >= 0, got {self.width}")
        if self.shape.geom_type in ("LineString", "MultiLineString") and self.width == 0:
            object.__setattr__(self, "width", 1.0 if _norm_crs(self.crs) is None else 0.0)

    @classmethod
    def polygon(cls, coords, crs=None, holes=None) -> "FreeForm":
        """A polygon from ``[(x, y), ...]`` (closed or not)."""
        coords = list(coords)
        if len(coords) < 3:
            raise PromptError(f"a polygon needs at least 3 vertices, got {len(coords)}")
        return cls(Polygon(coords, holes), crs=crs)

    @classmethod
    def scribble(cls, coords, width: float = 3.0, crs=None) -> "FreeForm":
        """A freehand stroke through ``[(x, y), ...]`` with stroke ``width`` (CRS units; pixels by default)."""
        coords = list(coords)
        if len(coords) == 1:
            coords = coords * 2
        if len(coords) < 2:
            raise PromptError("a scribble needs at least one vertex")
        return cls(LineString(coords), crs=crs, width=float(width))

    @classmethod
    def from_mask(cls, mask, origin: tuple[int, int] = (0, 0)) -> "FreeForm":
        """A boolean mask in scene pixels, placed with its top-left pixel at ``origin = (col, row)``."""
        return cls(mask=np.asarray(mask), mask_origin=tuple(int(v) for v in origin))

    @property
    def is_scribble(self) -> bool:
        return self.shape is not None and self.shape.geom_type in ("LineString", "MultiLineString")

    def geometry(self) -> shapely.Geometry:
        if self.mask is not None:
            from rasterio import features
            from rasterio.transform import Affine

            ox, oy = self.mask_origin
            polys = [shape(g) for g, v in features.shapes(self.mask.astype("uint8"), mask=self.mask,
                                                          transform=Affine.translation(ox, oy)) if v == 1]
            return shapely.union_all(polys)
        return self.shape

    def to_pixels(self, grid) -> Region:
        shape_ = (int(grid.height), int(grid.width))
        if self.mask is not None:
            geom = _clip(self.geometry(), shape_, self.describe())
            h, w = shape_
            ox, oy = self.mask_origin
            ys, xs = max(0, -oy), max(0, -ox)
            patch = self.mask[ys:max(ys, h - oy), xs:max(xs, w - ox)]
            return Region(self.kind, geom, shape_, self, patch, (ox + xs, oy + ys))
        geom = self.shape
        if self.is_scribble:
            # The stroke width is a distance in the prompt's CRS: buffer there, then convert.
            geom = geom.buffer(self.width / 2.0, cap_style="round") if self.width > 0 else geom
        geom = _to_grid_pixels(geom, self.crs, grid)
        if self.is_scribble and self.width == 0:
            geom = geom.buffer(0.5)  # a hairline still covers the pixels it crosses
        return Region(self.kind, _clip(geom, shape_, self.describe()), shape_, self)

    def to_geojson(self) -> dict:
        feat = super().to_geojson()
        if self.is_scribble:
            feat["properties"]["width"] = self.width
        return feat

    def describe(self) -> str:
        if self.mask is not None:
            return f"mask prompt ({int(self.mask.sum())} px)"
        if self.is_scribble:
            return f"scribble ({len(self.shape.coords) if self.shape.geom_type == 'LineString' else 'multi'} vertices)"
        return f"polygon ({self.shape.geom_type})"


def _is_axis_aligned_rectangle(poly: Polygon) -> bool:
    if poly.interiors:
        return False
    coords = list(poly.exterior.coords)[:-1]
    if len(coords) != 4:
        return False
    xs = {round(c[0], 12) for c in coords}
    ys = {round(c[1], 12) for c in coords}
    return len(xs) == 2 and len(ys) == 2


def from_geojson(feature: dict, crs="EPSG:4326", *, scribble_width: float | None = None) -> Prompt:
    """The prompt for a GeoJSON Feature or geometry, e.g. what a map draw control returns.

    Point -> :class:`Point`; an axis-aligned 4-corner Polygon (a drawn rectangle) -> :class:`Box`; any other
    Polygon / MultiPolygon -> :class:`FreeForm` polygon; LineString -> :class:`FreeForm` scribble with
    ``scribble_width`` (or the feature's ``properties.width``; CRS units). Coordinates stay as given (no rounding).
    """
    if not isinstance(feature, dict):
        raise PromptError(f"expected a GeoJSON Feature or geometry dict, got {type(feature).__name__}")
    geometry = feature.get("geometry", feature) if feature.get("type") == "Feature" else feature
    props = feature.get("properties") or {} if feature.get("type") == "Feature" else {}
    if not geometry or "type" not in geometry:
        raise PromptError("the GeoJSON feature has no geometry")
    try:
        geom = shape(geometry)
    except Exception as exc:
        raise PromptError(f"invalid GeoJSON geometry: {exc}") from exc
    if geom.is_empty:
        raise PromptError("the GeoJSON geometry is empty")
    kind = props.get("prompt")
    if geom.geom_type == "Point":
        return Point(geom.x, geom.y, crs=crs)
    if geom.geom_type == "Polygon" and (kind == "box" or kind is None and _is_axis_aligned_rectangle(geom)):
        return Box(*geom.bounds, crs=crs)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return FreeForm(geom, crs=crs)
    if geom.geom_type in ("LineString", "MultiLineString"):
        width = scribble_width if scribble_width is not None else float(props.get("width", 0.0) or 0.0)
        return FreeForm(geom, crs=crs, width=width)
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        return Point(geom.geoms[0].x, geom.geoms[0].y, crs=crs)
    raise PromptError(f"cannot make a prompt from a {geom.geom_type}; draw a point, rectangle, polygon or line")


__all__ = ["Prompt", "Point", "Box", "FreeForm", "from_geojson"]
