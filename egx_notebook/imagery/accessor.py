"""The ``da.egx`` accessor: the Scene API on any xarray DataArray (numpy or dask, with or without ``.rio``).

    da = rioxarray.open_rasterio("S1.tif", chunks=True)
    da.egx.modality            # "sar"
    da.egx.refer(egx.Box(...))
    da.attrs["modality"] = "infrared"   # or da.egx.set(modality="infrared") to override detection
"""

from __future__ import annotations

import xarray as xr


@xr.register_dataarray_accessor("egx")
class EgxAccessor:
    """Scene methods on a DataArray; the :class:`~egx_notebook.imagery.scene.Scene` is built once, lazily."""

    _FORWARD = ("render", "rendering", "plot", "refer", "ground", "describe", "zoom_in", "zoom_out", "tiles",
                "view", "overview", "read", "modality", "units", "band_names", "crs", "transform", "width",
                "height", "shape", "summary", "pixel_size_m", "to_map", "to_pixels")

    def __init__(self, da: xr.DataArray):
        self._da = da
        self._scene = None
        self._options: dict = {}

    def set(self, **options) -> "EgxAccessor":
        """Set :func:`egx_notebook.open` options (``modality``, ``bands``, ``sar_scale``, ...) and rebuild."""
        self._options.update(options)
        self._scene = None
        return self

    @property
    def scene(self):
        """The Scene for this DataArray (modality from ``attrs['modality']`` or detection)."""
        if self._scene is None:
            from .open import open as open_scene

            opts = dict(self._options)
            opts.setdefault("modality", self._da.attrs.get("modality"))
            self._scene = open_scene(self._da, **opts)
        return self._scene

    def __getattr__(self, name):
        if name in EgxAccessor._FORWARD:
            return getattr(self.scene, name)
        raise AttributeError(f"'egx' accessor has no attribute {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._FORWARD))
