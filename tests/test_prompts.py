"""Visual prompts: construction, validation, GeoJSON, exact pixel conversion, clipping, masks, CRS round trips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Polygon
from shapely.geometry import box as shapely_box

import egx_notebook as egx
from conftest import SHARED_DATA, UTM_TRANSFORM, need, write_tif
from egx_notebook.errors import MissingCRSError, PromptClippedWarning, PromptError, PromptOutsideImageError


@pytest.fixture
def scene(optical_tif):
    """64 x 48 px optical scene in EPSG:32633, 10 m pixels."""
    return egx.open(optical_tif)


@pytest.fixture
def pixel_scene():
    return egx.open(np.zeros((40, 50), dtype="float32"))


def region_of(prompt, grid):
    """``prompt.to_pixels(grid)`` failing the test on any clipping warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PromptClippedWarning)
        return prompt.to_pixels(grid)


# ------------------------------------------------------------------------------------------- construction
def test_point_box_freeform_construction():
    p = egx.Point(10.5, 20.5)
    assert (p.x, p.y, p.crs, p.kind) == (10.5, 20.5, None, "point")
    b = egx.Box(1, 2, 3, 4, crs="EPSG:4326")
    assert (b.x0, b.y0, b.x1, b.y1, b.crs, b.kind) == (1, 2, 3, 4, "EPSG:4326", "box")
    f = egx.FreeForm.polygon([(0, 0), (4, 0), (0, 4)])
    assert f.kind == "freeform" and f.shape.geom_type == "Polygon" and not f.is_scribble
    s = egx.FreeForm.scribble([(0, 0), (5, 5)], width=2)
    assert s.is_scribble and s.width == 2.0


def test_box_swapped_corners_are_sorted():
    b = egx.Box(10, 20, 0, 5)
    assert (b.x0, b.y0, b.x1, b.y1) == (0, 5, 10, 20)
    assert b.geometry().bounds == (0, 5, 10, 20)


@pytest.mark.parametrize("make", [
    lambda: egx.Point(float("nan"), 1),
    lambda: egx.Point(1, float("inf")),
    lambda: egx.Box(1, 1, 1, 5),            # zero width
    lambda: egx.Box(1, 3, 5, 3),            # zero height
    lambda: egx.Box(0, 0, float("nan"), 3),
    lambda: egx.FreeForm.polygon([(0, 0), (1, 1)]),
    lambda: egx.FreeForm.scribble([]),
    lambda: egx.FreeForm.scribble([(0, 0), (1, 1)], width=-1),
    lambda: egx.FreeForm(),
    lambda: egx.FreeForm.from_mask(np.ones((3, 3), dtype="uint8")),   # not boolean
    lambda: egx.FreeForm.from_mask(np.zeros((3, 3), dtype=bool)),     # empty
    lambda: egx.FreeForm.from_mask(np.ones((2, 3, 3), dtype=bool)),   # not 2-D
    lambda: egx.FreeForm(mask=np.ones((3, 3), bool), crs="EPSG:4326"),
])
def test_invalid_prompts_raise_prompt_error(make):
    with pytest.raises(PromptError):
        make()


def test_prompt_error_is_value_error():
    assert issubclass(PromptError, ValueError) and issubclass(PromptOutsideImageError, PromptError)


# ------------------------------------------------------------------------------------------- GeoJSON
def test_from_geojson_point():
    p = egx.from_geojson({"type": "Feature", "properties": {},
                          "geometry": {"type": "Point", "coordinates": [15.123456789, 36.987654321]}})
    assert isinstance(p, egx.Point)
    assert (p.x, p.y) == (15.123456789, 36.987654321)  # no rounding
    assert p.crs == "EPSG:4326"


def test_from_geojson_rectangle_is_box():
    rect = {"type": "Polygon", "coordinates": [[[1, 2], [5, 2], [5, 7], [1, 7], [1, 2]]]}
    b = egx.from_geojson(rect, crs="EPSG:32633")
    assert isinstance(b, egx.Box)
    assert (b.x0, b.y0, b.x1, b.y1, b.crs) == (1, 2, 5, 7, "EPSG:32633")


def test_from_geojson_other_polygon_is_freeform():
    tri = {"type": "Feature", "properties": None,
           "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [0, 3], [0, 0]]]}}
    f = egx.from_geojson(tri)
    assert isinstance(f, egx.FreeForm) and not f.is_scribble
    assert f.shape.equals(Polygon([(0, 0), (4, 0), (0, 3)]))
    rotated = {"type": "Polygon", "coordinates": [[[0, 2], [2, 0], [4, 2], [2, 4], [0, 2]]]}  # a diamond
    assert isinstance(egx.from_geojson(rotated), egx.FreeForm)


def test_from_geojson_linestring_is_scribble():
    line = {"type": "Feature", "properties": {"width": 30.0},
            "geometry": {"type": "LineString", "coordinates": [[0, 0], [100, 50]]}}
    f = egx.from_geojson(line, crs="EPSG:32633")
    assert isinstance(f, egx.FreeForm) and f.is_scribble and f.width == 30.0
    assert egx.from_geojson(line, crs="EPSG:32633", scribble_width=5).width == 5


@pytest.mark.parametrize("bad", [
    "not a dict",
    {"type": "Feature", "properties": {}, "geometry": None},
    {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]},
    {"type": "Polygon", "coordinates": []},
])
def test_from_geojson_invalid(bad):
    with pytest.raises(PromptError):
        egx.from_geojson(bad)


def test_geojson_round_trip(scene):
    box = egx.Box(500100.0, 3999700.0, 500250.0, 3999900.0, crs="EPSG:32633")
    again = egx.from_geojson(box.to_geojson(), crs=box.crs)
    assert isinstance(again, egx.Box)
    assert region_of(again, scene).bounds == region_of(box, scene).bounds


# ------------------------------------------------------------------------------------------- exact conversion
def test_pixel_prompts_are_used_as_is(scene):
    r = region_of(egx.Box(1.25, 2.5, 10.75, 20.125), scene)
    assert r.kind == "box" and r.bounds == (1.25, 2.5, 10.75, 20.125)
    assert r.grid_shape == (48, 64)
    assert r.window == (1, 2, 11, 21)
    p = region_of(egx.Point(10.5, 20.5), scene)
    assert p.center == (10.5, 20.5)
    assert p.mask().sum() == 1 and p.mask()[20, 10]


def test_map_prompts_convert_exactly(scene):
    x0, y0 = UTM_TRANSFORM @ (12.5, 7.25)
    x1, y1 = UTM_TRANSFORM @ (30.125, 19.0)
    r = region_of(egx.Box(x0, y0, x1, y1, crs="EPSG:32633"), scene)
    assert r.bounds == pytest.approx((12.5, 7.25, 30.125, 19.0), abs=1e-9)
    px, py = UTM_TRANSFORM @ (3.3, 4.4)
    pt = region_of(egx.Point(px, py, crs="EPSG:32633"), scene)
    assert pt.center == pytest.approx((3.3, 4.4), abs=1e-9)
    assert pt.mask()[4, 3] and pt.mask().sum() == 1


def test_geographic_point_on_utm_scene(scene):
    lon, lat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True).transform(*(UTM_TRANSFORM @ (20.5, 30.5)))
    r = region_of(egx.Point(lon, lat, crs="EPSG:4326"), scene)
    assert r.center == pytest.approx((20.5, 30.5), abs=1e-6)


def test_fully_outside_raises(scene):
    with pytest.raises(PromptOutsideImageError, match="outside"):
        egx.Box(100, 100, 120, 120).to_pixels(scene)
    with pytest.raises(PromptOutsideImageError):
        egx.Point(64, 10).to_pixels(scene)  # half-open: column 64 does not exist
    with pytest.raises(PromptOutsideImageError):
        egx.Point(-0.001, 10).to_pixels(scene)
    with pytest.raises(PromptOutsideImageError):
        egx.Box(10, 12, 20, 30, crs="EPSG:4326").to_pixels(scene)  # far away on Earth
    region_of(egx.Point(63.999, 47.999), scene)  # the last pixel is inside


def test_partly_outside_is_clipped_with_warning(scene):
    with pytest.warns(PromptClippedWarning):
        r = egx.Box(-5, -6, 10, 12).to_pixels(scene)
    assert r.bounds == (0, 0, 10, 12)
    with pytest.warns(PromptClippedWarning):
        r = egx.FreeForm.polygon([(50, 40), (80, 40), (50, 60)]).to_pixels(scene)
    assert r.bounds[2] <= 64 and r.bounds[3] <= 48
    assert r.mask().any()


def test_geographic_prompt_on_pixel_scene_raises(pixel_scene):
    with pytest.raises(MissingCRSError, match="no CRS"):
        egx.Box(10, 40, 11, 41, crs="EPSG:4326").to_pixels(pixel_scene)
    with pytest.raises(MissingCRSError):
        egx.Point(10, 40, crs="EPSG:4326").to_pixels(pixel_scene)
    assert region_of(egx.Box(1, 1, 5, 5, crs="pixel"), pixel_scene).bounds == (1, 1, 5, 5)


# ------------------------------------------------------------------------------------------- shapes and masks
def test_box_mask_is_half_open(pixel_scene):
    m = region_of(egx.Box(2, 3, 5, 7), pixel_scene).mask()
    expected = np.zeros((40, 50), bool)
    expected[3:7, 2:5] = True
    np.testing.assert_array_equal(m, expected)


def test_box_mask_covers_pixel_centres(pixel_scene):
    """A 10 x 10 px box at a fractional offset covers the 100 pixels whose centres it contains."""
    m = region_of(egx.Box(10.3, 10.3, 20.3, 20.3), pixel_scene).mask()
    expected = np.zeros((40, 50), bool)
    expected[10:20, 10:20] = True
    np.testing.assert_array_equal(m, expected)


@pytest.mark.parametrize("box,window", [
    ((30.5, 20.5, 36.5, 25.5), (30, 20, 36, 25)),  # centres on the edges: x0 <= x < x1 (half-open)
    ((0.5, 0.5, 2.5, 2.5), (0, 0, 2, 2)),
    ((1, 1, 2, 2), (1, 1, 2, 2)),
    ((0.9999988, 0.9999983, 2.0000023, 2.0000017), (1, 1, 2, 2)),  # float noise of a CRS round trip
    ((10.6, 10.2, 10.9, 14.0), (10, 10, 11, 14)),  # a sliver with no centre along x still covers a column
    ((10.6, 10.2, 11.4, 14.0), (10, 10, 12, 14)),  # ... every column it touches
])
def test_box_mask_pixel_centres_half_open(pixel_scene, box, window):
    m = region_of(egx.Box(*box), pixel_scene).mask()
    expected = np.zeros((40, 50), bool)
    expected[window[1]:window[3], window[0]:window[2]] = True
    np.testing.assert_array_equal(m, expected)
    c0, r0, c1, r1 = window
    np.testing.assert_array_equal(region_of(egx.Box(*box), pixel_scene).mask((c0 - 1, r0 - 1, c1 + 3, r1 + 2)),
                                  expected[r0 - 1:r1 + 2, c0 - 1:c1 + 3] if c0 > 0 and r0 > 0 else
                                  np.pad(expected, 1)[r0:r1 + 3, c0:c1 + 4])


def test_triangle_keeps_its_shape(pixel_scene):
    r = region_of(egx.FreeForm.polygon([(0, 0), (20, 0), (0, 20)]), pixel_scene)
    assert r.kind == "freeform"
    m = r.mask()
    assert m[1, 1] and m[0, 18] and m[18, 0]
    assert not m[19, 19] and not m[15, 15]  # inside the bbox, outside the triangle
    assert 180 <= m.sum() <= 220  # ~ the triangle's 200 px, not the box's 400
    assert r.area_px == pytest.approx(200.0)


def test_mask_prompt_keeps_exact_pixels(pixel_scene):
    patch = np.zeros((6, 7), bool)
    patch[0, 0] = patch[2, 3] = patch[5, 6] = True
    patch[3, 1:5] = True
    r = region_of(egx.FreeForm.from_mask(patch, origin=(10, 20)), pixel_scene)
    full = r.mask()
    expected = np.zeros((40, 50), bool)
    expected[20:26, 10:17] = patch
    np.testing.assert_array_equal(full, expected)
    assert r.area_px == patch.sum()
    np.testing.assert_array_equal(r.mask((8, 18, 20, 30)), expected[18:30, 8:20])


def test_mask_prompt_partly_outside_is_clipped(pixel_scene):
    with pytest.warns(PromptClippedWarning):
        r = egx.FreeForm.from_mask(np.ones((5, 5), bool), origin=(-2, -3)).to_pixels(pixel_scene)
    m = r.mask()
    assert m.sum() == 3 * 2 and m[:2, :3].all()


def test_scribble_width_buffers(pixel_scene):
    r = region_of(egx.FreeForm.scribble([(10, 20), (30, 20)], width=4), pixel_scene)
    assert r.bounds == pytest.approx((8, 18, 32, 22), abs=1e-9)
    assert r.geometry.area == pytest.approx(20 * 4 + np.pi * 4, rel=0.02)
    m = r.mask()
    assert m[18:22, 10:30].all()
    assert not m[:17].any() and not m[23:].any()
    hairline = region_of(egx.FreeForm.scribble([(10, 5), (30, 5)], width=0), pixel_scene)
    assert hairline.mask()[5, 10:30].all()  # a zero-width stroke still covers the pixels it crosses


def test_scribble_width_in_map_units(scene):
    """A 30 m wide stroke on a 10 m grid is 3 px wide."""
    a = UTM_TRANSFORM @ (10, 20)
    b = UTM_TRANSFORM @ (40, 20)
    r = region_of(egx.FreeForm.scribble([a, b], width=30.0, crs="EPSG:32633"), scene)
    assert r.bounds == pytest.approx((8.5, 18.5, 41.5, 21.5), abs=1e-6)


# ------------------------------------------------------------------------------------------- property tests
@pytest.fixture(scope="module")
def s1_scene():
    return egx.open(need(SHARED_DATA / "sen1floods11/sample/S1/Spain_7370579_S1Hand.tif"))


@pytest.fixture(scope="module")
def utm_scene(tmp_path_factory):
    path = write_tif(tmp_path_factory.mktemp("utm") / "utm.tif", np.ones((200, 240), dtype="uint16"))
    return egx.open(path)


def pixel_boxes(width, height, min_size=1.0):
    """Random float pixel boxes inside a width x height grid."""
    def make(draw_vals):
        x0, y0, w, h = draw_vals
        return x0, y0, min(width, x0 + w), min(height, y0 + h)

    return st.tuples(st.floats(0, width - 2 * min_size), st.floats(0, height - 2 * min_size),
                     st.floats(min_size, width / 2), st.floats(min_size, height / 2)).map(make)


def dyadic_pixel_boxes(width, height):
    """Pixel boxes on a 1/64 px lattice: every coordinate and its image under scale 2^k + integer offset is
    exactly representable, so a round trip must be bit-exact."""
    def make(vals):
        x0, y0, w, h = (v / 64 for v in vals)
        return x0, y0, min(width, x0 + w), min(height, y0 + h)

    return st.tuples(st.integers(0, (width - 2) * 64), st.integers(0, (height - 2) * 64),
                     st.integers(32, width * 32), st.integers(32, height * 32)).map(make)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pixel_boxes(512, 512))
def test_epsg4326_box_round_trip(s1_scene, box):
    t = s1_scene.transform
    (lon0, lat0), (lon1, lat1) = t @ box[:2], t @ box[2:]
    r = region_of(egx.Box(lon0, lat0, lon1, lat1, crs="EPSG:4326"), s1_scene)
    assert r.bounds == pytest.approx(box, abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.tuples(st.integers(1, 199), st.integers(1, 159), st.integers(4, 40), st.integers(4, 40)))
def test_utm_box_via_epsg4326_lands_on_the_same_pixels(utm_scene, ints):
    """Pixel box -> UTM corners -> lon/lat (pyproj) -> Box(crs=EPSG:4326) -> pixels again.

    Boxes are at least 4 px wide: thinner shapes rasterize with ``all_touched`` (so slivers never vanish),
    where the lon/lat box's real ~1e-4 px overshoot legitimately touches the neighbouring pixels."""
    x0, y0, w, h = ints
    box = (x0, y0, x0 + w, y0 + h)
    to_ll = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    corners = [utm_scene.transform @ c for c in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3]))]
    lons, lats = to_ll.transform([c[0] for c in corners], [c[1] for c in corners])
    r = region_of(egx.Box(min(lons), min(lats), max(lons), max(lats), crs="EPSG:4326"), utm_scene)
    bx0, by0, bx1, by1 = r.bounds
    tol = 0.05  # px: the lon/lat box is a slightly larger, nearly rectangular quadrilateral in UTM
    assert bx0 <= box[0] + 1e-6 and by0 <= box[1] + 1e-6 and bx1 >= box[2] - 1e-6 and by1 >= box[3] - 1e-6
    assert bx0 >= box[0] - tol and by0 >= box[1] - tol and bx1 <= box[2] + tol and by1 <= box[3] + tol
    expected = np.zeros(utm_scene.shape, bool)
    expected[box[1]:box[3], box[0]:box[2]] = True
    np.testing.assert_array_equal(r.mask(), expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dyadic_pixel_boxes(240, 200), st.sampled_from([1, 2, 4, 8]),
       st.tuples(st.integers(0, 100), st.integers(0, 80)))
def test_region_map_pixels_view_round_trip(utm_scene, box, scale, offset):
    region = region_of(egx.Box(*box), utm_scene)
    x0, y0 = offset
    view = utm_scene.view((x0, y0, x0 + 128, y0 + 112), shape=(112 // scale, 128 // scale))
    assert view.scale == (scale, scale)
    local = view.region(region)
    assert local.grid_shape == view.shape
    assert local.bounds == ((box[0] - x0) / scale, (box[1] - y0) / scale, (box[2] - x0) / scale, (box[3] - y0) / scale)
    t = view.pixel_transform
    back = local.map_pixels(t.a, t.b, t.d, t.e, t.c, t.f, utm_scene.shape)
    assert back.bounds == region.bounds
    assert back.geometry.equals_exact(region.geometry, tolerance=0)


def test_mask_region_view_round_trip(utm_scene):
    patch = np.zeros((8, 8), bool)
    patch[2:6, 1:7] = True
    region = region_of(egx.FreeForm.from_mask(patch, origin=(40, 60)), utm_scene)
    view = utm_scene.view((32, 48, 96, 112))  # full resolution, offset (32, 48)
    local = view.region(region)
    assert local.mask_origin == (8, 12)
    np.testing.assert_array_equal(local.mask()[12:20, 8:16], patch)
    t = view.pixel_transform
    back = local.map_pixels(t.a, t.b, t.d, t.e, t.c, t.f, utm_scene.shape)
    np.testing.assert_array_equal(back.mask(), region.mask())


def test_mask_region_in_decimated_view_is_nearest_neighbour(utm_scene):
    """At scale 200/90 a view pixel belongs to the mask exactly when its centre falls on a mask pixel."""
    patch = np.ones((30, 25), bool)  # set up to its edges, where nearest-neighbour sampling is tested
    patch[10:15, 5:9] = False
    region = region_of(egx.FreeForm.from_mask(patch, origin=(33, 41)), utm_scene)
    view = utm_scene.view((20, 10, 220, 190), max_size=90)
    got = view.region(region).mask()
    sx, sy = view.scale
    cx = 20 + (np.arange(view.width) + 0.5) * sx  # view pixel centres in scene pixels
    cy = 10 + (np.arange(view.height) + 0.5) * sy
    full = region.mask()
    expected = full[np.floor(cy).astype(int)][:, np.floor(cx).astype(int)]
    np.testing.assert_array_equal(got, expected)


def test_tiny_mask_region_never_vanishes(utm_scene):
    region = region_of(egx.FreeForm.from_mask(np.ones((2, 2), bool), origin=(41, 41)), utm_scene)
    local = utm_scene.overview(24).region(region)  # scale 10: no view pixel centre on the 2 x 2 mask
    assert local.mask().sum() >= 1


def test_polygon_in_view_pixels_matches_shapely(utm_scene):
    view = utm_scene.view((20, 10, 220, 190), max_size=90)
    tri = egx.FreeForm.polygon([(40, 30), (120, 30), (40, 110)])
    local = view.region(tri)
    sx, sy = view.scale
    expected = Polygon([((40 - 20) / sx, (30 - 10) / sy), ((120 - 20) / sx, (30 - 10) / sy), ((40 - 20) / sx, (110 - 10) / sy)])
    assert local.geometry.equals_exact(expected, tolerance=1e-9)
    assert not local.geometry.equals(shapely_box(*local.bounds))
