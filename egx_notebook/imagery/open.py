"""``egx.open``: one entry point for GeoTIFF/COG paths or URLs, band-file lists, PNG/JPG and xarray."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import RasterReadError, UnsupportedDataError
from .calibration import (IDENTITY, Calibration, find_mtl, landsat_band_calibration, landsat_band_number,
                          read_mtl, sar_calibration)
from .modality import S2_COMMON, default_band_names, detect_modality, normalize_modality
from .scene import Scene
from .sources import ArraySource, BandRef, FileSource

#: Size of the decimated sample used to detect modality and units (never the whole raster).
SAMPLE_SIZE = 256


def open(source, modality: str | None = None, bands=None, *, sar_scale: str | None = None,  # noqa: A001
         name: str | None = None, pixel_size_m: float | None = None) -> Scene:
    """Open imagery as a lazy :class:`Scene`.

    Parameters
    ----------
    source:
        A GeoTIFF/COG path or ``http(s)://`` URL; a PNG/JPG (no georeferencing: map coordinates = pixels);
        a list of single-band files on one grid (e.g. Landsat ``*_B4.TIF``, with the ``*_MTL.txt`` beside
        them used for calibration); an ``xarray.DataArray`` (``(band, y, x)`` or ``(y, x)``, with or without
        ``.rio`` georeferencing); or a numpy array (pixel CRS).
    modality:
        ``"optical"``, ``"sar"`` or ``"infrared"`` (aliases: thermal, ir, radar, rgb). Detected from metadata
        and values when None; pass it for PNG/JPG SAR or thermal images, which carry no hints.
    bands:
        Band names in file order (``["swir1", "nir", "red", "green"]``) or a selection: a list of 1-based
        indices or a ``{name: index}`` dict. Names drive rendering and spectral indices.
    sar_scale:
        Force how SAR values are stored: ``"db"``, ``"power"`` (linear sigma0) or ``"amplitude"``.
        Detected otherwise, so the logarithm is never taken twice.
    pixel_size_m:
        Ground sampling distance for images without georeferencing (e.g. a UAV frame), used for areas.

    Nothing but a small decimated sample is read: opening a 10k x 10k scene stays cheap.
    """
    src, hints, select_names = _make_source(source, bands)
    sample = _sample(src)
    landsat = _landsat_calibrations(src)
    if modality is None and landsat and all(c.units == "K" for c in landsat):
        modality = "infrared"  # Landsat TIRS bands (B10/B11) with their MTL
    mod = normalize_modality(modality) or detect_modality(hints + [d or "" for d in src.descriptions] +
                                                          [str(v) for v in src.tags.values()],
                                                          sample, src.dtype, src.count)
    if mod in ("sar", "infrared") and isinstance(src, FileSource) and src.count in (3, 4) and bands is None \
            and [c.lower() for c in src.colorinterp[:3]] == ["red", "green", "blue"]:
        # Single-channel sensors saved as RGB(A) pictures (e.g. HRSID chips): the channels repeat the data.
        src = FileSource(src.bands[:1])
        sample = sample[:1]
    names = select_names or default_band_names(mod, src.count, src.descriptions, src.colorinterp, src.dtype, hints)
    if len(names) != src.count:
        raise ValueError(f"got {len(names)} band names for {src.count} bands: {names}")
    cals, units, meta = _calibrations(src, mod, names, sample, sar_scale, landsat)
    if pixel_size_m is not None:
        meta["pixel_size_m"] = (float(pixel_size_m), float(pixel_size_m))
    return Scene(src, mod, [n.lower() for n in names], cals, units, name=name or _name(source), meta=meta)


def _name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(str(source)).stem
    if isinstance(source, (list, tuple)) and source:
        return Path(str(source[0])).stem
    if isinstance(source, xr.DataArray) and source.name:
        return str(source.name)
    return "scene"


def _make_source(source, bands):
    """Build the raw source; returns (source, text hints for detection, explicit band names or None)."""
    names = None
    if isinstance(source, np.ndarray):
        source = xr.DataArray(source, dims=("y", "x") if source.ndim == 2 else ("band", "y", "x"))
    if isinstance(source, xr.DataArray):
        src = ArraySource(source)
        hints = [str(source.name or "")]
    elif isinstance(source, (str, os.PathLike)):
        path = str(source)
        _check_path(path)
        with_count = FileSource([BandRef(path, 1)])
        count = _band_count(path)
        refs = [BandRef(path, i) for i in range(1, count + 1)]
        src = FileSource(refs) if count > 1 else with_count
        hints = [Path(path).name]
    elif isinstance(source, (list, tuple)) and source and all(isinstance(s, (str, os.PathLike)) for s in source):
        for s in source:
            _check_path(str(s))
        src = FileSource([BandRef(str(s), 1) for s in source])
        hints = [Path(str(s)).name for s in source]
        if bands is None:
            names = _names_from_files([str(s) for s in source])
    else:
        raise RasterReadError(
            f"cannot open a {type(source).__name__}; pass a raster path or URL, a list of band files, "
            "an xarray.DataArray or a numpy array"
        )
    if bands is not None:
        src, names = _select_bands(src, bands)
    return src, hints, names


def _check_path(path: str) -> None:
    if "://" in path or path.startswith("/vsi"):
        return
    if not Path(path).exists():
        raise RasterReadError(f"no such file: {path!r}; check the path (relative paths start at {os.getcwd()})")


def _band_count(path: str) -> int:
    from .sources import _open

    with _open(path) as ds:
        return ds.count


def _names_from_files(paths: list[str]) -> list[str] | None:
    """Common names for Landsat / Sentinel-2 band files (``*_B4.TIF`` -> red), when every file is recognised."""
    out = []
    for p in paths:
        n = landsat_band_number(p)
        stem = Path(p).stem.upper()
        s2 = next((b for b in sorted(S2_COMMON, key=len, reverse=True) if stem.endswith("_" + b)), None)
        if n is not None and find_mtl(p) is not None:
            from .modality import LANDSAT89_COMMON

            out.append(LANDSAT89_COMMON.get(n, f"b{n}"))
        elif s2:
            out.append(S2_COMMON[s2])
        else:
            return None
    return out if len(set(out)) == len(out) else None


def _select_bands(src, bands):
    if isinstance(bands, dict):
        names, idx = list(bands.keys()), [int(i) for i in bands.values()]
    elif all(isinstance(b, str) for b in bands):
        return src, [str(b) for b in bands]
    else:
        names, idx = None, [int(i) for i in bands]
    if any(not 1 <= i <= src.count for i in idx):
        raise ValueError(f"band indices are 1-based and must be within 1..{src.count}, got {idx}")
    if isinstance(src, FileSource):
        new = FileSource([src.bands[i - 1] for i in idx])
    else:
        new = ArraySource(src.data[[i - 1 for i in idx]])
    return new, names


def _sample(src) -> np.ndarray:
    g = src.grid
    f = max(g.width, g.height) / SAMPLE_SIZE
    shape = (max(1, int(g.height / f)), max(1, int(g.width / f))) if f > 1 else (g.height, g.width)
    return src.read((0, 0, g.width, g.height), shape, resampling="nearest")


def _calibrations(src, modality: str, names: list[str], sample: np.ndarray, sar_scale, landsat):
    """Per-band calibration, the scene units and metadata notes."""
    meta: dict = {}
    file_scales = getattr(src, "scales", [1.0] * src.count)
    file_offsets = getattr(src, "offsets", [0.0] * src.count)
    scaled = [Calibration(scale=s, offset=o) if (s, o) != (1.0, 0.0) else IDENTITY
              for s, o in zip(file_scales, file_offsets)]
    if modality == "sar":
        if any(not c.is_identity for c in scaled):
            sample = sample * np.array(file_scales, dtype="float32")[:, None, None]
        cal = sar_calibration(sample, src.dtype, sar_scale)
        meta["sar_scale"] = sar_scale or ("db" if cal.op is None else cal.op.split("_")[0])
        cals = [Calibration(scale=s.scale, offset=s.offset, op=cal.op, units=cal.units) for s in scaled]
        return cals, cal.units, meta
    if landsat is not None:
        meta["calibration"] = "Landsat MTL"
        units = "K" if modality == "infrared" else landsat[0].units
        return landsat, units, meta
    if any(not c.is_identity for c in scaled):
        meta["calibration"] = "file scale/offset"
        units = str(src.tags.get("units", "K" if modality == "infrared" else "reflectance"))
        return [Calibration(c.scale, c.offset, units=units) for c in scaled], units, meta
    if modality == "optical" and np.issubdtype(np.dtype(src.dtype), np.integer) and len(names) >= 12 \
            and "blue" in names and "swir1" in names:
        meta["calibration"] = "Sentinel-2 digital numbers / 10000"
        return [Calibration(scale=1e-4, units="reflectance") for _ in names], "reflectance", meta
    if modality == "infrared":
        finite = sample[np.isfinite(sample)]
        kelvin = finite.size and 150 <= np.percentile(finite, 2) and np.percentile(finite, 98) <= 400
        return [IDENTITY] * src.count, "K" if kelvin else "relative", meta
    if modality == "optical" and np.issubdtype(np.dtype(src.dtype), np.floating):
        finite = sample[np.isfinite(sample)]
        if finite.size and np.percentile(finite, 98) <= 1.5 and np.percentile(finite, 2) >= -0.1:
            return [IDENTITY] * src.count, "reflectance", meta
    return [IDENTITY] * src.count, "DN", meta


def _landsat_calibrations(src):
    if not isinstance(src, FileSource):
        return None
    cals = []
    for ref in src.bands:
        mtl_path, band = find_mtl(ref.path), landsat_band_number(ref.path)
        if mtl_path is None or band is None:
            return None
        cal = landsat_band_calibration(read_mtl(mtl_path), band)
        if cal is None:
            return None
        cals.append(cal)
    return cals


__all__ = ["open", "UnsupportedDataError"]
