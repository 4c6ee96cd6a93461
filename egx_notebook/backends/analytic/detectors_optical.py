"""Optical detectors: spectral indices and simple land-cover rules.

``bands`` maps lower-case names among 'coastal', 'blue', 'green', 'red',
'nir', 'swir1', 'swir2', 'cirrus', 'tir' to 2-D arrays of one shape.
Reflectance scale: values whose 99th percentile is <= 1.5 are taken as
reflectance (0..1); larger values whose maximum is <= 255 as 8-bit DN
(divided by 255, relative only); anything else as scaled reflectance x 10000
(Sentinel-2 / Landsat surface reflectance convention). Normalised indices do
not depend on the scale; only the brightness tests (cloud, RGB fall-backs)
do. A pixel is valid where every band used is finite and ``valid`` is True.
"""
from __future__ import annotations

import numpy as np

from .detectors_common import prepare, robust_threshold

__all__ = ["spectral_indices", "optical_water", "optical_vegetation", "optical_cloud",
           "optical_built_up", "optical_bare_soil"]


def _nd(a, b):
    """Normalised difference (a - b) / (a + b); NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = a + b
        out = (a - b) / s
    out[~np.isfinite(out) | (s == 0)] = np.nan
    return out


def _bands(bands, valid, names=None):
    """Float copies of the bands present (restricted to ``names``), a joint
    valid mask and the reflectance scale factor."""
    if not bands:
        raise ValueError("no bands given")
    got = {k.lower(): v for k, v in bands.items()
           if v is not None and (names is None or k.lower() in names)}
    out, v = {}, None
    for k, a in got.items():
        arr, ok = prepare(a, valid)
        out[k] = arr
        v = ok if v is None else v & ok
    if v is None:
        v = prepare(next(iter(bands.values())), valid)[1]
    vis = [out[k][v] for k in ("blue", "green", "red") if k in out]
    scale = 1.0
    if vis and v.any():
        allv = np.concatenate([a[:: max(1, a.size // 200_000)] for a in vis])
        p99, mx = np.percentile(allv, 99), allv.max()
        scale = 1.0 if p99 <= 1.5 else (1 / 255.0 if mx <= 255 else 1e-4)
    if scale != 1.0:
        for a in out.values():  # our own copies (prepare): scale in place
            a *= scale
    return out, v


def spectral_indices(bands) -> dict[str, np.ndarray]:
    """NDVI (nir, red), NDWI (McFeeters: green, nir), MNDWI (green, swir1) and
    NDBI (swir1, nir), each only when its bands are present. NaN where a band
    is not finite or the denominator is zero."""
    b = {k.lower(): np.asarray(v, dtype=np.float64) for k, v in bands.items()}
    pairs = {"ndvi": ("nir", "red"), "ndwi": ("green", "nir"),
             "mndwi": ("green", "swir1"), "ndbi": ("swir1", "nir")}
    return {name: _nd(b[p], b[q]) for name, (p, q) in pairs.items() if p in b and q in b}


def _rgb(b):
    return all(k in b for k in ("blue", "green", "red"))


def _empty_if_invalid(v):
    return np.zeros(v.shape, bool)


def optical_water(bands, valid=None) -> np.ndarray:
    """Open water (bool mask).

    Uses MNDWI (green, swir1) when swir1 exists, else NDWI (green, nir): water
    where the index exceeds its Otsu threshold clipped to [-0.1, 0.3] (0.0 is
    the textbook split; the clip keeps a scene without water from being cut
    in half) and, with blue and red, mean visible reflectance < 0.25 (not
    cloud or snow). With neither, an RGB rule: dark (mean visible reflectance below
    0.12, i.e. DN < ~31 for 8-bit data) and blue >= red.
    Without green or any of these bands: empty.
    """
    b, v = _bands(bands, valid)
    if "green" in b and ("swir1" in b or "nir" in b):
        idx = _nd(b["green"], b["swir1"] if "swir1" in b else b["nir"])
        ok = v & np.isfinite(idx)
        if not ok.any():
            return _empty_if_invalid(v)
        t = float(np.clip(robust_threshold(idx[ok], "otsu"), -0.1, 0.3))
        water = ok & (idx > t)
        if _rgb(b):  # clouds and snow also have a high (M)NDWI but are bright
            water &= (b["blue"] + b["green"] + b["red"]) / 3 < 0.25
        return water
    if _rgb(b):
        bright = (b["blue"] + b["green"] + b["red"]) / 3
        return v & (bright < 0.12) & (b["blue"] >= b["red"])
    return _empty_if_invalid(v)


def optical_vegetation(bands, valid=None, *, ndvi_min: float = 0.3) -> np.ndarray:
    """Green vegetation (bool mask).

    Uses NDVI (nir, red) > ``ndvi_min``. Without nir: excess-green index on
    chromatic coordinates, ``2g - r - b > 0.05`` with r, g, b = band / (R+G+B)
    (needs blue, green, red). Otherwise empty.
    """
    b, v = _bands(bands, valid)
    if "nir" in b and "red" in b:
        ndvi = _nd(b["nir"], b["red"])
        return v & np.isfinite(ndvi) & (ndvi > ndvi_min)
    if _rgb(b):
        s = b["red"] + b["green"] + b["blue"]
        with np.errstate(divide="ignore", invalid="ignore"):
            exg = (2 * b["green"] - b["red"] - b["blue"]) / s
        return v & np.isfinite(exg) & (exg > 0.05)
    return _empty_if_invalid(v)


def optical_cloud(bands, valid=None) -> np.ndarray:
    """Opaque (and, with a cirrus band, thin) cloud (bool mask).

    Fmask-like tests on reflectance: bright (mean of blue, green, red > 0.3),
    white (mean absolute deviation of the visible bands / their mean < 0.7);
    when swir1 exists also swir1 > 0.1 and NDSI (green, swir1) < 0.8 (snow
    is dark in SWIR); when nir exists, NDVI < 0.3. With RGB alone (no
    spectral test tells sand or concrete from cloud) it is stricter: mean >
    0.5, whiteness < 0.35 and excess green (2g - r - b) / (r + g + b) <=
    0.05 (sunlit canopy is bright but green). With a 'cirrus' band,
    pixels with cirrus reflectance > 0.02 are added. Needs blue, green,
    red; otherwise only the cirrus test (or empty).
    """
    b, v = _bands(bands, valid)
    cloud = np.zeros(v.shape, bool)
    if _rgb(b):
        vis = np.stack([b["blue"], b["green"], b["red"]])
        mean = vis.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            white = np.abs(vis - mean).sum(axis=0) / mean
        cloud = (mean > 0.3) & (white < 0.7)
        if "swir1" in b:
            cloud &= (b["swir1"] > 0.1) & ~(_nd(b["green"], b["swir1"]) >= 0.8)
        if "nir" in b:
            cloud &= ~(_nd(b["nir"], b["red"]) >= 0.3)
        elif "swir1" not in b:  # RGB only: no NIR/SWIR test, so stricter: brighter, flatter and never green
            with np.errstate(divide="ignore", invalid="ignore"):
                green = (2 * b["green"] - b["red"] - b["blue"]) / (3 * mean)
            cloud &= (mean > 0.5) & (white < 0.35) & ~(green > 0.05)
    if "cirrus" in b:
        cloud |= b["cirrus"] > 0.02
    return v & cloud


def _not_water_cloud_veg(b, bands, valid):
    return ~optical_water(bands, valid) & ~optical_cloud(bands, valid) & ~optical_vegetation(bands, valid)


def optical_built_up(bands, valid=None) -> np.ndarray:
    """Built-up / impervious surfaces (bool mask).

    With swir1 and nir: NDBI (swir1, nir) > 0 and NDVI < 0.25 and not water,
    cloud or vegetation, and not bare-soil-like red-dominant surfaces
    (red > 1.15 * blue). Without swir1 (e.g. RGB or RGB+NIR): greyish (max-min
    of the visible bands < 20% of their mean), moderately bright (mean visible
    > 0.08, or above the median for 8-bit DN) and not water, cloud or
    vegetation; this is a weak rule (roads, rocks and bare soil also match).
    """
    b, v = _bands(bands, valid)
    rest = _not_water_cloud_veg(b, bands, valid)
    if "swir1" in b and "nir" in b:
        ndbi = _nd(b["swir1"], b["nir"])
        m = v & rest & (ndbi > 0)
        if "red" in b:
            m &= ~(_nd(b["nir"], b["red"]) >= 0.25)
            if "blue" in b:
                m &= ~(b["red"] > 1.15 * b["blue"])
        return m
    if _rgb(b):
        vis = np.stack([b["blue"], b["green"], b["red"]])
        mean = vis.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            grey = (vis.max(axis=0) - vis.min(axis=0)) / mean < 0.2
        t = min(0.08, float(np.median(mean[v]))) if v.any() else 0.08
        return v & rest & grey & (mean > t)
    return _empty_if_invalid(v)


def optical_bare_soil(bands, valid=None) -> np.ndarray:
    """Bare soil (bool mask).

    With swir1, nir, red and blue: bare-soil index BSI = ((swir1 + red) -
    (nir + blue)) / ((swir1 + red) + (nir + blue)) > 0, NDVI < 0.25, red >=
    blue (soil is reddish/brown), not water or cloud. Without swir1/nir: RGB
    rule red > green > blue, red > 1.15 * blue, NDVI-free excess-green <= 0,
    not water or cloud. Otherwise empty.
    """
    b, v = _bands(bands, valid)
    base = v & ~optical_water(bands, valid) & ~optical_cloud(bands, valid)
    if all(k in b for k in ("swir1", "nir", "red", "blue")):
        bsi = _nd(b["swir1"] + b["red"], b["nir"] + b["blue"])
        ndvi = _nd(b["nir"], b["red"])
        return base & (bsi > 0) & (ndvi < 0.25) & (b["red"] >= b["blue"])
    if _rgb(b):
        r, g, bl = b["red"], b["green"], b["blue"]
        return base & (r > g) & (g > bl) & (r > 1.15 * bl) & ~optical_vegetation(bands, valid)
    return _empty_if_invalid(v)
