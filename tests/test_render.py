"""Modality-aware rendering to RGB uint8: optical stretch, SAR dB window, thermal colormap, band choice, plot."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib import colormaps  # noqa: E402

import egx_notebook as egx  # noqa: E402
from conftest import write_tif  # noqa: E402


def stretched(values, lo, hi):
    """What a linear stretch of [lo, hi] to 0..255 gives, by hand."""
    return (np.clip((values - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype("uint8")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------------------- optical
def test_optical_percentile_stretch(optical_tif):
    scene = egx.open(optical_tif)
    rgb = scene.render()
    assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    values = scene.read()
    for c in range(3):
        band = values[c]
        lo, hi = np.percentile(band[np.isfinite(band)], [2, 98])
        valid = np.isfinite(band)
        np.testing.assert_array_equal(rgb[..., c][valid], stretched(band[valid], lo, hi))
    assert (rgb[:8, :8] == 0).all()  # nodata is black
    assert (rgb[8:, 8:] == 255).any() and (rgb[8:, 8:] == 0).any()  # the stretch spans the range


def test_optical_alpha_channel(optical_tif):
    rgba = egx.open(optical_tif).render(alpha=True)
    assert rgba.shape == (48, 64, 4)
    assert (rgba[:8, :8, 3] == 0).all()
    alpha = rgba[..., 3].copy()
    alpha[:8, :8] = 255
    assert (alpha == 255).all()


def test_explicit_bands_false_colour(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(100, 5000, size=(4, 20, 30), dtype="uint16")
    data[3] = np.arange(30, dtype="uint16")[None, :] * 100 + 10  # nir: a left-to-right ramp
    scene = egx.open(write_tif(tmp_path / "rgbn.tif", data), bands=["red", "green", "blue", "nir"])
    rendering = scene.rendering(bands=["nir", "red", "green"])
    assert rendering.bands == ("nir", "red", "green")
    nir = scene.read(bands=["nir"])[0]
    lo, hi = np.percentile(nir, [2, 98])
    np.testing.assert_array_equal(rendering.rgb[..., 0], stretched(nir, lo, hi))
    assert not np.array_equal(rendering.rgb, scene.render())  # not the true-colour rendering
    grey = scene.render(bands="nir")
    assert grey.shape == (20, 30, 3) and (grey[..., 0] == grey[..., 1]).all()
    assert (grey[:, -1, 0] == 255).all() and (grey[:, 0, 0] == 0).all()


def test_bad_band_name_lists_available(optical_tif):
    scene = egx.open(optical_tif)
    with pytest.raises(KeyError) as info:
        scene.render(bands=["nir", "red", "green"])
    msg = str(info.value)
    assert "nir" in msg and "red" in msg and "green" in msg and "blue" in msg
    with pytest.raises(KeyError):
        scene.render(bands=[5])
    with pytest.raises(ValueError):
        scene.render(bands=["red", "green"])  # 1 or 3 bands


# ------------------------------------------------------------------------------------------- SAR
def test_sar_db_fixed_window():
    db = np.array([[-10.0, -25.0, 5.0, -40.0, 20.0, -17.5]], dtype="float32").repeat(4, axis=0)
    scene = egx.open(xr.DataArray(db, dims=("y", "x"), name="VV"))
    assert scene.modality == "sar" and scene.units == "dB"
    rendering = scene.rendering()
    assert (rendering.vmin, rendering.vmax) == (-25.0, 5.0)
    row = rendering.rgb[0, :, 0]
    assert row[0] in (127, 128)  # -10 dB is the middle of -25..5 dB
    assert list(row[1:]) == [0, 255, 0, 255, 64]
    assert (rendering.rgb[..., 0] == rendering.rgb[..., 2]).all()  # grey
    assert "dB" in rendering.label


def test_sar_power_file_renders_in_db(sar_power_tif):
    scene = egx.open(sar_power_tif)
    rendering = scene.rendering()
    db = scene.read()[0]
    np.testing.assert_array_equal(rendering.rgb[..., 0], stretched(db, -25.0, 5.0))


def test_sar_relative_db_uses_robust_range(sar_amplitude_png):
    scene = egx.open(sar_amplitude_png, modality="sar")
    rendering = scene.rendering()
    db = scene.read()[0]
    lo, hi = np.percentile(db, [1.0, 99.5])
    assert rendering.vmin == pytest.approx(lo) and rendering.vmax == pytest.approx(hi)


# ------------------------------------------------------------------------------------------- thermal
def test_thermal_inferno_colormap(lst_tif):
    scene = egx.open(lst_tif)
    rendering = scene.rendering()
    assert rendering.cmap == "inferno" and rendering.label == "temperature (K)"
    kelvin = scene.read()[0]
    valid = np.isfinite(kelvin)
    lo, hi = np.percentile(kelvin[valid], [2, 98])
    assert (rendering.vmin, rendering.vmax) == pytest.approx((lo, hi))
    expected = (colormaps["inferno"](np.clip((kelvin - lo) / (hi - lo), 0, 1))[..., :3] * 255 + 0.5).astype("uint8")
    np.testing.assert_array_equal(rendering.rgb[valid], expected[valid])
    assert (rendering.rgb[~valid] == 0).all()
    hottest = np.unravel_index(np.nanargmax(kelvin), kelvin.shape)
    assert tuple(rendering.rgb[hottest]) == tuple((np.array(colormaps["inferno"](1.0)[:3]) * 255 + 0.5).astype("uint8"))


def test_thermal_cmap_override(lst_tif):
    r = egx.open(lst_tif).rendering(cmap="magma", vmin=280, vmax=300)
    assert r.cmap == "magma" and (r.vmin, r.vmax) == (280, 300)


# ------------------------------------------------------------------------------------------- plot
def test_scene_plot_returns_axes(optical_tif, lst_tif):
    ax = egx.open(optical_tif).plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xlim() == (0.0, 64.0) and ax.get_ylim() == (48.0, 0.0)  # scene pixel coordinates
    fig, ax2 = plt.subplots()
    assert egx.open(lst_tif).plot(ax=ax2) is ax2
    assert len(fig.axes) == 2  # the thermal colorbar


def test_render_is_decimated_to_max_size(optical_overviews_tif):
    rgb = egx.open(optical_overviews_tif).render(max_size=100)
    assert rgb.shape == (100, 100, 3)
