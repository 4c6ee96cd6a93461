"""Export an Explorer session (prompts and results) to GIS files through geopandas.

- GeoPackage (``.gpkg``): layers ``prompts``, ``referring`` and ``detections`` in the scene's CRS.
- GeoJSON (``.geojson``): one FeatureCollection in EPSG:4326 (RFC 7946) with a ``layer`` column.
Scenes without a CRS are written in pixel coordinates (col, row) without a CRS.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError
from ..results.geometry import to_map, write_vector


def prompts_geodataframe(entries, scene):
    """One row per prompt: its exact region (what the model sees; a scribble is its buffered stroke) in map
    coordinates, with id, kind, source and a description."""
    import geopandas as gpd

    rows, geoms = [], []
    for e in entries:
        if e.prompt is None or e.problem:
            continue
        region = e.prompt.to_pixels(scene)
        rows.append({"id": f"P{e.id}", "kind": e.prompt.kind, "source": e.source, "description": e.prompt.describe()})
        geoms.append(to_map(region.geometry, scene.transform))
    columns = ["id", "kind", "source", "description"]
    return gpd.GeoDataFrame(rows or None, columns=None if rows else columns, geometry=geoms, crs=scene.crs)


def results_geodataframes(results) -> dict:
    """``{"referring": gdf, "detections": gdf}`` of the result entries (each row tagged with its result name)."""
    import geopandas as gpd
    import pandas as pd

    parts: dict[str, list] = {"referring": [], "detections": []}
    for entry in results:
        gdf = entry.result.to_geodataframe()
        gdf.insert(0, "result", entry.name)
        parts["referring" if entry.kind == "describe" else "detections"].append(gdf)
    out = {}
    for layer, frames in parts.items():
        frames = [f for f in frames if len(f)]
        if frames:
            out[layer] = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    return out


def export_session(path, entries, results, scene, driver: str | None = None) -> Path:
    """Write prompts and results to ``path`` (format from the extension: .gpkg or .geojson). Returns the path."""
    import warnings

    import geopandas as gpd
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    prompts = prompts_geodataframe(entries, scene)
    layers = {"prompts": prompts, **results_geodataframes(results)}
    layers = {k: v for k, v in layers.items() if len(v)}
    if not layers:
        raise ExportError("nothing to export yet: draw a prompt or run Describe / Find first")
    if suffix == ".gpkg" or driver == "GPKG":
        if path.exists():
            path.unlink()  # a fresh file: old layers of an earlier export must not linger
        with warnings.catch_warnings():  # pixel coordinates on purpose for scenes without a CRS
            warnings.filterwarnings("ignore", message="'crs' was not provided")
            for name, gdf in layers.items():
                write_vector(gdf, path, "GPKG", layer=name)
        return path
    if suffix in (".geojson", ".json") or driver == "GeoJSON":
        frames = []
        for name, gdf in layers.items():
            gdf = gdf.copy()
            gdf.insert(0, "layer", name)
            frames.append(gdf.to_crs("EPSG:4326") if scene.crs is not None else gdf)
        merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                  crs="EPSG:4326" if scene.crs is not None else None)
        with warnings.catch_warnings():  # pixel coordinates on purpose for scenes without a CRS
            warnings.filterwarnings("ignore", message="'crs' was not provided")
            return write_vector(merged, path, "GeoJSON")
    raise ExportError(f"cannot export to {path.name!r}: use a .gpkg (GeoPackage) or .geojson file name")
