"""Coordinates between a scene, the Leaflet map that shows it and the screen.

Georeferenced scenes are shown on a Web Mercator map: map coordinates are WGS84 longitude/latitude and a
drawn shape arrives as GeoJSON in EPSG:4326. Scenes without a CRS (PNG chips, UAV frames) are shown on a
Leaflet "Simple" CRS map where one map unit is one scene pixel: ``lng = col`` and ``lat = -row`` (Leaflet's
latitude grows upwards, rows grow downwards). All conversions are exact (pyproj, affine); nothing is rounded.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import box as shapely_box

#: Half the width of the Web Mercator world (m): x and y run over [-H, H].
MERCATOR_HALF = 20037508.342789244
TILE_SIZE = 256


def _mercator():
    from pyproj import Transformer

    return (Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True),
            Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True))


def _apply(geom: shapely.Geometry, transformer) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _densify(geom: shapely.Geometry, parts: int = 64) -> shapely.Geometry:
    if geom.geom_type == "Point":
        return geom
    x0, y0, x1, y1 = geom.bounds
    step = max(x1 - x0, y1 - y0) / parts
    return shapely.segmentize(geom, step) if step > 0 else geom


class MapFrame:
    """How one scene sits on a Leaflet map.

    ``geographic`` is True for scenes with a CRS (Web Mercator map, coordinates in lon/lat) and False for
    pixel-CRS scenes (Simple CRS map, ``lng = col``, ``lat = -row``).
    """

    def __init__(self, scene):
        self.scene = scene
        self.geographic = scene.crs is not None
        if self.geographic:
            from pyproj import Transformer

            self._to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
            self._from_ll = Transformer.from_crs("EPSG:4326", scene.crs, always_xy=True)
            self._to_merc, self._from_merc = _mercator()

    # -- leaflet ------------------------------------------------------------------------------------
    def leaflet_crs(self) -> dict:
        from ipyleaflet import projections

        return projections.EPSG3857 if self.geographic else projections.Simple

    # -- scene pixels -> map (lon/lat or simple) --------------------------------------------------------
    def pixels_to_map(self, geom: shapely.Geometry) -> shapely.Geometry:
        """A geometry in scene pixels as GeoJSON-ordered map coordinates (lon, lat)."""
        if not self.geographic:
            return affinity.scale(geom, 1.0, -1.0, origin=(0, 0))
        t = self.scene.transform
        in_crs = affinity.affine_transform(_densify(geom), [t.a, t.b, t.d, t.e, t.c, t.f])
        return _apply(in_crs, self._to_ll)

    def map_to_pixels(self, geom: shapely.Geometry) -> shapely.Geometry:
        """The inverse of :meth:`pixels_to_map`."""
        if not self.geographic:
            return affinity.scale(geom, 1.0, -1.0, origin=(0, 0))
        inv = ~self.scene.transform
        in_crs = _apply(_densify(geom), self._from_ll)
        return affinity.affine_transform(in_crs, [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f])

    def gdf_to_map(self, gdf):
        """A GeoDataFrame from ``to_geodataframe()`` (scene CRS, or pixels) in the map's coordinates."""
        if self.geographic:
            return gdf.to_crs("EPSG:4326")
        out = gdf.copy()
        out.geometry = out.geometry.map(lambda g: affinity.scale(g, 1.0, -1.0, origin=(0, 0)))
        return out

    def latlng_bounds(self, pixel_window=None) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((south, west), (north, east))`` of a pixel window (default: the whole scene)."""
        x0, y0, x1, y1 = pixel_window or (0, 0, self.scene.width, self.scene.height)
        west, south, east, north = self.pixels_to_map(shapely_box(x0, y0, x1, y1)).bounds
        return (south, west), (north, east)

    # -- map -> prompts ----------------------------------------------------------------------------
    def feature_to_prompt(self, feature: dict, scribble_width: float | None = None):
        """The egx prompt for a GeoJSON feature drawn on the map (EPSG:4326, or the Simple CRS frame)."""
        from ..prompts import from_geojson

        if self.geographic:
            return from_geojson(feature, crs="EPSG:4326", scribble_width=scribble_width)
        from shapely.geometry import mapping, shape

        geometry = feature.get("geometry", feature) if feature.get("type") == "Feature" else feature
        flipped = mapping(affinity.scale(shape(geometry), 1.0, -1.0, origin=(0, 0)))
        props = feature.get("properties") or {} if feature.get("type") == "Feature" else {}
        return from_geojson({"type": "Feature", "geometry": flipped, "properties": props}, crs=None,
                            scribble_width=scribble_width)

    def window_of_latlng_bounds(self, bounds) -> tuple[float, float, float, float] | None:
        """The scene pixel window (clipped floats) seen inside ``((south, west), (north, east))``; None
        when the bounds miss the scene."""
        (south, west), (north, east) = bounds
        geom = self.map_to_pixels(shapely_box(west, south, east, north))
        x0, y0, x1, y1 = geom.bounds
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(self.scene.width), x1), min(float(self.scene.height), y1)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    # -- screen ----------------------------------------------------------------------------------------
    def _projected(self, lon, lat):
        """Leaflet's projected plane (Web Mercator metres, or simple units) of map coordinates."""
        if not self.geographic:
            return np.asarray(lon, float), np.asarray(lat, float)
        return self._to_merc.transform(lon, lat)

    def screen_to_prompt_coords(self, points, size, bounds):
        """Container pixels ``[(px, py), ...]`` of a map of ``size = (w, h)`` CSS px showing ``bounds`` ->
        (coordinates, crs, map units per screen pixel) for a prompt. Leaflet places the container linearly
        in its projected plane, so the conversion is exact: Web Mercator (EPSG:3857) for georeferenced
        scenes, scene pixels (crs None) for the Simple CRS."""
        (south, west), (north, east) = bounds
        w, h = float(size[0]), float(size[1])
        (mx0, mx1), (my0, my1) = zip(*(self._projected(lon, lat) for lon, lat in ((west, south), (east, north))))
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        xs = mx0 + pts[:, 0] / w * (mx1 - mx0)
        ys = my1 - pts[:, 1] / h * (my1 - my0)
        per_px = (mx1 - mx0) / w
        if self.geographic:
            return list(zip(xs.tolist(), ys.tolist())), "EPSG:3857", per_px
        return list(zip(xs.tolist(), (-ys).tolist())), None, per_px

    def fit(self, bounds, size=(800, 600), max_zoom: float = 22, min_zoom: float = -8, snap: float = 1.0):
        """``(center, zoom)`` that shows ``((south, west), (north, east))`` whole in a ``size`` px map."""
        (south, west), (north, east) = bounds
        (px0, px1), (py0, py1) = zip(*(self._projected(lon, lat) for lon, lat in ((west, south), (east, north))))
        dx, dy = max(px1 - px0, 1e-9), max(py1 - py0, 1e-9)
        # pixels per projected unit at zoom 0: 256 / world width (mercator) or 1 (simple)
        base = TILE_SIZE / (2 * MERCATOR_HALF) if self.geographic else 1.0
        zoom = math.log2(min(size[0] / (dx * base), size[1] / (dy * base)))
        zoom = max(min_zoom, min(max_zoom, math.floor(zoom / snap) * snap))
        cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
        if self.geographic:
            lon, lat = self._from_merc.transform(cx, cy)
        else:
            lon, lat = cx, cy
        return (float(lat), float(lon)), float(zoom)

    def viewport(self, map_widget, size=(800, 600)):
        """The visible ``((south, west), (north, east))`` of ``map_widget``: the bounds the browser reported,
        or (before the map was displayed) the ones its centre and zoom imply for a ``size`` px map."""
        (south, west), (north, east) = map_widget.bounds or ((0, 0), (0, 0))
        if north > south and east > west:
            return (south, west), (north, east)
        lat, lon = map_widget.center
        scale = 2 ** float(map_widget.zoom) * (TILE_SIZE / (2 * MERCATOR_HALF) if self.geographic else 1.0)
        cx, cy = self._projected(lon, lat)
        hw, hh = size[0] / 2 / scale, size[1] / 2 / scale
        if self.geographic:
            (w_, s_), (e_, n_) = (self._from_merc.transform(cx - hw, cy - hh), self._from_merc.transform(cx + hw, cy + hh))
            return (s_, w_), (n_, e_)
        return (cy - hh, cx - hw), (cy + hh, cx + hw)

    def viewport_size(self, map_widget, default=(800, 600)) -> tuple[float, float]:
        """Width and height (CSS px) of the map as last reported by the browser."""
        try:
            (left, top), (right, bottom) = map_widget.pixel_bounds
            w, h = right - left, bottom - top
            if 0 < w < 1e6 and 0 < h < 1e6:
                return float(w), float(h)
        except (TypeError, ValueError):
            pass
        return default
