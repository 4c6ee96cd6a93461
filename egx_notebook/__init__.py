"""egx-notebook: referring and grounding on optical, SAR and thermal imagery with visual prompts.

    import egx_notebook as egx
    scene = egx.open("S1_VV_VH.tif")                 # lazy; modality and units detected
    scene.refer(egx.Box(10, 20, 60, 80))             # what is inside my prompt?
    scene.ground("the largest ship").to_geodataframe()

Heavy dependencies (rasterio, xarray, geopandas, torch, leafmap) load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "open": ("egx_notebook.imagery.open", "open"),
    "Scene": ("egx_notebook.imagery.scene", "Scene"),
    "View": ("egx_notebook.imagery.view", "View"),
    "Point": ("egx_notebook.prompts.shapes", "Point"),
    "Box": ("egx_notebook.prompts.shapes", "Box"),
    "FreeForm": ("egx_notebook.prompts.shapes", "FreeForm"),
    "Prompt": ("egx_notebook.prompts.shapes", "Prompt"),
    "Region": ("egx_notebook.prompts.region", "Region"),
    "from_geojson": ("egx_notebook.prompts.shapes", "from_geojson"),
    "Referring": ("egx_notebook.results.referring", "Referring"),
    "Grounding": ("egx_notebook.results.grounding", "Grounding"),
    "Detection": ("egx_notebook.results.grounding", "Detection"),
    "refer": ("egx_notebook.api", "refer"),
    "ground": ("egx_notebook.api", "ground"),
    "describe": ("egx_notebook.api", "describe"),
    "list_backends": ("egx_notebook.backends.registry", "list_backends"),
    "get_backend": ("egx_notebook.backends.registry", "get_backend"),
    "register_backend": ("egx_notebook.backends.registry", "register_backend"),
    "Explorer": ("egx_notebook.ui", "Explorer"),
    "errors": ("egx_notebook.errors", None),
    "sample_data": ("egx_notebook.sample_data", None),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'egx_notebook' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    if name == "open" or name == "Scene":
        importlib.import_module("egx_notebook.imagery.accessor")  # registers da.egx
    return value


def __dir__():
    return __all__
