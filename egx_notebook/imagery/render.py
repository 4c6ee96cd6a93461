"""Modality-aware rendering of calibrated bands to RGB uint8, for display and for RGB-only models.

- optical: percentile stretch (2-98 % by default) of a true-colour (or chosen) band triple;
- sar: backscatter in dB (never log twice: the scene is already in dB) clipped to a window, grey;
- infrared: temperature (K) or relative brightness through a perceptual colormap (``inferno``).
No-data pixels are black, or transparent with ``alpha=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Default dB window for calibrated SAR backscatter (sea ~ -25 dB, urban/ships > 0 dB).
SAR_DB_WINDOW = (-25.0, 5.0)
TRUE_COLOUR = ("red", "green", "blue")


@dataclass
class Rendering:
    """An RGB(A) uint8 image plus what is needed for a legend."""

    rgb: np.ndarray
    vmin: float | None = None
    vmax: float | None = None
    cmap: str | None = None
    label: str = ""
    bands: tuple[str, ...] = ()


def robust_range(values: np.ndarray, percentiles=(2.0, 98.0)) -> tuple[float, float]:
    finite = values[np.isfinite(values)]  # a copy, so the percentile may partition it in place
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, percentiles, overwrite_input=True))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def stretch(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Linear map of [vmin, vmax] to 0..1 (clipped); NaN stays NaN. One new array, worked on in place."""
    span = vmax - vmin
    out = values - vmin
    dtype = np.result_type(out, span)  # the type ``(values - vmin) / span`` would have
    dtype = dtype if dtype.kind == "f" else np.dtype("float64")
    out = out if out.dtype == dtype else out.astype(dtype)
    out /= span
    return np.clip(out, 0.0, 1.0, out=out)


def choose_bands(modality: str, names: list[str], bands=None) -> list[int]:
    """Indices (0-based) of the bands to show: explicit names/indices, else true colour / first band."""
    if bands is not None:
        chosen = []
        for b in ([bands] if isinstance(bands, (str, int)) else list(bands)):
            if isinstance(b, str):
                if b.lower() not in names:
                    raise KeyError(f"band {b!r} not in this scene; it has {names}")
                chosen.append(names.index(b.lower()))
            else:
                if not 0 <= int(b) < len(names):
                    raise KeyError(f"band index {b} out of range 0..{len(names) - 1}")
                chosen.append(int(b))
        if len(chosen) not in (1, 3):
            raise ValueError(f"choose 1 band (grey / colormap) or 3 bands (RGB), not {len(chosen)}")
        return chosen
    if modality == "optical":
        if all(c in names for c in TRUE_COLOUR):
            return [names.index(c) for c in TRUE_COLOUR]
        return [0, 1, 2] if len(names) >= 3 else [0]
    if modality == "sar":
        for pol in ("vv", "hh", "intensity"):
            if pol in names:
                return [names.index(pol)]
    return [0]


def render_array(data: np.ndarray, modality: str, names: list[str], units: str, *, bands=None,
                 vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
                 percentiles=(2.0, 98.0), alpha: bool = False) -> Rendering:
    """Render calibrated ``data`` (bands, h, w) for this modality. See the module docstring.

    Works band by band and a few rows at a time straight into the uint8 output, so the memory it needs beyond
    ``data`` is little more than the RGB image itself."""
    idx = choose_bands(modality, names, bands)
    valid = np.ones(data.shape[1:], dtype=bool)
    for i in idx:
        valid &= np.isfinite(data[i])
    label = units
    if len(idx) == 3:
        rgb = np.empty(data.shape[1:] + (3,), dtype="uint8")
        for c, i in enumerate(idx):
            band = data[i].astype("float32", copy=False)
            lo, hi = (vmin, vmax) if vmin is not None and vmax is not None else robust_range(band, percentiles)
            _stretch_rows(band, lo, hi, rgb[..., c])
        lo = hi = None
        cmap = None
    else:
        band = data[idx[0]].astype("float32", copy=False)
        if modality == "sar":
            default = SAR_DB_WINDOW if units == "dB" else robust_range(band, (1.0, 99.5))
            cmap = cmap or "gray"
            label = f"backscatter ({units})"
        elif modality == "infrared":
            default = robust_range(band, percentiles)
            cmap = cmap or "inferno"
            label = {"K": "temperature (K)"}.get(units, f"thermal ({units})")
        else:
            default = robust_range(band, percentiles)
            cmap = cmap or "gray"
        lo = default[0] if vmin is None else vmin
        hi = default[1] if vmax is None else vmax
        rgb = _colormap(band, lo, hi, cmap)
    rgb[~valid] = 0
    if alpha:
        rgb = np.concatenate([rgb, (valid * 255).astype("uint8")[..., None]], axis=-1)
    return Rendering(rgb, lo, hi, cmap, label, tuple(names[i] for i in idx))


def _to_bytes(values01: np.ndarray) -> np.ndarray:
    """0..1 (NaN allowed) to uint8 by rounding half up; NaN -> 0. Works in place on ``values01``."""
    values01 *= 255.0
    values01 += 0.5
    np.nan_to_num(values01, copy=False, nan=0.0)
    return values01.astype("uint8")


#: Rows rendered at a time: float temporaries stay a few MB whatever the image size (a matplotlib colormap
#: returns float64 RGBA, 32 bytes per pixel).
ROWS = 256


def _stretch_rows(band: np.ndarray, vmin, vmax, out: np.ndarray) -> None:
    """``out`` (uint8, band's shape) = the bytes of ``stretch(band, vmin, vmax)``, ``ROWS`` rows at a time."""
    for r in range(0, band.shape[0], ROWS):
        out[r:r + ROWS] = _to_bytes(stretch(band[r:r + ROWS], vmin, vmax))


def _colormap(band: np.ndarray, vmin, vmax, cmap: str) -> np.ndarray:
    """RGB uint8 of ``band`` stretched to [vmin, vmax] through ``cmap`` (grey: one byte in all three channels)."""
    if cmap in ("gray", "grey"):
        grey = np.empty(band.shape, dtype="uint8")
        _stretch_rows(band, vmin, vmax, grey)
        return np.repeat(grey[..., None], 3, axis=-1)
    from matplotlib import colormaps

    cm = colormaps[cmap]
    out = np.empty(band.shape + (3,), dtype="uint8")
    for r in range(0, band.shape[0], ROWS):
        values01 = np.nan_to_num(stretch(band[r:r + ROWS], vmin, vmax), nan=0.0)
        out[r:r + ROWS] = _to_bytes(cm(values01)[..., :3])
    return out
