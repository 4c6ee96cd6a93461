"""From stored numbers to physical units: one small, explicit recipe per band.

A :class:`Calibration` is applied identically to dask-backed arrays and to windows read directly
with rasterio, so every path through the library sees the same values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: What a calibrated band holds after :meth:`Calibration.apply`.
UNITS = ("dB", "dB (relative)", "K", "reflectance", "DN", "relative")


@dataclass(frozen=True)
class Calibration:
    """``physical = op(raw * scale + offset)`` where ``op`` is one of:

    - ``None``: identity;
    - ``"power_to_db"``: ``10 log10(x)`` (SAR intensity / sigma0 in linear power);
    - ``"amplitude_to_db"``: ``20 log10(x)`` (SAR amplitude, e.g. 8-bit chips);
    - ``"brightness_temperature"``: ``K2 / ln(K1 / L + 1)`` from spectral radiance ``L`` (Landsat TIRS).

    Non-positive values before a logarithm become NaN (no data), never ``-inf``.
    """

    scale: float = 1.0
    offset: float = 0.0
    op: str | None = None
    k1: float | None = None
    k2: float | None = None
    units: str = "DN"

    def apply(self, raw):
        """Calibrate a numpy or dask array (float32 out). Works lazily on dask arrays."""
        x = raw.astype("float32")
        if self.scale != 1.0 or self.offset != 0.0:
            x = x * np.float32(self.scale) + np.float32(self.offset)
        if self.op is None:
            return x
        positive = x > 0
        safe = _where(positive, x, np.float32(1.0))
        if self.op == "power_to_db":
            y = 10.0 * _log10(safe)
        elif self.op == "amplitude_to_db":
            y = 20.0 * _log10(safe)
        elif self.op == "brightness_temperature":
            y = np.float32(self.k2) / _log(np.float32(self.k1) / safe + 1.0)
        else:  # pragma: no cover - guarded by the constructors below
            raise ValueError(f"unknown calibration op {self.op!r}")
        return _where(positive, y.astype("float32"), np.float32(np.nan))

    @property
    def is_identity(self) -> bool:
        return self.op is None and self.scale == 1.0 and self.offset == 0.0


def _where(cond, a, b):
    """``where`` that stays lazy for xarray/dask inputs."""
    if hasattr(cond, "dims"):
        import xarray as xr

        return xr.where(cond, a, b, keep_attrs=True)
    return np.where(cond, a, b)


def _log10(x):
    return np.log10(x)


def _log(x):
    return np.log(x)


IDENTITY = Calibration()


def sar_calibration(sample: np.ndarray, dtype: str, scale: str | None = None) -> Calibration:
    """Choose the SAR calibration from the data so the logarithm is never taken twice.

    ``scale`` forces one of ``"db"``, ``"power"``, ``"amplitude"``. Otherwise: any clearly negative
    values mean the data are already in dB; integer data are amplitude counts (relative dB);
    non-negative floats are linear power (sigma0 / intensity).
    """
    if scale is None:
        scale = guess_sar_scale(sample, dtype)
    scale = scale.lower()
    if scale == "db":
        return Calibration(units="dB")
    if scale == "power":
        return Calibration(op="power_to_db", units="dB")
    if scale == "amplitude":
        relative = np.issubdtype(np.dtype(dtype), np.integer)
        return Calibration(op="amplitude_to_db", units="dB (relative)" if relative else "dB")
    raise ValueError(f"sar scale must be 'db', 'power' or 'amplitude', not {scale!r}")


def guess_sar_scale(sample: np.ndarray, dtype: str) -> str:
    """``"db"``, ``"power"`` or ``"amplitude"`` from a sample of finite values."""
    finite = sample[np.isfinite(sample)]
    if np.issubdtype(np.dtype(dtype), np.integer):
        return "amplitude"
    if finite.size == 0:
        return "db"
    if np.mean(finite < 0) > 0.05:
        return "db"  # linear power and amplitude are never negative
    if np.median(finite) > 3.0:
        return "amplitude"  # calibrated float amplitude (e.g. DN-like floats)
    return "power"


_MTL_LINE = re.compile(r"^\s*([A-Z0-9_]+)\s*=\s*\"?([^\"]*)\"?\s*$")


def read_mtl(path: str | Path) -> dict[str, str]:
    """Parse a Landsat ``*_MTL.txt`` metadata file into a flat ``{KEY: value}`` dict."""
    out: dict[str, str] = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        m = _MTL_LINE.match(line)
        if m and m.group(1) not in ("GROUP", "END_GROUP"):
            out[m.group(1)] = m.group(2).strip()
    return out


def landsat_band_calibration(mtl: dict[str, str], band: int) -> Calibration | None:
    """Calibration for Landsat band ``band`` from MTL constants, or ``None`` when they are absent.

    Thermal bands (TIRS 10/11, TM/ETM+ 6) become brightness temperature in K; reflective bands
    become top-of-atmosphere reflectance (without the sun-elevation correction when it is absent).
    """
    def num(key: str) -> float | None:
        try:
            return float(mtl[key])
        except (KeyError, ValueError):
            return None

    suffix = f"BAND_{band}"
    k1, k2 = num(f"K1_CONSTANT_{suffix}"), num(f"K2_CONSTANT_{suffix}")
    ml, al = num(f"RADIANCE_MULT_{suffix}"), num(f"RADIANCE_ADD_{suffix}")
    if k1 and k2 and ml is not None and al is not None:
        return Calibration(scale=ml, offset=al, op="brightness_temperature", k1=k1, k2=k2, units="K")
    rm, ra = num(f"REFLECTANCE_MULT_{suffix}"), num(f"REFLECTANCE_ADD_{suffix}")
    if rm is not None and ra is not None:
        sun = num("SUN_ELEVATION")
        factor = 1.0 / math.sin(math.radians(sun)) if sun else 1.0
        return Calibration(scale=rm * factor, offset=ra * factor, units="reflectance")
    return None


def find_mtl(path: str | Path) -> Path | None:
    """The ``*_MTL.txt`` beside a Landsat band file, if there is exactly one."""
    p = Path(path)
    if not p.parent.is_dir():
        return None
    found = sorted(p.parent.glob("*_MTL.txt")) + sorted(p.parent.glob("*_MTL.TXT"))
    return found[0] if len(found) == 1 else None


def landsat_band_number(path: str | Path) -> int | None:
    """The band number in a Landsat file name such as ``LC08_..._B10.TIF`` or ``l8_B4.tif``."""
    m = re.search(r"_B(\d{1,2})(?:\.|_|$)", Path(path).name, flags=re.IGNORECASE)
    return int(m.group(1)) if m else None
