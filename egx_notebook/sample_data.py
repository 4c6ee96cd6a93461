"""Sample scenes.

**Made by this project** (synthetic, offline, deterministic): :func:`synthetic_sar`, :func:`synthetic_thermal`,
:func:`synthetic_optical` write small georeferenced GeoTIFFs with physically plausible values (Sentinel-1-like
backscatter in dB with gamma speckle, land surface temperature in K, four-band surface reflectance) and known
objects, returned with their ground truth. They are for demos, teaching and tests; they are not real imagery.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: A UTM zone 33N origin near the Adriatic coast; 10 m pixels.
ORIGIN = (400000.0, 4800000.0)
CRS = "EPSG:32633"


@dataclass
class SampleScene:
    """A written sample: the GeoTIFF ``path``, its modality and ground-truth objects as pixel boxes."""

    path: Path
    modality: str
    objects: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)

    def open(self):
        from .imagery.open import open as open_scene

        return open_scene(self.path, modality=self.modality)


def _write(path: Path, data: np.ndarray, res: float, descriptions, nodata=None, tags=None) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    data = data if data.ndim == 3 else data[None]
    profile = {"driver": "GTiff", "height": data.shape[1], "width": data.shape[2], "count": data.shape[0],
               "dtype": str(data.dtype), "crs": CRS, "transform": from_origin(*ORIGIN, res, res),
               "compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}
    if nodata is not None:
        profile["nodata"] = nodata
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return path


def _out(path, name: str) -> Path:
    if path is None:
        return Path(tempfile.mkdtemp(prefix="egx-sample-")) / name
    path = Path(path)
    return path / name if path.suffix.lower() not in (".tif", ".tiff") else path


def synthetic_sar(path=None, size: int = 512, ships: int = 6, seed: int = 0) -> SampleScene:
    """A Sentinel-1-like VV/VH scene in dB (10 m): open sea (about -22 dB VV, 4-look gamma speckle), a land
    strip with fields and a town (bright), and ``ships`` ships (small bright elongated targets, +5..+15 dB)."""
    rng = np.random.default_rng(seed)
    h = w = size
    looks = 4
    sigma0 = np.full((h, w), 10 ** (-22 / 10), dtype="float64")
    land = np.zeros((h, w), dtype=bool)
    coast = (0.72 * w + 0.05 * w * np.sin(np.arange(h) / h * 6.0)).astype(int)
    for r in range(h):
        land[r, coast[r]:] = True
    sigma0[land] = 10 ** (rng.normal(-9, 1.5, land.sum()) / 10)
    town = (slice(int(0.15 * h), int(0.3 * h)), slice(int(0.8 * w), int(0.92 * w)))
    sigma0[town] = 10 ** (rng.normal(2, 3, sigma0[town].shape) / 10)
    boxes = []
    for _ in range(ships):
        for _attempt in range(100):
            L, W = int(rng.integers(8, 24)), int(rng.integers(3, 6))
            horizontal = rng.random() < 0.5
            bh, bw = (W, L) if horizontal else (L, W)
            y0, x0 = int(rng.integers(8, h - bh - 8)), int(rng.integers(8, int(0.6 * w) - bw))
            box = (x0, y0, x0 + bw, y0 + bh)
            if all(x0 > b[2] + 10 or b[0] > box[2] + 10 or y0 > b[3] + 10 or b[1] > box[3] + 10 for b in boxes):
                break
        sigma0[y0:y0 + bh, x0:x0 + bw] = 10 ** (rng.uniform(5, 15, (bh, bw)) / 10)
        boxes.append(box)
    speckle = rng.gamma(looks, 1.0 / looks, size=(2, h, w))
    vv = 10 * np.log10(sigma0 * speckle[0])
    vh = 10 * np.log10(sigma0 * 10 ** (-7 / 10) * speckle[1])
    data = np.stack([vv, vh]).astype("float32")
    out = _write(_out(path, "synthetic_s1_vv_vh_db.tif"), data, 10.0, ["VV", "VH"],
                 tags={"egx_sample": "synthetic (made by egx-notebook)", "units": "dB"})
    water = [(0, 0, int(coast.min()), h)]
    return SampleScene(out, "sar", {"ship": boxes, "water": water})


def synthetic_thermal(path=None, size: int = 400, hot_spots: int = 5, seed: int = 1) -> SampleScene:
    """Land surface temperature in K (30 m): a smooth 295-305 K background, a cool lake (~290 K), a warm
    town (~312 K) and ``hot_spots`` small fires/industrial hot spots (330-360 K)."""
    rng = np.random.default_rng(seed)
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w] / size
    t = 300 + 3 * np.sin(3 * xx) * np.cos(2 * yy) + rng.normal(0, 0.4, (h, w))
    lake = (xx - 0.3) ** 2 / 0.02 + (yy - 0.7) ** 2 / 0.01 < 1
    t[lake] = 290 + rng.normal(0, 0.2, lake.sum())
    town = (xx > 0.6) & (xx < 0.85) & (yy > 0.55) & (yy < 0.8)
    t[town] += 10
    boxes = []
    for _ in range(hot_spots):
        r = int(rng.integers(1, 3))
        cy, cx = int(rng.integers(10, int(0.45 * h))), int(rng.integers(10, w - 10))
        t[cy - r:cy + r + 1, cx - r:cx + r + 1] = rng.uniform(330, 360)
        boxes.append((cx - r, cy - r, cx + r + 1, cy + r + 1))
    out = _write(_out(path, "synthetic_lst_kelvin.tif"), t.astype("float32")[None], 30.0, ["LST"],
                 tags={"egx_sample": "synthetic (made by egx-notebook)", "units": "K"})
    return SampleScene(out, "infrared", {"hot_spot": boxes, "cool_region": [_bbox(lake)], "hot_region": [_bbox(town)]})


def synthetic_optical(path=None, size: int = 400, seed: int = 2) -> SampleScene:
    """Four-band surface reflectance (blue, green, red, nir; 10 m): vegetation, a lake, bare soil and a
    built-up block, with realistic spectra and a little noise."""
    rng = np.random.default_rng(seed)
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w] / size
    spectra = {"vegetation": (0.04, 0.08, 0.05, 0.40), "water": (0.06, 0.05, 0.03, 0.01),
               "soil": (0.12, 0.16, 0.22, 0.28), "built": (0.18, 0.19, 0.20, 0.22)}
    cls = np.full((h, w), "vegetation", dtype=object)
    lake = (xx - 0.3) ** 2 + (yy - 0.35) ** 2 < 0.03
    soil = (xx > 0.55) & (yy > 0.6)
    built = (xx > 0.6) & (xx < 0.9) & (yy > 0.1) & (yy < 0.35)
    cls[soil], cls[built], cls[lake] = "soil", "built", "water"
    data = np.zeros((4, h, w), dtype="float32")
    for name, refl in spectra.items():
        m = cls == name
        for b in range(4):
            data[b][m] = refl[b]
    data = np.clip(data * rng.normal(1.0, 0.05, data.shape), 0, 1).astype("float32")
    out = _write(_out(path, "synthetic_optical_reflectance.tif"), data, 10.0, ["blue", "green", "red", "nir"],
                 tags={"egx_sample": "synthetic (made by egx-notebook)", "units": "reflectance"})
    return SampleScene(out, "optical", {"water": [_bbox(lake)], "vegetation": [], "built_up": [_bbox(built)],
                                        "bare_soil": [_bbox(soil)]})


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


__all__ = ["SampleScene", "synthetic_sar", "synthetic_thermal", "synthetic_optical"]
