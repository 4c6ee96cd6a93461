"""Which sensor family a raster comes from (optical, SAR, infrared) and what its bands are called."""

from __future__ import annotations

import re

import numpy as np

from ..errors import ModalityError

MODALITIES = ("optical", "sar", "infrared")

_ALIASES = {
    "optical": "optical", "rgb": "optical", "msi": "optical", "multispectral": "optical",
    "sar": "sar", "radar": "sar",
    "infrared": "infrared", "ir": "infrared", "thermal": "infrared", "tir": "infrared", "lwir": "infrared",
}

_SAR_WORDS = re.compile(r"(^|[^a-z])(vv|vh|hh|hv|sigma0|gamma0|beta0|sar|s1[ab]?_|grd|backscatter)([^a-z]|$)", re.I)
_THERMAL_WORDS = re.compile(r"(^|[^a-z])(lst|tir|lwir|thermal|temperature|brightness.?temp|st_b10|bt)([^a-z]|$)", re.I)

#: Sentinel-2 band names in file order (L1C has all 13; L2A usually drops B10).
S2_L1C = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"]
S2_L2A = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
#: Common names of Sentinel-2 and Landsat 8/9 bands.
S2_COMMON = {"B1": "coastal", "B2": "blue", "B3": "green", "B4": "red", "B5": "rededge1", "B6": "rededge2",
             "B7": "rededge3", "B8": "nir", "B8A": "nir08", "B9": "water_vapour", "B10": "cirrus",
             "B11": "swir1", "B12": "swir2"}
LANDSAT89_COMMON = {1: "coastal", 2: "blue", 3: "green", 4: "red", 5: "nir", 6: "swir1", 7: "swir2",
                    8: "pan", 9: "cirrus", 10: "tir1", 11: "tir2"}


def normalize_modality(name: str | None) -> str | None:
    """``"thermal"`` -> ``"infrared"`` etc.; raises :class:`ModalityError` for unknown names."""
    if name is None:
        return None
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise ModalityError(f"unknown modality {name!r}; use one of {', '.join(MODALITIES)} "
                            "(aliases: thermal/ir -> infrared, radar -> sar, rgb -> optical)")
    return _ALIASES[key]


def detect_modality(text_hints: list[str], sample: np.ndarray, dtype: str, band_count: int) -> str:
    """Guess the modality from metadata words (file names, band descriptions, tags) and then from values.

    Words win over values: VV/VH/HH/HV, sigma0, GRD mean SAR; LST, TIR, B10, temperature mean infrared.
    From values: a single float band mostly within 150-400 is temperature in K; float bands with many
    negative values in -50..+30 are SAR backscatter in dB. Everything else is optical. A PNG of SAR or
    thermal data carries no such hints: pass ``modality=`` explicitly.
    """
    hints = " ".join(h for h in text_hints if h)
    if _SAR_WORDS.search(hints):
        return "sar"
    if _THERMAL_WORDS.search(hints):
        return "infrared"
    finite = sample[np.isfinite(sample)]
    if finite.size and np.issubdtype(np.dtype(dtype), np.floating):
        lo, hi = np.percentile(finite, [2, 98])
        if band_count <= 2 and 150 <= lo and hi <= 400:
            return "infrared"
        if band_count <= 3 and np.mean(finite < 0) > 0.3 and -60 <= lo and hi <= 40:
            return "sar"
    return "optical"


def default_band_names(modality: str, count: int, descriptions: list[str | None], colorinterp: list[str],
                       dtype: str, file_hints: list[str]) -> list[str]:
    """Lower-case band names used for rendering and indices (``red``, ``nir``, ``vv``, ``lst``, ...)."""
    desc = [d for d in descriptions if d]
    if len(desc) == count:
        names = [_common_name(d) for d in desc]
        if len(set(names)) == count:
            return names
    if modality == "optical":
        ci = [c.lower() for c in colorinterp]
        if ci[:3] == ["red", "green", "blue"]:
            return ["red", "green", "blue", "alpha" if ci[3:4] == ["alpha"] else "nir"][:count] + [
                f"b{i}" for i in range(5, count + 1)]
        if count == 13:
            return [S2_COMMON[b] for b in S2_L1C]
        if count == 12:
            return [S2_COMMON[b] for b in S2_L2A]
        if count in (3, 4):
            return ["red", "green", "blue", "nir"][:count]
    if modality == "sar" and count <= 2:
        pols = [p for h in file_hints for p in re.findall(r"(?<![a-z])(vv|vh|hh|hv)(?![a-z])", h.lower())]
        if len(pols) == count and len(set(pols)) == count:
            return pols
        return ["vv", "vh"][:count] if count == 2 else ["intensity"]
    if modality == "infrared" and count == 1:
        return ["tir"]
    if count == 1:
        return ["gray"]
    return [f"b{i}" for i in range(1, count + 1)]


def _common_name(description: str) -> str:
    d = description.strip()
    if d.upper() in S2_COMMON:
        return S2_COMMON[d.upper()]
    return re.sub(r"[^a-z0-9]+", "_", d.lower()).strip("_") or "band"
