"""Views: windows of a scene at a scale; only the window is read; exact view <-> scene pixel maps."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

import egx_notebook as egx
from egx_notebook.errors import PromptOutsideImageError


@pytest.fixture
def scene(optical_overviews_tif):
    """512 x 512 px, 3 bands, with internal overviews 2, 4, 8 (nearest)."""
    return egx.open(optical_overviews_tif)


@pytest.fixture
def reads(scene, monkeypatch):
    """Record every (window, out_shape) the scene's source is asked to read."""
    calls = []
    original = scene.source.read

    def spy(window, out_shape=None, resampling="average"):
        calls.append((tuple(window), None if out_shape is None else tuple(out_shape)))
        return original(window, out_shape, resampling)

    monkeypatch.setattr(scene.source, "read", spy)
    return calls


def test_view_of_window(scene):
    v = scene.view((10, 20, 110, 70))
    assert v.window == (10, 20, 110, 70) and v.shape == (50, 100)
    assert v.scale == (1.0, 1.0) and v.is_full_resolution
    np.testing.assert_array_equal(v.values, scene.read()[:, 20:70, 10:110])
    assert v.modality == "optical" and v.band_names == scene.band_names and v.crs == scene.crs


def test_view_expands_float_window_and_clips(scene):
    v = scene.view((10.2, 20.7, 30.1, 40.0))
    assert v.window == (10, 20, 31, 40)
    v = scene.view((-30, 500, 40, 600))
    assert v.window == (0, 500, 40, 512)
    with pytest.raises(PromptOutsideImageError):
        scene.view((600, 600, 700, 700))


def test_zoom_in_reads_only_the_window(scene, reads):
    prompt = egx.Box(100, 120, 120, 130)
    v = scene.zoom_in(prompt, context=2.0, min_size=8)
    assert v.window == (90, 115, 130, 135)  # 2 x the extent around the centre (110, 125)
    assert v.shape == (20, 40) and v.is_full_resolution
    values = v.values
    assert reads == [((90, 115, 130, 135), (20, 40))]
    with rasterio.open(scene.source.bands[0].path) as ds:
        expected = ds.read(window=((115, 135), (90, 130))).astype("float32")
    np.testing.assert_array_equal(values, expected)


def test_zoom_in_min_size_and_scene_edge(scene):
    v = scene.zoom_in(egx.Point(3.5, 500.5), context=4.0, min_size=64)
    assert v.window == (0, 468, 36, 512)  # 64 px around the point, clipped at the left and bottom edges
    assert v.shape == (44, 36)


def test_zoom_out_and_overview_decimate(scene):
    for v in (scene.zoom_out(100), scene.overview(100)):
        assert v.window == (0, 0, 512, 512)
        assert max(v.shape) <= 100 and v.shape == (100, 100)
        assert v.scale == (5.12, 5.12)
        assert v.values.shape == (3, 100, 100)
    overview = scene.overview(200)
    assert v.values.dtype == np.float32 and overview.shape == (200, 200)


def test_overview_matches_rasterio_decimated_read(scene, optical_overviews_tif):
    v = scene.overview(128)
    with rasterio.open(optical_overviews_tif) as ds:
        decimated = ds.read(out_shape=(3, 128, 128), resampling=Resampling.average).astype("float32")
        full = ds.read().astype("float32")
    with rasterio.open(optical_overviews_tif, overview_level=1) as ovr:  # the x4 overview
        level = ovr.read().astype("float32")
    np.testing.assert_array_equal(v.values, decimated)
    np.testing.assert_array_equal(v.values, level)  # the stored overview was used ...
    block_mean = full.reshape(3, 128, 4, 128, 4).mean(axis=(2, 4))
    assert not np.allclose(v.values, block_mean)  # ... not the full resolution


def test_non_square_overview_keeps_aspect(optical_tif):
    scene = egx.open(optical_tif)  # 64 x 48
    v = scene.overview(16)
    assert v.shape == (12, 16) and v.scale == (4.0, 4.0)


@pytest.mark.parametrize("size,overlap", [(200, 50), (128, 0), (100, 37), (400, 390), (512, 64), (600, 10)])
def test_tiles_cover_every_pixel(scene, size, overlap):
    tiles = list(scene.tiles(size, overlap))
    cover = np.zeros(scene.shape, dtype=int)
    for t in tiles:
        x0, y0, x1, y1 = t.window
        assert t.is_full_resolution
        assert t.shape == (min(size, scene.height), min(size, scene.width))  # whole tiles when the scene allows
        cover[y0:y1, x0:x1] += 1
    assert (cover >= 1).all()
    starts = sorted({t.window[0] for t in tiles})
    for a, b in zip(starts, starts[1:]):
        assert a + size - b >= overlap  # neighbours overlap by at least ``overlap`` px
        assert b - a <= size - overlap  # ... and no more than needed (step = size - overlap) except the last
    assert tiles[0].window[:2] == (0, 0) and tiles[-1].window[2:] == (scene.width, scene.height)


def test_tiles_row_major_and_counts(optical_tif):
    scene = egx.open(optical_tif)  # 64 x 48
    windows = [t.window for t in scene.tiles(32, 8)]
    assert windows == [(0, 0, 32, 32), (24, 0, 56, 32), (32, 0, 64, 32),
                       (0, 16, 32, 48), (24, 16, 56, 48), (32, 16, 64, 48)]
    with pytest.raises(ValueError):
        list(scene.tiles(32, 32))
    with pytest.raises(ValueError):
        list(scene.tiles(0, 0))


def test_view_scene_pixel_maps_are_exact(scene):
    v = scene.view((100, 60, 300, 260), max_size=50)
    assert v.shape == (50, 50) and v.scale == (4.0, 4.0)
    assert v.to_scene_pixels(0, 0) == (100, 60)
    assert v.to_scene_pixels(50, 50) == (300, 260)
    assert v.to_scene_pixels(12.25, 3.5) == (149.0, 74.0)
    assert v.from_scene_pixels(149.0, 74.0) == (12.25, 3.5)
    assert v.from_scene_pixels(*v.to_scene_pixels(7.125, 33.0625)) == (7.125, 33.0625)
    # map coordinates of a view pixel = scene transform of its scene pixel
    assert v.transform @ (12.25, 3.5) == pytest.approx(scene.transform @ (149.0, 74.0))


def test_view_region_at_coarse_scale(scene):
    v = scene.view((100, 60, 300, 260), max_size=50)
    r = v.region(egx.Box(140, 100, 180, 141))
    assert r.bounds == (10.0, 10.0, 20.0, 20.25)
    assert r.grid_shape == (50, 50)
    p = v.region(egx.Point(101.0, 61.0))
    assert p.center == (0.25, 0.25) and p.mask()[0, 0]
    m = r.mask()
    assert m[10:20, 10:20].all() and m.sum() == 100


def test_view_region_of_map_prompt(scene):
    v = scene.view((100, 60, 300, 260), max_size=100)  # scale 2
    x0, y0 = scene.transform @ (140, 100)
    x1, y1 = scene.transform @ (180, 141)
    r = v.region(egx.Box(x0, y0, x1, y1, crs=scene.crs))
    assert r.bounds == pytest.approx((20.0, 20.0, 40.0, 40.5), abs=1e-9)


def test_view_zoom_out_grows_context(scene):
    v = scene.view((200, 200, 240, 240))
    out = v.zoom_out(4.0)
    assert out.window == (140, 140, 300, 300)
    assert max(out.shape) <= 40 and out.scale == (4.0, 4.0)


def test_decimated_array_view_uses_block_mean():
    arr = np.arange(16 * 16, dtype="float32").reshape(16, 16)
    scene = egx.open(arr)
    v = scene.overview(4)
    np.testing.assert_allclose(v.values[0], arr.reshape(4, 4, 4, 4).mean(axis=(1, 3)))
