"""egx.open: every kind of source, laziness, modality detection, calibration to physical units, typed errors."""

from __future__ import annotations

import time
import tracemalloc

import dask.array
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

import egx_notebook as egx
from egx_notebook.errors import EgxError, ModalityError, RasterReadError, UnsupportedDataError

from conftest import UTM_TRANSFORM, landsat_kelvin, speckle_power, write_tif


def raw(path, band=1):
    with rasterio.open(path) as ds:
        return ds.read(band).astype("float64")


# ------------------------------------------------------------------------------------------- sources
def test_open_path_optical(optical_tif):
    scene = egx.open(optical_tif)
    assert isinstance(scene, egx.Scene)
    assert scene.modality == "optical"
    assert scene.shape == (48, 64) and scene.count == 3
    assert scene.band_names == ["red", "green", "blue"]
    assert scene.crs.to_epsg() == 32633
    assert scene.transform == UTM_TRANSFORM
    assert scene.name == "optical"
    np.testing.assert_array_equal(scene.read()[:, 8:, 8:], np.stack([raw(optical_tif, b) for b in (1, 2, 3)])[:, 8:, 8:])


def test_open_list_of_band_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for b in ("B2", "B3", "B4", "B8"):
        paths.append(write_tif(tmp_path / f"T33_{b}.tif", rng.integers(1, 5000, (16, 20), dtype="uint16")))
    scene = egx.open(paths)
    assert scene.count == 4
    assert scene.band_names == ["blue", "green", "red", "nir"]
    assert scene.modality == "optical"
    np.testing.assert_array_equal(scene.read(bands=["nir"])[0], raw(paths[3]))


def test_open_band_files_on_different_grids_is_refused(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.ones((10, 10), "uint16"))
    b = write_tif(tmp_path / "b.tif", np.ones((12, 10), "uint16"))
    with pytest.raises(UnsupportedDataError, match="different grid"):
        egx.open([a, b])


def test_open_png_has_pixel_crs(rgb_png):
    scene = egx.open(rgb_png)
    assert scene.crs is None and not scene.georeferenced
    assert scene.transform == Affine.identity()
    assert scene.shape == (30, 40) and scene.count == 3
    assert scene.to_map(3.5, 7.25) == (3.5, 7.25)
    assert scene.pixel_size_m() is None


def test_open_jpeg_has_pixel_crs(tmp_path):
    data = np.full((3, 16, 24), 120, dtype="uint8")
    path = write_tif(tmp_path / "frame.jpg", data, driver="JPEG", crs=None, transform=None)
    scene = egx.open(path)
    assert scene.crs is None and scene.shape == (16, 24)
    assert np.allclose(scene.read(), 120, atol=2)


def test_open_dataarray_keeps_georeferencing(utm_dataarray):
    scene = egx.open(utm_dataarray)
    assert scene.shape == (20, 30) and scene.count == 3
    assert scene.crs.to_epsg() == 32633
    assert scene.transform == UTM_TRANSFORM
    np.testing.assert_allclose(scene.read(), utm_dataarray.values)


def test_open_numpy_array_pixel_crs():
    arr = np.arange(12 * 10, dtype="float32").reshape(12, 10)
    scene = egx.open(arr)
    assert scene.crs is None and scene.shape == (12, 10) and scene.count == 1
    np.testing.assert_array_equal(scene.read()[0], arr)
    np.testing.assert_array_equal(scene.read((2, 3, 6, 5))[0], arr[3:5, 2:6])


def test_open_band_selection_by_index_and_dict(optical_tif):
    by_index = egx.open(optical_tif, bands=[3, 1])
    assert by_index.count == 2
    np.testing.assert_array_equal(by_index.read()[:, 8:, 8:], np.stack([raw(optical_tif, 3), raw(optical_tif, 1)])[:, 8:, 8:])
    by_name = egx.open(optical_tif, bands={"nir": 3, "red": 1})
    assert by_name.band_names == ["nir", "red"]
    np.testing.assert_array_equal(by_name.read(bands=["nir"])[0, 8:, 8:], raw(optical_tif, 3)[8:, 8:])
    with pytest.raises(ValueError):
        egx.open(optical_tif, bands=[4])


def test_grid_helpers(optical_tif, lst_tif):
    scene = egx.open(optical_tif)
    assert scene.bounds == (500000.0, 4000000.0 - 480, 500000.0 + 640, 4000000.0)
    assert scene.pixel_size_m() == pytest.approx((10.0, 10.0))
    assert scene.to_pixels(*scene.to_map(12.25, 3.5)) == pytest.approx((12.25, 3.5))
    dx, dy = egx.open(lst_tif).pixel_size_m()  # 0.0007 degrees near 34 N
    assert 60 < dx < 67 and 75 < dy < 80
    assert egx.open(np.zeros((4, 4), "float32"), pixel_size_m=0.5).pixel_size_m() == (0.5, 0.5)
    assert "optical" in scene._repr_html_() and "EPSG:32633" in scene._repr_html_()


def test_open_unknown_source_type():
    with pytest.raises(RasterReadError):
        egx.open(12345)


# ------------------------------------------------------------------------------------------- laziness
def test_data_is_dask_backed(optical_tif):
    scene = egx.open(optical_tif)
    assert isinstance(scene.data.data, dask.array.Array)
    assert scene.data.dims == ("band", "y", "x")
    assert list(scene.data.band.values) == ["red", "green", "blue"]
    assert scene.data.attrs["modality"] == "optical"


@pytest.fixture(scope="module")
def huge_tif(tmp_path_factory):
    """10000 x 10000 uint16, tiled and deflate-compressed zeros, with overviews: ~200 MB if read whole."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    path = tmp_path_factory.mktemp("huge") / "huge.tif"
    n, block = 10000, 1000
    chunk = np.zeros((block, n), dtype="uint16")
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="uint16", crs="EPSG:32633",
                       transform=UTM_TRANSFORM, tiled=True, blockxsize=512, blockysize=512, compress="deflate") as dst:
        for row in range(0, n, block):
            dst.write(chunk, 1, window=Window(0, row, n, block))
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([4, 16, 64], Resampling.nearest)
    return path


def test_open_huge_raster_is_lazy(huge_tif):
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        scene = egx.open(huge_tif)
        lazy = scene.data
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scene.shape == (10000, 10000)
    assert isinstance(lazy.data, dask.array.Array)
    full_bytes = 10000 * 10000 * 2  # even the stored uint16 array, let alone float32
    assert peak < full_bytes / 20, f"open allocated {peak / 1e6:.1f} MB"
    assert elapsed < 3.0, f"open took {elapsed:.2f} s"
    # A window read touches only that window.
    assert scene.read((5000, 5000, 5010, 5004)).shape == (1, 4, 10)


# ------------------------------------------------------------------------------------------- modality
def test_modality_from_metadata_words(sar_power_tif, lst_tif):
    assert egx.open(sar_power_tif).modality == "sar"
    assert egx.open(lst_tif).modality == "infrared"


def test_modality_from_values(tmp_path, sar_db_tif):
    assert egx.open(sar_db_tif).modality == "sar"  # negative floats in -60..40: backscatter in dB
    kelvin = np.random.default_rng(0).uniform(270, 310, (20, 20)).astype("float32")
    assert egx.open(write_tif(tmp_path / "scene_a.tif", kelvin)).modality == "infrared"
    reflect = np.random.default_rng(0).uniform(0, 0.5, (3, 20, 20)).astype("float32")
    assert egx.open(write_tif(tmp_path / "scene_c.tif", reflect)).modality == "optical"


def test_modality_override_alias(optical_tif, rgb_png):
    assert egx.open(rgb_png, modality="thermal").modality == "infrared"
    assert egx.open(optical_tif, modality="radar").modality == "sar"
    assert egx.open(optical_tif, modality="IR").modality == "infrared"


def test_unknown_modality_raises():
    with pytest.raises(ModalityError, match="unknown modality"):
        egx.open(np.zeros((4, 4), "float32"), modality="hyperspectral")
    assert issubclass(ModalityError, ValueError)


# ------------------------------------------------------------------------------------------- SAR units
def test_sar_linear_power_becomes_db_once(sar_power_tif):
    scene = egx.open(sar_power_tif)
    assert scene.modality == "sar" and scene.units == "dB"
    assert scene.band_names == ["vv"]
    expected = 10 * np.log10(raw(sar_power_tif))
    np.testing.assert_allclose(scene.read()[0], expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(scene.data.values[0], expected, rtol=0, atol=1e-4)
    assert -20 < np.median(scene.read()) < -5  # around the -12 dB it was made with, not log(log(x))


def test_sar_already_db_is_not_logged_again(sar_db_tif):
    scene = egx.open(sar_db_tif)
    assert scene.units == "dB" and scene.meta["sar_scale"] == "db"
    np.testing.assert_array_equal(scene.read()[0], raw(sar_db_tif).astype("float32"))
    np.testing.assert_array_equal(scene.data.values[0], raw(sar_db_tif).astype("float32"))


def test_sar_db_in_dataarray_is_not_logged_again():
    db = (10 * np.log10(speckle_power((16, 16), -15.0))).astype("float32")
    scene = egx.open(xr.DataArray(db, dims=("y", "x"), name="VV"))
    assert scene.modality == "sar" and scene.units == "dB"
    np.testing.assert_array_equal(scene.read()[0], db)


def test_sar_scale_can_be_forced(sar_db_tif):
    db = raw(sar_db_tif)
    forced = egx.open(sar_db_tif, sar_scale="power")  # the user says: these are linear values
    valid = db > 0
    np.testing.assert_allclose(forced.read()[0][valid], 10 * np.log10(db[valid]), atol=1e-4)
    assert np.isnan(forced.read()[0][~valid]).all()  # log of non-positive is no data, never -inf


def test_8bit_amplitude_png_as_sar_is_relative_db(sar_amplitude_png):
    scene = egx.open(sar_amplitude_png, modality="sar")
    assert scene.modality == "sar" and scene.units == "dB (relative)"
    dn = raw(sar_amplitude_png)
    np.testing.assert_allclose(scene.read()[0], 20 * np.log10(dn), atol=1e-4)


# ------------------------------------------------------------------------------------------- thermal units
def test_landsat_b10_with_mtl_is_brightness_temperature(landsat_b10):
    scene = egx.open(landsat_b10)
    assert scene.modality == "infrared" and scene.units == "K"
    dn = raw(landsat_b10)
    got = scene.read()[0]
    valid = dn > 0
    np.testing.assert_allclose(got[valid], landsat_kelvin(dn[valid]), rtol=1e-5)
    assert 270 < np.nanmin(got) and np.nanmax(got) < 320
    assert np.isnan(got[0, 0])  # DN 0 is nodata, not a very cold pixel


def test_landsat_band_list_with_mtl(landsat_b10):
    scene = egx.open([landsat_b10])
    assert scene.band_names == ["tir1"] and scene.units == "K"


def test_scaled_uint16_lst_is_kelvin(lst_tif):
    scene = egx.open(lst_tif)
    assert scene.modality == "infrared" and scene.units == "K"
    dn = raw(lst_tif)
    got = scene.read()[0]
    np.testing.assert_allclose(got[1:], dn[1:] * 0.02, rtol=1e-6)
    assert np.isnan(got[0]).all()  # nodata 0 before scaling
    np.testing.assert_allclose(scene.data.values[0][1:], dn[1:] * 0.02, rtol=1e-6)


# ------------------------------------------------------------------------------------------- nodata
def test_nodata_is_nan_in_read_and_data(optical_tif):
    scene = egx.open(optical_tif)
    values = scene.read()
    assert np.isnan(values[:, :8, :8]).all()
    assert np.isfinite(values[:, 8:, :]).all() and np.isfinite(values[:, :, 8:]).all()
    lazy = scene.data.values
    np.testing.assert_array_equal(np.isnan(lazy), np.isnan(values))
    np.testing.assert_array_equal(lazy[:, 8:, 8:], values[:, 8:, 8:])


def test_nodata_in_dataarray(utm_dataarray):
    da = utm_dataarray.copy()
    da[:, 0, 0] = -9999.0
    da = da.rio.write_nodata(-9999.0)
    scene = egx.open(da)
    assert np.isnan(scene.read()[:, 0, 0]).all()
    assert np.isfinite(scene.read()[:, 1:, 1:]).all()


# ------------------------------------------------------------------------------------------- errors
def test_missing_file_raises_raster_read_error(tmp_path):
    with pytest.raises(RasterReadError, match="no such file") as info:
        egx.open(tmp_path / "nope.tif")
    assert isinstance(info.value, OSError) and isinstance(info.value, EgxError)
    with pytest.raises(OSError):
        egx.open([tmp_path / "nope_B4.tif"])


def test_unreadable_file_raises_raster_read_error(tmp_path):
    bad = tmp_path / "garbage.tif"
    bad.write_bytes(b"this is not a raster")
    with pytest.raises(RasterReadError):
        egx.open(bad)


def test_complex_file_is_unsupported(complex_tif):
    with pytest.raises(UnsupportedDataError, match="complex"):
        egx.open(complex_tif)
    assert issubclass(UnsupportedDataError, TypeError)


def test_complex_and_boolean_arrays_are_unsupported():
    with pytest.raises(UnsupportedDataError):
        egx.open(np.ones((4, 4), dtype="complex64"))
    with pytest.raises(UnsupportedDataError, match="mask"):
        egx.open(np.ones((4, 4), dtype=bool))


# ------------------------------------------------------------------------------------------- accessor
def test_accessor_matches_open(utm_dataarray):
    scene = egx.open(utm_dataarray)
    acc = utm_dataarray.egx
    assert acc.modality == scene.modality
    assert acc.units == scene.units
    assert acc.band_names == scene.band_names
    assert acc.transform == scene.transform
    np.testing.assert_array_equal(acc.render(), scene.render())


def test_accessor_on_sar_dataarray_and_override():
    db = (10 * np.log10(speckle_power((16, 16), -15.0))).astype("float32")
    da = xr.DataArray(db, dims=("y", "x"))
    assert da.egx.modality == "sar"
    np.testing.assert_array_equal(da.egx.render(), egx.open(da).render())
    da2 = xr.DataArray(db, dims=("y", "x"), attrs={"modality": "thermal"})
    assert da2.egx.modality == "infrared"
    assert da2.egx.set(modality="optical").modality == "optical"
    with pytest.raises(AttributeError):
        da2.egx.not_a_method  # noqa: B018


def test_declared_pixel_size_reaches_views_at_their_scale():
    scene = egx.open(np.zeros((64, 64), "float32"), pixel_size_m=0.5)
    assert scene.view().pixel_size_m() == pytest.approx((0.5, 0.5))
    assert scene.overview(16).pixel_size_m() == pytest.approx((2.0, 2.0))  # 4x decimated
    assert egx.open(np.zeros((64, 64), "float32")).view().pixel_size_m() is None
