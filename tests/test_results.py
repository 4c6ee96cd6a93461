"""Result objects built by hand: map coordinates, GeoDataFrames, GIS exports, filters, remapping, display."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box as shapely_box

import egx_notebook as egx
from conftest import UTM_TRANSFORM
from egx_notebook.errors import ExportError, MissingCRSError


@pytest.fixture
def scene(optical_tif):
    """64 x 48 px in EPSG:32633, 10 m pixels, top-left corner (500000, 4000000)."""
    return egx.open(optical_tif)


def ring_mask():
    m = np.zeros((5, 6), bool)
    m[1:4, 1:5] = True
    m[2, 2] = False  # a hole: the mask is not its box
    return m


@pytest.fixture
def grounding(scene):
    dets = [
        egx.Detection((10.0, 5.0, 20.0, 12.0), "ship", 0.9, attributes={"length_m": 120.5}),
        egx.Detection((30.5, 20.25, 36.5, 25.25), "ship", 0.4),
        egx.Detection((40.0, 30.0, 46.0, 35.0), "water", 0.7, mask=ring_mask(), mask_origin=(40, 30)),
    ]
    return egx.Grounding("ships", dets, backend="hand", crs=scene.crs, transform=scene.transform,
                         grid_shape=scene.shape)


def map_box(x0, y0, x1, y1):
    """Map bounds (minx, miny, maxx, maxy) of a pixel box on the synthetic UTM grid, by hand."""
    return (500000 + 10 * x0, 4000000 - 10 * y1, 500000 + 10 * x1, 4000000 - 10 * y0)


# ------------------------------------------------------------------------------------------- GeoDataFrame
def test_geodataframe_in_scene_crs(grounding, scene):
    gdf = grounding.to_geodataframe()
    assert gdf.crs.to_epsg() == 32633 and len(gdf) == 3
    assert list(gdf["label"]) == ["ship", "ship", "water"]
    assert list(gdf["id"]) == [1, 2, 3]
    for geom, det in zip(gdf.geometry[:2], grounding.detections[:2]):
        assert geom.bounds == pytest.approx(map_box(*det.box))
        corner = scene.transform @ det.box[:2]  # the top-left pixel corner is the north-west map corner
        assert (geom.bounds[0], geom.bounds[3]) == pytest.approx(corner)
    assert gdf.loc[0, "length_m"] == 120.5
    assert (gdf.loc[1, "px_x0"], gdf.loc[1, "px_y1"]) == (30.5, 25.25)
    np.testing.assert_allclose(grounding.boxes_map[0], map_box(10, 5, 20, 12))


def test_geodataframe_mask_geometry_keeps_the_hole(grounding):
    gdf = grounding.to_geodataframe()
    ring = gdf.geometry[2]
    assert ring.area == pytest.approx(ring_mask().sum() * 100.0)  # 11 px of 10 m x 10 m
    assert ring.bounds == pytest.approx(map_box(41, 31, 45, 34))
    boxes = grounding.to_geodataframe(geometry="box")
    assert boxes.geometry[2].area == pytest.approx(6 * 5 * 100.0)
    with pytest.raises(ValueError):
        grounding.to_geodataframe(geometry="hull")


def test_geodataframe_reprojected(grounding):
    gdf = grounding.to_geodataframe(crs="EPSG:4326")
    assert gdf.crs.to_epsg() == 4326
    to_ll = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = map_box(10, 5, 20, 12)
    lons, lats = to_ll.transform([x0, x1, x1, x0], [y0, y0, y1, y1])
    got = np.array(gdf.geometry[0].exterior.coords)[:-1]
    for lon, lat in zip(lons, lats):
        assert np.min(np.hypot(got[:, 0] - lon, got[:, 1] - lat)) < 1e-9
    assert 14 < gdf.geometry[0].centroid.x < 16 and 35 < gdf.geometry[0].centroid.y < 37.5


def test_empty_grounding_geodataframe(scene):
    g = egx.Grounding("ships", [], crs=scene.crs, transform=scene.transform, grid_shape=scene.shape)
    gdf = g.to_geodataframe()
    assert len(gdf) == 0 and "label" in gdf.columns and gdf.crs.to_epsg() == 32633
    assert g.boxes.shape == (0, 4)


# ------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_to_file_reopens_in_place(grounding, tmp_path, suffix):
    path = grounding.to_file(tmp_path / f"out{suffix}")
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 32633
    assert list(back["label"]) == ["ship", "ship", "water"]
    assert back.geometry[0].bounds == pytest.approx(map_box(10, 5, 20, 12))
    assert back.geometry[1].bounds == pytest.approx(map_box(30.5, 20.25, 36.5, 25.25))
    assert back.geometry[2].area == pytest.approx(1100.0)


def test_to_file_reprojected_geojson(grounding, tmp_path):
    back = gpd.read_file(grounding.to_file(tmp_path / "wgs84.geojson", crs="EPSG:4326"))
    assert back.crs.to_epsg() == 4326
    expected = grounding.to_geodataframe(crs="EPSG:4326").geometry[0].bounds
    assert back.geometry[0].bounds == pytest.approx(expected, abs=1e-9)


def test_to_file_unknown_format(grounding, tmp_path):
    with pytest.raises(ExportError):
        grounding.to_file(tmp_path / "out.xyz")


def test_save_masks_geotiff(grounding, scene, tmp_path):
    path = grounding.save_masks(tmp_path / "masks.tif")
    with rasterio.open(path) as ds:
        assert ds.crs == scene.crs and ds.transform == scene.transform
        assert (ds.height, ds.width) == scene.shape and ds.dtypes[0] == "uint16"
        ids = ds.read(1)
    expected = np.zeros(scene.shape, "uint16")
    expected[5:12, 10:20] = 1
    expected[30:35, 40:46][ring_mask()] = 3
    box2 = ids == 2
    assert box2.any() and not (ids[expected == 1] != 1).any()
    np.testing.assert_array_equal(ids[30:35, 40:46], expected[30:35, 40:46])
    np.testing.assert_array_equal(ids == 1, expected == 1)
    rows, cols = np.nonzero(box2)  # box (30.5, 20.25, 36.5, 25.25), half-open: centres 30.5..35.5 x 20.5..24.5
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (30, 35, 20, 24) and box2.sum() == 30


def test_save_masks_without_grid(tmp_path):
    with pytest.raises(ExportError):
        egx.Grounding("x", [egx.Detection((0, 0, 1, 1), "x", 1.0)]).save_masks(tmp_path / "m.tif")


# ------------------------------------------------------------------------------------------- list-like
def test_filter_top_and_slicing(grounding):
    assert len(grounding) == 3 and grounding[0].label == "ship"
    assert [d.score for d in grounding.filter(min_score=0.5)] == [0.9, 0.7]
    assert grounding.filter(labels="water").labels == ["water"]
    assert grounding.filter(labels=["ship"], min_score=0.5).scores.tolist() == [0.9]
    assert grounding.filter(min_area_px=40).labels == ["ship"]  # 70 px box; 30 px box and 11 px mask dropped
    assert grounding.top(2).scores.tolist() == [0.9, 0.7]
    assert grounding.top(1, by="area").boxes.tolist() == [[10.0, 5.0, 20.0, 12.0]]
    sliced = grounding[1:]
    assert isinstance(sliced, egx.Grounding) and len(sliced) == 2 and sliced.crs == grounding.crs
    assert len(grounding) == 3  # filters return new objects


def test_detection_geometry_helpers():
    d = egx.Detection((2.0, 4.0, 6.0, 10.0), "ship", 0.5)
    assert d.area_px == 24.0 and d.center == (4.0, 7.0)
    assert d.pixel_geometry().equals(shapely_box(2, 4, 6, 10))


# ------------------------------------------------------------------------------------------- remap
def test_remap_from_view_to_scene(scene):
    view = scene.view((10, 20, 50, 48), max_size=20)  # 40 x 28 scene px seen at scale 2
    assert view.scale == (2.0, 2.0)
    mask = np.zeros((3, 2), bool)
    mask[0, 0] = mask[2, 1] = True
    local = egx.Grounding("ships", [egx.Detection((1.0, 2.0, 4.5, 5.0), "ship", 0.8),
                                    egx.Detection((1.0, 1.0, 3.0, 4.0), "ship", 0.6, mask=mask, mask_origin=(1, 1))],
                          grid_shape=view.shape)
    out = local.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    assert out.grid_shape == scene.shape and out.crs == scene.crs and out.transform == scene.transform
    assert out[0].box == (12.0, 24.0, 19.0, 30.0)
    assert out[1].box == (12.0, 22.0, 16.0, 28.0)
    assert out[1].mask_origin == (12, 22)
    expected = np.kron(mask, np.ones((2, 2), bool))  # each view pixel is 2 x 2 scene pixels
    np.testing.assert_array_equal(out[1].mask, expected)
    assert local[0].box == (1.0, 2.0, 4.5, 5.0)  # the view result is unchanged
    gdf = out.to_geodataframe(geometry="box")
    assert gdf.geometry[0].bounds == pytest.approx(map_box(12, 24, 19, 30))


def test_remap_mask_from_coarse_view_by_pixel_centres(optical_overviews_tif):
    """From a view at scale 5.12, a scene pixel is in the mask exactly when its centre lies in a mask pixel."""
    scene = egx.open(optical_overviews_tif)
    view = scene.overview(100)
    assert view.scale == (5.12, 5.12)
    mask = np.ones((6, 7), bool)  # set up to its edges, where nearest-neighbour sampling is tested
    mask[2, 3] = False
    local = egx.Grounding("w", [egx.Detection((10, 20, 17, 26), "water", 1.0, mask=mask, mask_origin=(10, 20))])
    det = local.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)[0]
    got = det.mask
    ox, oy = det.mask_origin
    vx = np.floor((ox + np.arange(got.shape[1]) + 0.5) / 5.12).astype(int) - 10  # view column of each centre
    vy = np.floor((oy + np.arange(got.shape[0]) + 0.5) / 5.12).astype(int) - 20
    ok_x, ok_y = (vx >= 0) & (vx < 7), (vy >= 0) & (vy < 6)
    expected = mask[vy.clip(0, 5)][:, vx.clip(0, 6)] & ok_y[:, None] & ok_x[None, :]
    np.testing.assert_array_equal(got, expected)
    assert det.box == pytest.approx((51.2, 102.4, 87.04, 133.12))


def test_remap_full_resolution_mask_shifts_origin_only(scene):
    view = scene.view((8, 4, 40, 30))
    mask = ring_mask()
    local = egx.Grounding("w", [egx.Detection((0, 0, 6, 5), "water", 1.0, mask=mask, mask_origin=(0, 0))])
    out = local.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    assert out[0].mask_origin == (8, 4) and out[0].box == (8, 4, 14, 9)
    np.testing.assert_array_equal(out[0].mask, mask)


# ------------------------------------------------------------------------------------------- Referring
def test_referring_by_hand(scene, tmp_path):
    region = egx.Box(10, 5, 20, 12).to_pixels(scene)
    ref = egx.Referring("A ship on dark water.", "ship", 0.8, scores={"ship": 0.8, "water": 0.2},
                        stats={"mean_db": -12.5, "n": 70}, region=region, level="region", backend="hand",
                        crs=scene.crs, transform=scene.transform, grid_shape=scene.shape)
    assert ref.prompt == egx.Box(10, 5, 20, 12)
    gdf = ref.to_geodataframe()
    assert gdf.crs.to_epsg() == 32633 and gdf.loc[0, "label"] == "ship" and gdf.loc[0, "prompt"] == "box"
    assert gdf.loc[0, "stat_mean_db"] == -12.5
    assert gdf.geometry[0].bounds == pytest.approx(map_box(10, 5, 20, 12))
    assert ref.to_geodataframe(crs="EPSG:4326").crs.to_epsg() == 4326
    back = gpd.read_file(ref.to_file(tmp_path / "ref.gpkg"))
    assert back.geometry[0].bounds == pytest.approx(map_box(10, 5, 20, 12))
    html = ref._repr_html_()
    assert "ship" in html and "A ship on dark water." in html
    assert ref.to_dict()["label"] == "ship"


def test_referring_remap_and_scene_extent(scene):
    view = scene.view((10, 20, 50, 48), max_size=20)
    local_region = egx.Box(1, 2, 4, 5).to_pixels(view)
    ref = egx.Referring("x", "water", 0.5, region=local_region, extent=(0, 0, 20, 14), grid_shape=view.shape)
    out = ref.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    assert out.region.bounds == (12, 24, 18, 30)
    assert out.region.grid_shape == scene.shape
    assert out.extent == (10, 20, 50, 48)
    scene_level = egx.Referring("x", "water", 0.5, extent=(10, 20, 50, 48), crs=scene.crs,
                                transform=scene.transform, grid_shape=scene.shape)
    assert scene_level.to_geodataframe().geometry[0].bounds == pytest.approx(map_box(10, 20, 50, 48))


# ------------------------------------------------------------------------------------------- display
def test_repr_html_contains_labels(grounding):
    html = grounding._repr_html_()
    assert "ship" in html and "water" in html and "3 found" in html
    assert "ships" in repr(grounding)


def test_plot_results(grounding, scene):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = grounding.plot(scene=scene)
    assert len(ax.patches) >= 4  # 3 boxes + 1 mask
    plt.close("all")


# ------------------------------------------------------------------------------------------- pixel CRS
def test_pixel_crs_results(tmp_path):
    g = egx.Grounding("ships", [egx.Detection((1.5, 2.0, 4.0, 6.0), "ship", 0.9)], grid_shape=(10, 10))
    gdf = g.to_geodataframe()
    assert gdf.crs is None
    assert gdf.geometry[0].bounds == (1.5, 2.0, 4.0, 6.0)  # map coordinates = pixels
    with pytest.raises(MissingCRSError, match="pixel"):
        g.to_geodataframe(crs="EPSG:4326")
    ref = egx.Referring("x", "ship", 0.5, grid_shape=(10, 10))
    assert ref.to_geodataframe().crs is None
    with pytest.raises(MissingCRSError):
        ref.to_geodataframe(crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the identity transform is on purpose: no NotGeoreferencedWarning noise
        path = g.save_masks(tmp_path / "pix.tif")
    with rasterio.open(path) as ds:
        assert ds.crs is None and ds.read(1)[2:6, 2:4].all()


def test_affine_of_results_is_used(scene):
    """A result on another grid (e.g. a rotated transform) uses its own affine, not the identity."""
    t = Affine(0.0, 10.0, 500000.0, 10.0, 0.0, 4000000.0)  # swapped axes
    g = egx.Grounding("x", [egx.Detection((1, 2, 3, 5), "x", 1.0)], crs=scene.crs, transform=t, grid_shape=(10, 10))
    assert g.to_geodataframe().geometry[0].bounds == pytest.approx((500020.0, 4000010.0, 500050.0, 4000030.0))
    assert UTM_TRANSFORM @ (0, 0) == (500000.0, 4000000.0)
