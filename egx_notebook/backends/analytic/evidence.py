"""Per-view inputs of the analytic backend: the evidence band per modality and the class masks.

Class masks are computed once per view and shared by referring and grounding, so a region is named with
exactly the detectors that grounding uses.
"""

from __future__ import annotations

import warnings

import weakref
from functools import cached_property

import numpy as np

from . import detectors
from .measure import robust_spread

#: Longest side of the zoomed-out scene context used for area classes (water, land cover) in referring.
CONTEXT_SIZE = 1024
_CONTEXTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

#: Pixels at least this large (m) are treated as satellite thermal imagery by the hot-target detector.
SATELLITE_PIXEL_M = 2.0
OPTICAL_NAMES = ("blue", "green", "red", "nir", "swir1", "swir2", "coastal", "cirrus")


class Evidence:
    """Lazily computed detector outputs for one :class:`~egx_notebook.imagery.View`."""

    def __init__(self, view):
        self.view = view
        self.modality = view.modality
        self.values = view.values
        self.valid = np.any(np.isfinite(self.values), axis=0)

    # -- bands --------------------------------------------------------------------------------------
    @cached_property
    def primary(self) -> np.ndarray:
        """The band whose level is discussed: SAR co-pol in dB, thermal band, optical brightness."""
        names = self.view.band_names
        if self.modality == "sar":
            for pol in ("vv", "hh", "intensity"):
                if pol in names:
                    return self.values[names.index(pol)]
            return self.values[0]
        if self.modality == "infrared":
            return self.values[0]
        vis = [names.index(b) for b in ("red", "green", "blue") if b in names] or list(range(min(3, len(names))))
        if len(vis) == 1:
            return self.values[vis[0]]
        with warnings.catch_warnings():  # all-NaN pixels (nodata) stay NaN without a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.values[vis], axis=0)

    @cached_property
    def cross_pol(self) -> np.ndarray | None:
        """SAR cross-pol band (VH or HV, dB) when the view also has its co-pol partner, else None."""
        names = self.view.band_names
        if self.modality != "sar":
            return None
        for co, cx in (("vv", "vh"), ("hh", "hv")):
            if co in names and cx in names and self.primary is self.values[names.index(co)]:
                return self.values[names.index(cx)]
        return None

    @cached_property
    def bands(self) -> dict[str, np.ndarray]:
        """Optical bands by common name (``gray`` single-band images count as red=green=blue)."""
        names = self.view.band_names
        out = {n: self.values[i] for i, n in enumerate(names) if n in OPTICAL_NAMES}
        if not out and len(names) == 1:
            out = {"red": self.values[0], "green": self.values[0], "blue": self.values[0]}
        elif not out and len(names) >= 3:
            out = {"red": self.values[0], "green": self.values[1], "blue": self.values[2]}
        return out

    @cached_property
    def indices(self) -> dict[str, np.ndarray]:
        return detectors.spectral_indices(self.bands) if self.modality == "optical" else {}

    @cached_property
    def spread(self) -> float:
        """Robust spread (MAD sigma) of the primary band: the unit of contrast scores."""
        return robust_spread(self.primary)

    # -- class masks ----------------------------------------------------------------------------------
    def mask(self, key: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_masks", {})
        if key not in cache:
            cache[key] = self._compute(key)
        return cache[key]

    @cached_property
    def crowns(self) -> tuple[np.ndarray, np.ndarray]:
        """(label image, score per crown) of individual tree crowns (optical views; empty elsewhere)."""
        if self.modality != "optical" or not self.bands:
            return np.zeros(self.primary.shape, dtype=np.int32), np.zeros(0)
        return detectors.tree_crowns(self.bands, self.valid, pixel_size_m=self.view.pixel_size_m(),
                                     return_scores=True)

    def instances(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(label image, score per instance) for classes whose detector separates touching objects, else None."""
        return self.crowns if key == "tree" and self.modality == "optical" else None

    def _compute(self, key: str) -> np.ndarray:
        v, p = self.valid, self.primary
        if self.modality == "sar":
            if key == "ship":
                return detectors.sar_bright_targets(p, v)
            if key == "water":
                return detectors.sar_water(p, v, cross=self.cross_pol)
        elif self.modality == "infrared":
            if key in ("person", "vehicle") and not self.satellite_thermal:
                # people and cars are warmer OR colder than the ground (day: hot ground, cold car glass)
                return detectors.thermal_objects(p, v)
            if key in ("hot_spot", "person", "vehicle"):
                return detectors.thermal_hot_targets(p, v, **self._hot_target_options())
            if key == "small_target":
                return detectors.thermal_hot_targets(p, v, small=True)
            if key == "hot_region":
                return detectors.thermal_hot_regions(p, v)
            if key == "cool_region":
                return detectors.thermal_hot_regions(-p, v)
        else:
            if key == "tree":
                return self.crowns[0] > 0
            fn = {"water": detectors.optical_water, "vegetation": detectors.optical_vegetation,
                  "cloud": detectors.optical_cloud, "built_up": detectors.optical_built_up,
                  "bare_soil": detectors.optical_bare_soil}.get(key)
            if fn is not None:
                return fn(self.bands, v)
        return np.zeros(p.shape, dtype=bool)

    def context_mask(self, key: str) -> np.ndarray:
        """The class mask computed on a zoomed-out view of the whole scene, sampled on this view's grid.

        Area classes such as water are decided by the scene's histogram (e.g. the sea/land split), which a small
        zoom-in window around a prompt may not show: an all-sea window has no dark mode of its own."""
        scene = self.view.scene
        ctx = _CONTEXTS.get(scene)
        if ctx is None:
            ctx = _CONTEXTS[scene] = Evidence(scene.overview(CONTEXT_SIZE))
        if ctx.view.window == self.view.window and ctx.view.shape == self.view.shape:
            return self.mask(key)
        return _resample_to(ctx.mask(key), ctx.view, self.view)

    @cached_property
    def satellite_thermal(self) -> bool:
        """True for thermal views with pixels of ``SATELLITE_PIXEL_M`` or more (Landsat, ECOSTRESS...)."""
        size = self.view.pixel_size_m()
        return size is not None and min(size) >= SATELLITE_PIXEL_M

    def _hot_target_options(self) -> dict:
        """Detector settings by ground resolution: satellite thermal (pixels of metres to 100 m) shows hot spots
        as a few pixels, so it uses a small window, single-pixel objects and a stricter contrast threshold;
        UAV / close-range frames (unknown or sub-2 m pixels) use the detector's defaults."""
        if self.satellite_thermal:
            return {"min_area": 1, "size": 11, "k": 10.0}
        return {}

    def evidence_band(self, key: str) -> np.ndarray:
        """The band a class is judged on (contrast, 'brightest', 'hottest')."""
        if self.modality == "optical":
            idx = self.indices
            if key == "water" and "ndwi" in idx:
                return idx["ndwi"]
            if key == "vegetation" and "ndvi" in idx:
                return idx["ndvi"]
            if key == "built_up" and "ndbi" in idx:
                return idx["ndbi"]
        return self.primary


def _resample_to(mask: np.ndarray, src_view, dst_view) -> np.ndarray:
    """Nearest-neighbour sampling of a mask on ``src_view``'s grid at the pixel centres of ``dst_view``."""
    to_scene = dst_view.pixel_transform
    from_scene = ~src_view.pixel_transform
    cols = np.arange(dst_view.width) + 0.5
    rows = np.arange(dst_view.height) + 0.5
    sx = np.floor(from_scene.a * (to_scene.a * cols + to_scene.c) + from_scene.c).astype(int)
    sy = np.floor(from_scene.e * (to_scene.e * rows + to_scene.f) + from_scene.f).astype(int)
    inside_x = (sx >= 0) & (sx < mask.shape[1])
    inside_y = (sy >= 0) & (sy < mask.shape[0])
    out = mask[np.ix_(sy.clip(0, mask.shape[0] - 1), sx.clip(0, mask.shape[1] - 1))]
    return out & inside_y[:, None] & inside_x[None, :]


def band_mean(values: np.ndarray, mask: np.ndarray, modality: str, db: bool = False) -> float:
    """Mean of ``values`` under ``mask``; SAR dB averaged in linear power (then back to dB)."""
    sel = values[mask & np.isfinite(values)]
    if sel.size == 0:
        return float("nan")
    if db:
        return float(10 * np.log10(np.mean(10 ** (sel / 10.0))))
    return float(np.mean(sel))
