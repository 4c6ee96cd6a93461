"""Pixel -> map geometry helpers shared by the result types (shapely/rasterio, nothing hand-written)."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from shapely import affinity
from shapely.geometry import box as shapely_box
from shapely.geometry import shape


def to_map(geom: shapely.Geometry, transform: Affine) -> shapely.Geometry:
    """Apply the pixel -> map affine to a pixel-space geometry (exact)."""
    t = transform
    return affinity.affine_transform(geom, [t.a, t.b, t.d, t.e, t.c, t.f])


def box_polygon(box) -> shapely.Geometry:
    return shapely_box(*box)


def mask_polygon(mask: np.ndarray, origin: tuple[int, int]) -> shapely.Geometry:
    """Vectorize a boolean mask placed at pixel ``origin`` into a (Multi)Polygon in pixel coordinates."""
    from rasterio import features

    polys = [shape(g) for g, v in features.shapes(mask.astype("uint8"), mask=mask,
                                                  transform=Affine.translation(*origin)) if v == 1]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def reproject_gdf(gdf, crs):
    """``gdf`` in ``crs`` (no-op when None); a clear error for pixel-CRS data."""
    if crs is None:
        return gdf
    if gdf.crs is None:
        from ..errors import MissingCRSError

        raise MissingCRSError("these results are in pixel coordinates (the scene has no CRS) and cannot be reprojected")
    return gdf.to_crs(crs)


def write_vector(gdf, path, driver: str | None = None, layer: str | None = None):
    """Write a GeoDataFrame to GeoJSON / GeoPackage / anything pyogrio writes; driver from the extension."""
    from pathlib import Path

    from ..errors import ExportError

    path = Path(path)
    drivers = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".fgb": "FlatGeobuf"}
    driver = driver or drivers.get(path.suffix.lower())
    if driver is None:
        raise ExportError(f"cannot tell the format of {path.name!r}; use .geojson, .gpkg, .fgb or .shp, or pass driver=")
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
    if driver == "GeoJSON" and out.crs is not None and not out.crs.equals("EPSG:4326"):
        pass  # GeoJSON (RFC 7946) prefers WGS84, but GDAL records the CRS; keep the scene CRS as asked
    kwargs = {"layer": layer} if layer and driver == "GPKG" else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_file(path, driver=driver, **kwargs)
    return path
