"""Shared fixtures: the real-data folder and small synthetic rasters written with rasterio into tmp_path.

Every synthetic file is tiny (tens of pixels) so the suite stays fast; the values are chosen so that
the expected physical quantities can be computed by hand in the tests.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import rasterio  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

#: Real data for development and CI, beside the checkout (absent on users' machines).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Landsat 8 TIRS band 10 constants (as in a real MTL file).
L8_B10 = {"mult": 3.3420e-04, "add": 0.1, "k1": 774.8853, "k2": 1321.0789}

#: Synthetic UTM grid: 10 m pixels, top-left corner at (500000, 4000000) in EPSG:32633.
UTM_CRS = "EPSG:32633"
UTM_TRANSFORM = from_origin(500000.0, 4000000.0, 10.0, 10.0)


def need(path: Path) -> Path:
    """``path`` when it exists, else skip the calling test with a reason."""
    path = Path(path)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (the ../shared/data folder is absent)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data`` (skips the test when the folder is absent)."""
    return need(SHARED_DATA)


def write_tif(path: Path, data: np.ndarray, *, crs=UTM_CRS, transform=UTM_TRANSFORM, nodata=None,
              descriptions=None, scales=None, offsets=None, tags=None, **profile) -> Path:
    """Write ``data`` (bands, h, w) or (h, w) as a GeoTIFF; returns ``path``."""
    data = data[None] if data.ndim == 2 else data
    prof = {"driver": "GTiff", "count": data.shape[0], "height": data.shape[1], "width": data.shape[2],
            "dtype": data.dtype.name, "crs": crs, "transform": transform, "nodata": nodata}
    prof.update(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **prof) as dst:
            dst.write(data)
            if descriptions:
                for i, d in enumerate(descriptions, start=1):
                    dst.set_band_description(i, d)
            if scales is not None:
                dst.scales = scales
            if offsets is not None:
                dst.offsets = offsets
            if tags:
                dst.update_tags(**tags)
    return path


# ---------------------------------------------------------------------------------------------- optical
@pytest.fixture
def optical_tif(tmp_path) -> Path:
    """3-band uint16 (64 x 48 px) in EPSG:32633, nodata 0 in the top-left 8 x 8 corner, RGB colour interp."""
    rng = np.random.default_rng(0)
    data = rng.integers(100, 4000, size=(3, 48, 64), dtype="uint16")
    data[:, :8, :8] = 0
    path = write_tif(tmp_path / "optical.tif", data, nodata=0, photometric="RGB")
    return path


@pytest.fixture
def optical_overviews_tif(tmp_path) -> Path:
    """Tiled 3-band uint16 512 x 512 optical file with internal overviews 2, 4, 8 built by *nearest*
    sampling, so a decimated read that uses them differs from block averaging of the full resolution."""
    from rasterio.enums import Resampling

    yy, xx = np.mgrid[0:512, 0:512]
    base = (xx * 7 + yy * 3).astype("uint16")
    data = np.stack([base, base // 2 + 50, (4000 - base // 3).astype("uint16")])
    path = write_tif(tmp_path / "optical_ovr.tif", data, tiled=True, blockxsize=256, blockysize=256,
                     photometric="RGB")
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([2, 4, 8], Resampling.nearest)
    return path


# ---------------------------------------------------------------------------------------------- SAR
def speckle_power(shape, mean_db: float, seed: int = 0) -> np.ndarray:
    """Gamma-distributed (4-look) linear power around ``mean_db``."""
    rng = np.random.default_rng(seed)
    return (10 ** (mean_db / 10) * rng.gamma(4.0, 0.25, shape)).astype("float32")


@pytest.fixture
def sar_power_tif(tmp_path) -> Path:
    """Sentinel-1-like VV sigma0 in linear power (float32, 40 x 32 px), named so that VV is in the file name."""
    data = speckle_power((32, 40), -12.0)
    return write_tif(tmp_path / "S1_VV_sigma0.tif", data, descriptions=["VV"])


@pytest.fixture
def sar_db_tif(tmp_path) -> Path:
    """SAR backscatter already in dB (float32), with no word in its name or metadata: detected from values."""
    data = 10 * np.log10(speckle_power((32, 40), -14.0, seed=1))
    data[3, 5] = 2.0  # a bright scatterer
    return write_tif(tmp_path / "scene_b.tif", data.astype("float32"))


@pytest.fixture
def sar_amplitude_png(tmp_path) -> Path:
    """An 8-bit amplitude chip saved as a single-band PNG (no georeferencing), no zeros."""
    rng = np.random.default_rng(2)
    data = rng.integers(1, 256, size=(30, 50), dtype="uint8")
    return write_tif(tmp_path / "chip.png", data, driver="PNG", crs=None, transform=None)


# ---------------------------------------------------------------------------------------------- thermal
MTL_TEXT = """GROUP = L1_METADATA_FILE
  GROUP = RADIOMETRIC_RESCALING
    RADIANCE_MULT_BAND_10 = {mult:.4E}
    RADIANCE_ADD_BAND_10 = {add:.5f}
  END_GROUP = RADIOMETRIC_RESCALING
  GROUP = TIRS_THERMAL_CONSTANTS
    K1_CONSTANT_BAND_10 = {k1:.4f}
    K2_CONSTANT_BAND_10 = {k2:.4f}
  END_GROUP = TIRS_THERMAL_CONSTANTS
END_GROUP = L1_METADATA_FILE
END
"""


@pytest.fixture
def landsat_b10(tmp_path) -> Path:
    """A Landsat-8-like B10 (uint16 DN 20000-30000, nodata 0 in one pixel) with a minimal MTL beside it."""
    folder = tmp_path / "landsat"
    folder.mkdir()
    rng = np.random.default_rng(3)
    dn = rng.integers(20000, 30000, size=(24, 30), dtype="uint16")
    dn[0, 0] = 0
    (folder / "LC08_TEST_MTL.txt").write_text(MTL_TEXT.format(**L8_B10))
    return write_tif(folder / "LC08_TEST_B10.TIF", dn, nodata=0, transform=from_origin(600000, 4000000, 30, 30))


def landsat_kelvin(dn: np.ndarray) -> np.ndarray:
    """The USGS brightness-temperature formula by hand: T = K2 / ln(K1 / L + 1), L = ML * DN + AL."""
    radiance = L8_B10["mult"] * dn.astype("float64") + L8_B10["add"]
    return L8_B10["k2"] / np.log(L8_B10["k1"] / radiance + 1.0)


@pytest.fixture
def lst_tif(tmp_path) -> Path:
    """ECOSTRESS-like LST: uint16 scaled by 0.02 (-> K), nodata 0 in the first row."""
    rng = np.random.default_rng(4)
    dn = rng.integers(14000, 15500, size=(20, 25), dtype="uint16")  # 280-310 K
    dn[0, :] = 0
    return write_tif(tmp_path / "ECO_LST.tif", dn, nodata=0, scales=[0.02], offsets=[0.0],
                     crs="EPSG:4326", transform=from_origin(-118.5, 34.2, 0.0007, 0.0007))


# ---------------------------------------------------------------------------------------------- pictures
@pytest.fixture
def rgb_png(tmp_path) -> Path:
    """An RGB PNG without georeferencing (40 x 30 px)."""
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, size=(3, 30, 40), dtype="uint8")
    return write_tif(tmp_path / "photo.png", data, driver="PNG", crs=None, transform=None)


@pytest.fixture
def complex_tif(tmp_path) -> Path:
    """A complex64 'SLC' raster, which the library refuses."""
    data = (np.ones((1, 8, 8)) + 1j * np.ones((1, 8, 8))).astype("complex64")
    return write_tif(tmp_path / "slc.tif", data)


# ---------------------------------------------------------------------------------------------- xarray
@pytest.fixture
def utm_dataarray():
    """An in-memory (band, y, x) float32 DataArray with rioxarray georeferencing (EPSG:32633, 10 m)."""
    import rioxarray  # noqa: F401
    import xarray as xr

    rng = np.random.default_rng(6)
    data = rng.uniform(0.01, 0.4, size=(3, 20, 30)).astype("float32")
    x = UTM_TRANSFORM.c + (np.arange(30) + 0.5) * UTM_TRANSFORM.a
    y = UTM_TRANSFORM.f + (np.arange(20) + 0.5) * UTM_TRANSFORM.e
    da = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": [1, 2, 3], "x": x, "y": y})
    return da.rio.write_crs(UTM_CRS).rio.write_transform(UTM_TRANSFORM)
