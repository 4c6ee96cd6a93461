"""The :class:`Scene`: one raster (any size, read lazily), its modality, physical units and georeferencing."""

from __future__ import annotations

import html
import math
from functools import cached_property
from typing import Iterator

import numpy as np
import xarray as xr
from affine import Affine

from .analysis import Analysable
from .calibration import Calibration
from .render import Rendering
from .view import View, fit_shape

#: Longest side of the default whole-scene view (rendering, describe, grounding without tiling).
DEFAULT_VIEW_SIZE = 2048


class Scene(Analysable):
    """A multi-source image: lazily read bands in physical units plus modality and georeferencing.

    Make one with :func:`egx_notebook.open`. Values are float32 with NaN for no data, in ``units``
    (``dB`` for SAR, ``K`` for calibrated thermal, ``reflectance`` or ``DN`` for optical, ``relative``
    for uncalibrated 8-bit thermal). Map coordinates are in ``crs``; with no CRS they equal pixels.
    """

    def __init__(self, source, modality: str, band_names: list[str], calibrations: list[Calibration],
                 units: str, name: str = "scene", meta: dict | None = None):
        self.source = source
        self.modality = modality
        self.band_names = list(band_names)
        self.calibrations = list(calibrations)
        self.units = units
        self.name = name
        self.meta = dict(meta or {})

    # -- grid -----------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.source.grid.width

    @property
    def height(self) -> int:
        return self.source.grid.height

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.height, self.width

    @property
    def count(self) -> int:
        return len(self.band_names)

    @property
    def transform(self) -> Affine:
        """Affine from pixel (col, row) to map (x, y); the identity when the scene has no CRS."""
        return self.source.grid.transform

    @property
    def crs(self):
        """A rasterio CRS, or ``None`` for images without georeferencing (map coordinates = pixels)."""
        return self.source.grid.crs

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in map coordinates."""
        xs, ys = zip(*(self.transform @ c for c in ((0, 0), (self.width, 0), (0, self.height), (self.width, self.height))))
        return min(xs), min(ys), max(xs), max(ys)

    def pixel_size_m(self, at=None) -> tuple[float, float] | None:
        """Ground size of a pixel in metres (x, y) near pixel ``at`` (default: the centre); None without CRS."""
        from .georef import pixel_size_m

        at = at or (self.width / 2, self.height / 2)
        return pixel_size_m(self.transform, self.crs, at) or self.meta.get("pixel_size_m")

    def to_map(self, x, y):
        """Map coordinates of (float) pixel coordinates."""
        return self.transform @ (x, y)

    def to_pixels(self, x, y):
        """Exact float pixel coordinates of map coordinates."""
        return ~self.transform @ (x, y)

    # -- data -----------------------------------------------------------------------------------
    @cached_property
    def data(self) -> xr.DataArray:
        """The whole scene as a lazy (dask) DataArray (band, y, x) of calibrated float32 values."""
        raw = self.source.lazy()
        layers = [cal.apply(raw[i:i + 1]) for i, cal in enumerate(self.calibrations)]
        da = xr.concat(layers, dim="band") if len(layers) > 1 else layers[0]
        da = da.assign_coords(band=self.band_names)
        da.attrs = {"modality": self.modality, "units": self.units, "long_name": self.name}
        if self.crs is not None:
            da = da.rio.write_crs(self.crs)
        return da.rio.write_transform(self.transform)

    def read(self, window=None, out_shape=None, bands=None) -> np.ndarray:
        """Calibrated values of ``window = (x0, y0, x1, y1)`` (default: whole scene), optionally decimated
        to ``out_shape = (h, w)``; shape (bands, h, w). Only that window is read from disk."""
        window = tuple(int(v) for v in (window or (0, 0, self.width, self.height)))
        idx = None if bands is None else [self.band_names.index(b) if isinstance(b, str) else int(b) for b in bands]
        # A fresh float32 array from the source, calibrated in place; only the asked bands are read.
        out = self.source.read(window, out_shape) if idx is None else self.source.read(window, out_shape, bands=idx)
        for i, cal in enumerate(self.calibrations if idx is None else [self.calibrations[i] for i in idx]):
            if not cal.is_identity:
                out[i] = cal.apply(out[i])
        return out

    # -- views ----------------------------------------------------------------------------------
    def view(self, window=None, max_size: int | None = None, shape=None) -> View:
        """A :class:`View` of ``window`` (float window is expanded to whole pixels and clipped to the scene),
        decimated so its longer side is at most ``max_size`` (None: full resolution)."""
        x0, y0, x1, y1 = window or (0, 0, self.width, self.height)
        ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        ix1, iy1 = min(self.width, math.ceil(x1)), min(self.height, math.ceil(y1))
        if ix1 <= ix0 or iy1 <= iy0:
            from ..errors import PromptOutsideImageError

            raise PromptOutsideImageError(f"window {window} does not overlap the scene ({self.width} x {self.height} px)")
        out = tuple(shape) if shape else fit_shape(ix1 - ix0, iy1 - iy0, max_size)
        return View(self, (ix0, iy0, ix1, iy1), out)

    def overview(self, max_size: int = DEFAULT_VIEW_SIZE) -> View:
        """The whole scene with its longer side at most ``max_size`` (uses file overviews when present)."""
        return self.view(None, max_size=max_size)

    def zoom_in(self, prompt, context: float = 2.0, min_size: int = 64, max_size: int | None = DEFAULT_VIEW_SIZE) -> View:
        """Full-resolution window around ``prompt``: its bounding extent grown ``context`` times (at least
        ``min_size`` pixels), clipped to the scene. Reads only that window."""
        from ..prompts import Region

        region = prompt if isinstance(prompt, Region) else prompt.to_pixels(self)
        x0, y0, x1, y1 = region.bounds
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w = max((x1 - x0) * context, min_size)
        h = max((y1 - y0) * context, min_size)
        return self.view((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), max_size=max_size)

    def zoom_out(self, max_size: int = 1024) -> View:
        """The whole scene at reduced resolution (decimated read; overviews are used when the file has them)."""
        return self.overview(max_size)

    def tiles(self, size: int = 512, overlap: int = 64) -> Iterator[View]:
        """Full-resolution tiles of ``size`` px overlapping by ``overlap`` px, covering the scene in row-major
        order; the last row/column is shifted inwards so every tile is whole when the scene allows."""
        if size <= 0 or not 0 <= overlap < size:
            raise ValueError(f"need size > 0 and 0 <= overlap < size, got size={size}, overlap={overlap}")
        step = size - overlap

        def starts(n):
            if n <= size:
                return [0]
            s = list(range(0, n - size, step))
            return s + [n - size]

        for y in starts(self.height):
            for x in starts(self.width):
                yield self.view((x, y, min(x + size, self.width), min(y + size, self.height)))

    # -- display --------------------------------------------------------------------------------
    def rendering(self, bands=None, max_size: int = DEFAULT_VIEW_SIZE, **kwargs) -> Rendering:
        return self.overview(max_size).rendering(bands, **kwargs)

    def render(self, bands=None, max_size: int = DEFAULT_VIEW_SIZE, **kwargs) -> np.ndarray:
        """RGB uint8 rendering of the whole scene (longer side <= ``max_size``) for this modality:
        percentile stretch (optical), dB window (SAR), thermal colormap (infrared). ``bands`` picks 1 or 3 bands."""
        return self.rendering(bands, max_size, **kwargs).rgb

    def plot(self, ax=None, bands=None, colorbar: bool = True, max_size: int = DEFAULT_VIEW_SIZE, **kwargs):
        """Show the scene with matplotlib in pixel coordinates; returns the axes."""
        return self.overview(max_size).plot(ax=ax, bands=bands, colorbar=colorbar, **kwargs)

    # -- representation -------------------------------------------------------------------------------
    def summary(self) -> dict:
        size = self.pixel_size_m()
        return {
            "name": self.name, "modality": self.modality, "units": self.units, "size": f"{self.width} x {self.height} px",
            "bands": ", ".join(self.band_names), "crs": str(self.crs) if self.crs else "none (pixel coordinates)",
            "pixel size": f"{size[0]:.3g} x {size[1]:.3g} m" if size else "unknown",
            **{k: v for k, v in self.meta.items() if isinstance(v, (str, int, float))},
        }

    def __repr__(self) -> str:
        return (f"Scene({self.name!r}, modality={self.modality!r}, units={self.units!r}, "
                f"size={self.width}x{self.height}, bands={self.band_names}, crs={self.crs})")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in self.summary().items())
        return f"<div><b>egx Scene</b><table>{rows}</table></div>"
