"""A :class:`View` is a window of a scene at a scale: what a backend (or a person) looks at.

Views read only their window, decimated when their scale is coarser than the scene's, and know the
exact affine map between their pixels and the scene's, so results computed on a view map back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from affine import Affine

from .analysis import Analysable
from .render import Rendering, choose_bands, render_array


@dataclass(frozen=True, eq=False)
class View(Analysable):
    """Window ``(x0, y0, x1, y1)`` (scene pixels, half-open) of ``scene``, sampled to ``shape = (h, w)``."""

    scene: object
    window: tuple[int, int, int, int]
    shape: tuple[int, int]

    # -- grid -----------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.shape[1])

    @property
    def height(self) -> int:
        return int(self.shape[0])

    @property
    def scale(self) -> tuple[float, float]:
        """Scene pixels per view pixel along x and y (1.0 = full resolution, 4.0 = zoomed out 4x)."""
        x0, y0, x1, y1 = self.window
        return (x1 - x0) / self.shape[1], (y1 - y0) / self.shape[0]

    @property
    def pixel_transform(self) -> Affine:
        """Affine from view pixels to scene pixels."""
        sx, sy = self.scale
        return Affine.translation(self.window[0], self.window[1]) @ Affine.scale(sx, sy)

    @property
    def transform(self) -> Affine:
        """Affine from view pixels to map coordinates."""
        return self.scene.transform @ self.pixel_transform

    @property
    def crs(self):
        return self.scene.crs

    @property
    def modality(self) -> str:
        return self.scene.modality

    @property
    def units(self) -> str:
        return self.scene.units

    @property
    def band_names(self) -> list[str]:
        return self.scene.band_names

    @property
    def is_full_resolution(self) -> bool:
        return self.scale == (1.0, 1.0)

    def to_scene_pixels(self, x, y):
        """Scene pixel coordinates of view pixel coordinates (exact)."""
        return self.pixel_transform @ (x, y)

    def from_scene_pixels(self, x, y):
        return ~self.pixel_transform @ (x, y)

    def region(self, prompt):
        """A prompt (or a scene :class:`~egx_notebook.prompts.Region`) as a region in this view's pixels."""
        from ..prompts import Region

        region = prompt if isinstance(prompt, Region) else prompt.to_pixels(self.scene)
        inv = ~self.pixel_transform
        return region.map_pixels(inv.a, inv.b, inv.d, inv.e, inv.c, inv.f, (self.height, self.width))

    def pixel_size_m(self) -> tuple[float, float] | None:
        """Ground size (m) of this view's pixels at its centre: from the CRS when the scene has one, else the
        scene's declared size (``egx.open(..., pixel_size_m=...)``) times this view's scale; None if unknown."""
        from .georef import pixel_size_m

        size = pixel_size_m(self.transform, self.crs, (self.width / 2, self.height / 2))
        declared = self.scene.meta.get("pixel_size_m")
        if size is None and declared is not None:
            sx, sy = self.scale
            size = (float(declared[0]) * sx, float(declared[1]) * sy)
        return size

    # -- data -----------------------------------------------------------------------------------
    @cached_property
    def values(self) -> np.ndarray:
        """Calibrated float32 values, shape (bands, h, w); NaN where there is no data. Read once."""
        return self.scene.read(self.window, self.shape)

    def band(self, name: str) -> np.ndarray:
        return self.values[self.band_names.index(name)]

    @property
    def valid(self) -> np.ndarray:
        """True where every band has data."""
        return np.all(np.isfinite(self.values), axis=0)

    def rendering(self, bands=None, **kwargs) -> Rendering:
        """The :class:`~egx_notebook.imagery.render.Rendering` of this view. When :attr:`values` has not been
        read yet, only the shown bands are read (and not kept): a 12-band scene's overview reads 3 bands."""
        if "values" in self.__dict__:
            return render_array(self.values, self.modality, self.band_names, self.units, bands=bands, **kwargs)
        idx = choose_bands(self.modality, self.band_names, bands)
        data = self.scene.read(self.window, self.shape, bands=idx)
        return render_array(data, self.modality, [self.band_names[i] for i in idx], self.units,
                            bands=list(range(len(idx))), **kwargs)

    def render(self, bands=None, **kwargs) -> np.ndarray:
        """RGB uint8 (h, w, 3) rendering for this modality (see :mod:`egx_notebook.imagery.render`)."""
        return self.rendering(bands, **kwargs).rgb

    def plot(self, ax=None, bands=None, colorbar: bool = True, **kwargs):
        """Show the view with matplotlib, in scene pixel coordinates (so scene results overlay directly)."""
        from .plotting import plot_rendering

        x0, y0, x1, y1 = self.window
        return plot_rendering(self.rendering(bands, **kwargs), (x0, x1, y1, y0), ax=ax, colorbar=colorbar,
                              title=f"{self.scene.name} [{self.modality}] window {self.window}")

    # -- navigation -----------------------------------------------------------------------------
    def zoom_out(self, factor: float = 2.0, max_size: int | None = None) -> "View":
        """A larger context around the same centre (``factor`` x the extent), at a coarser scale."""
        x0, y0, x1, y1 = self.window
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = (x1 - x0) * factor, (y1 - y0) * factor
        size = max_size or max(self.shape)
        return self.scene.view((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), max_size=size)

    def zoom_in(self, prompt, context: float = 2.0, **kwargs) -> "View":
        return self.scene.zoom_in(prompt, context=context, **kwargs)

    def __repr__(self) -> str:
        sx, sy = self.scale
        return f"View({self.scene.name!r}, window={self.window}, shape={self.shape}, scale={sx:.3g}x{sy:.3g})"


def fit_shape(width: float, height: float, max_size: int | None) -> tuple[int, int]:
    """Output (h, w) for a window of ``width x height`` scene pixels, so the longer side <= ``max_size``."""
    w, h = max(1, round(width)), max(1, round(height))
    if max_size is None or max(w, h) <= max_size:
        return h, w
    f = max(w, h) / max_size
    return max(1, math.ceil(h / f - 1e-9)), max(1, math.ceil(w / f - 1e-9))
