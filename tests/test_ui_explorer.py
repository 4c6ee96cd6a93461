"""The Explorer driven without a browser: synthetic draw-control events (created / edited / deleted, GeoJSON in
EPSG:4326, exactly what the Leaflet draw control sends), scribble strokes, button clicks and map state set the
way the browser would set it. Checks the prompts, the backend calls, the map layers and the exports."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipyleaflet")
pytest.importorskip("anywidget")

from conftest import write_tif

import egx_notebook as egx
from egx_notebook.backends.analytic.backend import AnalyticBackend
from egx_notebook.errors import BackendError
from egx_notebook.ui import Explorer
from egx_notebook.ui.frame import MERCATOR_HALF

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ helpers
class Recorder(AnalyticBackend):
    """The analytic backend, recording what it was asked; ``fail_on`` makes chosen calls raise."""

    name = "recorder"

    def __init__(self, fail_on=()):
        super().__init__()
        self.calls, self.fail_on = [], set(fail_on)

    def refer(self, view, region, instruction=None):
        self.calls.append(("refer", view, region, instruction))
        if "refer" in self.fail_on:
            raise BackendError("the model crashed (test)")
        return super().refer(view, region, instruction)

    def ground(self, view, query):
        self.calls.append(("ground", view, query))
        if "ground" in self.fail_on:
            raise BackendError("the model crashed (test)")
        return super().ground(view, query)


@pytest.fixture(scope="module")
def sar():
    return egx.sample_data.synthetic_sar(size=256, ships=4, seed=3)


@pytest.fixture
def scene(sar):
    return sar.open()


def lonlat(scene, x, y):
    """WGS84 lon/lat of scene pixel (x, y)."""
    from pyproj import Transformer

    mx, my = scene.transform @ (x, y)
    return Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True).transform(mx, my)


def rect_feature(scene, x0, y0, x1, y1):
    """A rectangle as the draw control reports it: lon/lat corners of pixel box (x0, y0, x1, y1)."""
    (lon0, lat0), (lon1, lat1) = lonlat(scene, x0, y1), lonlat(scene, x1, y0)
    ring = [[lon0, lat0], [lon0, lat1], [lon1, lat1], [lon1, lat0], [lon0, lat0]]
    return {"type": "Feature", "properties": {"style": {"color": "#33aaff"}},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def point_feature(scene, x, y):
    return {"type": "Feature", "properties": {"style": {}},
            "geometry": {"type": "Point", "coordinates": list(lonlat(scene, x, y))}}


def polygon_feature(scene, pixel_ring):
    ring = [list(lonlat(scene, x, y)) for x, y in pixel_ring] + [list(lonlat(scene, *pixel_ring[0]))]
    return {"type": "Feature", "properties": {"style": {}}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def draw(ex, action, feature):
    """Send one draw event exactly as ipyleaflet does when the browser reports it."""
    ex.draw_control._draw_callbacks(ex.draw_control, action=action, geo_json=feature)


def set_browser_view(ex, window, size=(600, 400)):
    """Set the map's bounds and pixel size the way the browser reports them, showing scene pixel ``window``."""
    (south, west), (north, east) = ex.frame.latlng_bounds(window)
    for name, value in (("south", south), ("west", west), ("north", north), ("east", east),
                        ("left", 0.0), ("top", 0.0), ("right", float(size[0])), ("bottom", float(size[1]))):
        ex.map.set_trait(name, value)


def layer_names(ex):
    return [layer.name for layer in ex.map.layers]


# ------------------------------------------------------------------------------------------------ packaging
def test_packaged_front_end_is_the_widgets_sources():
    for name in ("scribble.js", "scribble.css"):
        src = (ROOT / "widgets" / name).read_text()
        assert (ROOT / "egx_notebook" / "ui" / "static" / name).read_text() == src
    from egx_notebook.ui.scribble import ScribbleTool

    assert "export default" in ScribbleTool._esm and ".egx-scribble-canvas" in ScribbleTool._css


def test_scene_explore_returns_an_explorer(scene):
    ex = scene.explore(threaded=False)
    assert isinstance(ex, Explorer) and ex.scene is scene
    assert ex.scene_layer.mode == "overlay" and ex.scene_layer.layer in ex.map.layers
    assert ex.draw_control in ex.map.controls
    # the map is fitted to the scene: its centre is the scene's centre
    (south, west), (north, east) = ex.frame.latlng_bounds()
    lat, lon = ex.map.center
    assert south < lat < north and west < lon < east
    # a backend chooser listing the registered backends
    assert "analytic" in ex.panel.backend.options and ex.panel.backend.value == "analytic"
    assert ex._repr_mimebundle_()  # displays as a widget


def test_overlay_sits_on_the_scene_footprint(scene):
    ex = Explorer(scene, threaded=False)
    (s, w), (n, e) = ex.scene_layer.layer.bounds
    (fs, fw), (fn, fe) = ex.frame.latlng_bounds()
    # the warped overlay covers the (slightly rotated in lon/lat) UTM footprint, with under 2 px of margin
    deg = (fe - fw) / scene.width
    assert s <= fs + 1e-9 and w <= fw + 1e-9 and n >= fn - 1e-9 and e >= fe - 1e-9
    assert fs - s < 2 * deg and fe - e > -2 * deg
    assert ex.scene_layer.layer.url.startswith("data:image/png;base64,")


# ------------------------------------------------------------------------------------------------ drawing
def test_drawn_rectangle_becomes_an_exact_box_prompt(scene):
    ex = Explorer(scene, threaded=False)
    feat = rect_feature(scene, 40, 50, 90, 120)
    draw(ex, "created", feat)
    assert len(ex.prompts) == 1
    box = ex.prompts[0]
    ring = feat["geometry"]["coordinates"][0]
    lons, lats = [c[0] for c in ring], [c[1] for c in ring]
    assert isinstance(box, egx.Box) and str(box.crs) == "EPSG:4326"
    assert (box.x0, box.y0, box.x1, box.y1) == (min(lons), min(lats), max(lons), max(lats))  # not rounded
    x0, y0, x1, y1 = box.to_pixels(scene).bounds
    assert abs(x0 - 40) < 1 and abs(y0 - 50) < 1 and abs(x1 - 90) < 1 and abs(y1 - 120) < 1
    assert ex.book.selected_id == 1 and ex.panel.prompts.value == 1
    assert "P1 box" in ex.panel.prompts.options[1][0]


def test_edits_and_deletes_update_prompts_without_duplicates(scene):
    ex = Explorer(scene, threaded=False)
    draw(ex, "created", point_feature(scene, 30.5, 40.5))
    poly = polygon_feature(scene, [(100, 100), (160, 110), (150, 170), (110, 160)])
    draw(ex, "created", poly)
    draw(ex, "created", poly)  # the same shape reported twice is one prompt
    assert [type(p).__name__ for p in ex.prompts] == ["Point", "FreeForm"]
    ids = [e.id for e in ex.book]
    moved = polygon_feature(scene, [(100, 100), (170, 105), (150, 170), (110, 160)])
    draw(ex, "edited", moved)
    assert [e.id for e in ex.book] == ids and len(ex.prompts) == 2  # replaced, not appended
    region = ex.prompts[1].to_pixels(scene)
    assert region.kind == "freeform" and abs(region.bounds[2] - 170) < 1
    edited_point = point_feature(scene, 35.5, 41.5)
    draw(ex, "edited", edited_point)
    assert abs(ex.prompts[0].to_pixels(scene).geometry.x - 35.5) < 1e-6
    draw(ex, "deleted", edited_point)
    assert [e.id for e in ex.book] == [ids[1]] and ex.prompts[0].kind == "freeform"
    draw(ex, "deleted", moved)
    assert ex.prompts == [] and ex.book.selected_id is None
    assert [o[1] for o in ex.panel.prompts.options] == [None]


def test_browser_shape_list_repairs_a_wrong_edit_match(scene):
    ex = Explorer(scene, threaded=False)
    a, b = rect_feature(scene, 10, 10, 50, 50), rect_feature(scene, 30, 10, 70, 50)
    draw(ex, "created", a)
    draw(ex, "created", b)
    a_moved = rect_feature(scene, 32, 10, 68, 50)  # A dragged onto B: the event alone is ambiguous
    draw(ex, "edited", a_moved)
    ex.draw_control.data = [a_moved, b]  # what the browser then reports, in drawing order
    bounds = [p.to_pixels(scene).bounds for p in ex.prompts]
    # (a lon/lat rectangle around a UTM pixel box is a little larger in pixels: under 1.5 px here)
    assert np.allclose(bounds, [(32, 10, 68, 50), (30, 10, 70, 50)], atol=1.5)
    assert [e.id for e in ex.book] == [1, 2]
    ex.draw_control.data = [b]  # A deleted in the browser while an event was lost
    assert [e.id for e in ex.book] == [2]


def test_prompt_outside_the_image_is_kept_but_flagged(scene):
    ex = Explorer(scene, threaded=False)
    lon, lat = lonlat(scene, -500, -500)
    draw(ex, "created", {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    assert len(ex.book) == 1 and ex.book.entries[0].problem
    assert "outside" in ex.panel.status.value
    ex.panel.describe.click()
    assert "egx-error" in ex.panel.status.value and ex.results == []


def test_remove_prompt_takes_a_drawn_shape_off_the_map(scene):
    ex = Explorer(scene, threaded=False)
    a, b = rect_feature(scene, 10, 10, 50, 50), rect_feature(scene, 80, 80, 120, 120)
    draw(ex, "created", a)
    draw(ex, "created", b)
    ex.draw_control.data = [a, b]
    ex.panel.prompts.value = 1
    ex.panel.remove_prompt.click()
    assert [e.id for e in ex.book] == [2] and ex.draw_control.data == [b]


def test_scribble_stroke_becomes_a_freeform_scribble(scene):
    from pyproj import Transformer
    from shapely.geometry import LineString, Point

    ex = Explorer(scene, threaded=False)
    set_browser_view(ex, (0, 0, 256, 256), size=(512, 512))
    points, width_px = [[100, 100], [200, 150], [300, 300]], 10
    ex.scribble._handle_message(ex.scribble, {"event": "stroke", "points": points, "size": [512, 512],
                                              "width_px": width_px}, [])
    assert len(ex.prompts) == 1 and ex.book.entries[0].source == "scribble"
    p = ex.prompts[0]
    assert isinstance(p, egx.FreeForm) and p.is_scribble and str(p.crs) == "EPSG:3857"
    # independently: Leaflet places the container linearly in Web Mercator between the reported bounds
    (south, west), (north, east) = ex.map.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (mx0, my0), (mx1, my1) = to_merc.transform(west, south), to_merc.transform(east, north)
    merc = [(mx0 + px / 512 * (mx1 - mx0), my1 - py / 512 * (my1 - my0)) for px, py in points]
    assert np.allclose(p.shape.coords, merc) and p.width == pytest.approx(width_px * (mx1 - mx0) / 512)
    to_scene = Transformer.from_crs("EPSG:3857", scene.crs, always_xy=True)
    pix = [~scene.transform @ to_scene.transform(x, y) for x, y in merc]
    region = p.to_pixels(scene)
    assert all(region.geometry.contains(Point(q)) for q in pix)
    brush_px = p.width * np.cos(np.radians((south + north) / 2)) / scene.pixel_size_m()[0]  # mercator m -> ground
    assert region.geometry.area == pytest.approx(LineString(pix).length * brush_px, rel=0.15)
    assert ex.prompt_layer.data["features"][0]["properties"]["kind"] == "freeform"


# ------------------------------------------------------------------------------------------------ actions
def test_describe_button_sends_the_drawn_region_to_the_backend(scene):
    rec = Recorder()
    ex = Explorer(scene, backend=rec, threaded=False)
    draw(ex, "created", rect_feature(scene, 40, 50, 90, 120))
    ex.panel.text.value = "what is this?"
    ex.panel.describe.click()
    kind, view, region, instruction = rec.calls[-1]
    assert kind == "refer" and instruction == "what is this?"
    # the region the backend saw, in its view's pixels, maps back onto the drawn box
    x0, y0, x1, y1 = region.bounds
    sx0, sy0 = view.to_scene_pixels(x0, y0)
    sx1, sy1 = view.to_scene_pixels(x1, y1)
    expected = ex.prompts[0].to_pixels(scene).bounds
    assert np.allclose((sx0, sy0, sx1, sy1), expected, atol=1e-6)
    assert len(ex.results) == 1 and ex.results[0].name == "R1"
    layer = ex.results[0].layer
    assert layer in ex.map.layers and layer.name.startswith("R1 describe")
    props = layer.data["features"][0]["properties"]
    assert props["label"] == ex.results[0].result.label and "egx-referring" in props["style"]["className"]
    assert "R1" in ex.panel.answer.value and ex.results[0].result.text[:20] in ex.panel.answer.value
    assert ex.panel.results.value == ("R1", None)
    assert "egx-ok" in ex.panel.status.value


def test_find_whole_scene_then_around_a_point(sar, scene):
    rec = Recorder()
    ex = Explorer(scene, backend=rec, threaded=False)
    ex.panel.text.value = "ships"
    ex.panel.find.click()
    kind, view, query = rec.calls[-1]
    assert kind == "ground" and query == "ships" and view.window == (0, 0, scene.width, scene.height)
    g = ex.results[-1].result
    assert len(g) >= len(sar.objects["ship"])
    feats = ex.results[-1].layer.data["features"]
    assert len(feats) == len(g)
    assert {f["properties"]["label"] for f in feats} == {"ship"}
    assert [f["properties"]["egx_score"] for f in feats] == pytest.approx(list(g.scores))
    assert "ship" in ex.legend_control.legend and "ship" in ex.panel.legend.value
    # the results list: one header and one row per detection
    values = [v for _, v in ex.panel.results.options]
    assert values[0] == ("F1", None) and values[1:] == [("F1", i) for i in range(len(g))]

    x0, y0, x1, y1 = sar.objects["ship"][0]
    draw(ex, "created", point_feature(scene, (x0 + x1) / 2, (y0 + y1) / 2))
    ex.panel.find.click()
    kind, view, query = rec.calls[-1]
    vx0, vy0, vx1, vy1 = view.window
    assert vx1 - vx0 < scene.width and vx0 <= x0 and x1 <= vx1 and vy0 <= y0 and y1 <= vy1  # a zoom-in window
    g2 = ex.results[-1].result
    assert any(d.box[0] < x1 and x0 < d.box[2] and d.box[1] < y1 and y0 < d.box[3] for d in g2)
    assert [r.name for r in ex.results] == ["F1", "F2"]


def test_analyze_view_reads_the_map_viewport_at_screen_resolution(scene):
    rec = Recorder()
    ex = Explorer(scene, backend=rec, threaded=False)
    set_browser_view(ex, (64, 64, 192, 192), size=(64, 64))  # zoomed out: 2 scene px per screen px
    described, found = ex.analyze_view("ships")
    (_, view, region, _), (_, gview, query) = rec.calls[-2:]
    assert region is None and query == "ships" and gview is view
    assert np.allclose(view.window, (64, 64, 192, 192), atol=3)  # the lon/lat box around a UTM window
    assert max(view.shape) <= 64 and view.scale[0] > 1.9
    assert [r.name for r in ex.results] == ["R1", "F1"]
    assert described.extent is not None and found.query == "ships"
    set_browser_view(ex, (64, 64, 192, 192), size=(600, 600))  # zoomed in: full resolution, never upsampled
    ex.panel.analyze.click()
    assert rec.calls[-1][1].scale == (1.0, 1.0)


def test_errors_go_to_the_status_line_and_lose_nothing(scene):
    rec = Recorder()
    ex = Explorer(scene, backend=rec, threaded=False)
    draw(ex, "created", rect_feature(scene, 40, 50, 90, 120))
    ex.panel.describe.click()
    ex.panel.text.value = "ships"
    ex.panel.find.click()
    before_prompts, before_results = list(ex.prompts), [r.name for r in ex.results]
    before_layers = layer_names(ex)
    rec.fail_on = {"refer", "ground"}
    ex.panel.describe.click()
    assert "the model crashed (test)" in ex.panel.status.value and "egx-error" in ex.panel.status.value
    ex.panel.find.click()
    assert isinstance(ex.last_error, BackendError)
    ex.panel.text.value = "   "
    ex.panel.find.click()  # empty query: a typed error, shown
    assert "query is empty" in ex.panel.status.value
    ex.panel.text.value = "unicorns on the moon"
    rec.fail_on = set()
    ex.panel.find.click()  # a query the backend does not understand
    assert "egx-error" in ex.panel.status.value
    assert ex.prompts == before_prompts and [r.name for r in ex.results] == before_results
    assert layer_names(ex) == before_layers
    assert not any(b.disabled for b in ex.panel.actions)  # still usable
    ex.panel.text.value = "ships"
    ex.panel.find.click()
    assert [r.name for r in ex.results] == before_results + ["F2"]
    with pytest.raises(BackendError):  # from code, the error is raised too
        rec.fail_on = {"refer"}
        ex.describe(None)


def test_unknown_backend_is_reported_and_the_widget_keeps_working(scene):
    ex = Explorer(scene, threaded=False)
    ex.panel.backend.options = list(ex.panel.backend.options) + ["not-installed"]
    ex.panel.backend.value = "not-installed"
    ex.panel.describe.click()
    assert "unknown backend" in ex.panel.status.value and ex.results == []
    ex.panel.backend.value = "analytic"
    ex.panel.describe.click()
    assert len(ex.results) == 1


def test_threaded_click_runs_in_the_background(scene):
    ex = Explorer(scene, threaded=True)
    ex.panel.text.value = "ships"
    ex.panel.find.click()
    ex.wait()
    assert len(ex.results) == 1 and not ex.runner.busy
    assert not any(b.disabled for b in ex.panel.actions) and ex.panel.progress.layout.visibility == "hidden"
    ex.close()


# ------------------------------------------------------------------------------------------------ results
def test_results_list_selects_and_zooms(scene):
    ex = Explorer(scene, threaded=False)
    g = ex.find("ships", prompt=None)
    zoom0 = ex.map.zoom
    ex.panel.results.value = ("F1", 1)
    d = g[1]
    lat, lon = ex.map.center
    clon, clat = lonlat(scene, *d.center)
    assert abs(lat - clat) < 1e-3 and abs(lon - clon) < 1e-3 and ex.map.zoom > zoom0
    styles = [f["properties"]["style"] for f in ex.results[0].layer.data["features"]]
    assert styles[1]["weight"] == 4 and all(s["weight"] == 2 for i, s in enumerate(styles) if i != 1)
    # clicking a feature on the map shows its label and score in the popup and selects it in the list
    feat = ex.results[0].layer.data["features"][2]
    ex.results[0].layer._click_callbacks(event="click", feature=feat, properties=feat["properties"], id=None)
    assert "ship" in ex.popup.value and f"{g[2].score:.2f}" in ex.popup.value
    assert ex.panel.results.value == ("F1", 2)


def test_zoom_in_to_prompt_and_zoom_out_to_scene(scene):
    ex = Explorer(scene, threaded=False)
    whole = ex.map.zoom
    ex.add_prompt(egx.Box(100, 100, 110, 110))
    ex.panel.zoom_in.click()
    lat, lon = ex.map.center
    clon, clat = lonlat(scene, 105, 105)
    assert ex.map.zoom > whole and abs(lat - clat) < 1e-4 and abs(lon - clon) < 1e-4
    for _ in range(10):
        ex.panel.zoom_out.click()
    assert ex.map.zoom == whole


def test_clear_removes_prompts_results_and_layers(scene):
    ex = Explorer(scene, threaded=False)
    draw(ex, "created", rect_feature(scene, 40, 50, 90, 120))
    ex.describe()
    ex.find("ships", prompt=None)
    n_base = len(ex.map.layers) - 2
    ex.panel.clear.click()
    assert ex.prompts == [] and ex.results == [] and len(ex.map.layers) == n_base
    assert ex.draw_control.data == [] and ex.panel.results.options == () and ex.legend_control is None


def test_display_choice_restyles_the_scene(scene):
    ex = Explorer(scene, threaded=False)
    url = ex.scene_layer.layer.url
    choice = next(label for label in ex.panel.display.options if label == "band vh")
    ex.panel.display.value = choice
    assert ex.scene_layer.layer.url != url and ex.style.bands == (scene.band_names.index("vh"),)
    assert "vh" in ex.panel.legend.value


# ------------------------------------------------------------------------------------------------ export
def test_export_geojson_and_geopackage(tmp_path, scene):
    import geopandas as gpd
    import pyogrio

    ex = Explorer(scene, threaded=False)
    draw(ex, "created", rect_feature(scene, 40, 50, 90, 120))
    ex.add_prompt(egx.FreeForm.scribble([(10, 10), (60, 30)], width=4))
    ex.describe()
    g = ex.find("ships", prompt=None)
    ex.panel.export_path.value = str(tmp_path / "session.gpkg")
    ex.panel.export.click()
    assert "Exported 2 prompts and 2 results" in ex.panel.status.value
    layers = dict(pyogrio.list_layers(tmp_path / "session.gpkg"))
    assert set(layers) == {"prompts", "referring", "detections"}
    prompts = gpd.read_file(tmp_path / "session.gpkg", layer="prompts")
    assert prompts.crs == scene.crs and list(prompts["id"]) == ["P1", "P2"]
    assert list(prompts["source"]) == ["draw", "code"]
    # the drawn box, exported exactly (its UTM footprint of the lon/lat rectangle)
    px = ex.prompts[0].to_pixels(scene).geometry
    from egx_notebook.results.geometry import to_map

    assert prompts.geometry[0].equals_exact(to_map(px, scene.transform), 1e-6)
    dets = gpd.read_file(tmp_path / "session.gpkg", layer="detections")
    assert len(dets) == len(g) and set(dets["result"]) == {"F1"}
    out = ex.export(tmp_path / "session.geojson")
    gj = json.loads(Path(out).read_text())
    assert {f["properties"]["layer"] for f in gj["features"]} == {"prompts", "referring", "detections"}
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 4326 and len(back) == 2 + 1 + len(g)


def test_export_needs_something_and_a_known_format(tmp_path, scene):
    ex = Explorer(scene, threaded=False)
    ex.panel.export_path.value = str(tmp_path / "x.gpkg")
    ex.panel.export.click()
    assert "nothing to export" in ex.panel.status.value
    ex.add_prompt(egx.Point(5.5, 5.5))
    ex.panel.export_path.value = str(tmp_path / "x.csv")
    ex.panel.export.click()
    assert ".gpkg" in ex.panel.status.value and "egx-error" in ex.panel.status.value


# ------------------------------------------------------------------------------------------------ pixel CRS
def test_pixel_scene_uses_a_simple_crs_map(tmp_path):
    rng = np.random.default_rng(1)
    data = (rng.gamma(4.0, 10.0, size=(120, 160))).clip(1, 255).astype("uint8")
    data[40:46, 60:80] = 255  # a bright "ship"
    path = write_tif(tmp_path / "chip.png", data, driver="PNG", crs=None, transform=None)
    scene = egx.open(path, modality="sar")
    ex = Explorer(scene, threaded=False)
    assert ex.map.crs["name"] == "Simple" and not ex.frame.geographic
    assert ex.scene_layer.layer.bounds == [[-120.0, 0.0], [0.0, 160.0]]
    # lng = column, lat = -row
    ring = [[50, -30], [50, -50], [90, -50], [90, -30], [50, -30]]
    draw(ex, "created", {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    box = ex.prompts[0]
    assert isinstance(box, egx.Box) and box.crs is None and (box.x0, box.y0, box.x1, box.y1) == (50, 30, 90, 50)
    ex.panel.describe.click()
    assert len(ex.results) == 1
    feat = ex.results[0].layer.data["features"][0]
    xs = [c[0] for c in feat["geometry"]["coordinates"][0]]
    ys = [c[1] for c in feat["geometry"]["coordinates"][0]]
    assert (min(xs), max(xs), min(ys), max(ys)) == (50, 90, -50, -30)
    ex.export(tmp_path / "pixels.geojson")  # pixel coordinates, no CRS
    # a scribble on the pixel map: the browser shows lng 0..160, lat -120..0 in 320 x 240 CSS px (2 px per pixel)
    for name, value in (("south", -120.0), ("west", 0.0), ("north", 0.0), ("east", 160.0)):
        ex.map.set_trait(name, value)
    ex.scribble._handle_message(ex.scribble, {"event": "stroke", "points": [[20, 20], [100, 60]], "size": [320, 240],
                                              "width_px": 8}, [])
    stroke = ex.prompts[-1]
    assert stroke.crs is None and list(stroke.shape.coords) == [(10.0, 10.0), (50.0, 30.0)] and stroke.width == 4.0


# ------------------------------------------------------------------------------------------------ large scenes
def _quadrant_scene(tmp_path, crs="EPSG:32633", size=600):
    """A scene of four constant quadrants (so a tile's colour can be checked exactly)."""
    from rasterio.transform import from_origin

    data = np.empty((size, size), dtype="float32")
    h = size // 2
    data[:h, :h], data[:h, h:], data[h:, :h], data[h:, h:] = -20.0, -10.0, 0.0, 4.0
    kw = {"transform": from_origin(500000.0, 4000000.0, 10.0, 10.0), "crs": crs} if crs else \
        {"driver": "GTiff", "transform": None, "crs": None}
    path = write_tif(tmp_path / "quadrants.tif", data, descriptions=["VV"], **kw)
    return egx.open(path, modality="sar")


def _get_tile(ex, z, x, y) -> np.ndarray:
    from PIL import Image

    url = ex.scene_layer.layer.url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=20) as r:
        assert r.headers["Content-Type"] == "image/png"
        return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGBA"))


def test_large_scene_is_served_as_tiles_from_localhost(tmp_path):
    import math

    scene = _quadrant_scene(tmp_path)
    ex = Explorer(scene, threaded=False, overlay_max_size=256)
    try:
        assert ex.scene_layer.mode == "tiles" and ex.scene_layer.server.httpd.server_address[0] == "127.0.0.1"
        z = 14
        colours = {}
        for name, (col, row) in {"nw": (150, 150), "se": (450, 450)}.items():
            lon, lat = lonlat(scene, col, row)
            mx = lon * math.pi / 180 * 6378137.0
            my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
            size = 2 * MERCATOR_HALF / 2 ** z
            tx, ty = int((mx + MERCATOR_HALF) // size), int((MERCATOR_HALF - my) // size)
            px = int((mx + MERCATOR_HALF - tx * size) / size * 256)
            py = int((MERCATOR_HALF - my - ty * size) / size * 256)
            tile = _get_tile(ex, z, tx, ty)
            assert tile.shape == (256, 256, 4)
            colours[name] = tile[py, px]
        expected = ex.style.render(np.array([[[-20.0, 4.0]]], dtype="float32"))[0]
        assert (colours["nw"] == expected[0]).all() and (colours["se"] == expected[1]).all()
        assert (_get_tile(ex, z, 0, 0)[..., 3] == 0).all()  # far outside the scene: transparent
        # another rendering: new tile URLs (no stale cache)
        url = ex.scene_layer.layer.url
        ex.panel.display.value = ex.panel.display.options[0]
        ex.scene_layer.restyle(ex.style)
        assert ex.scene_layer.layer.url != url
    finally:
        ex.close()
    assert ex.scene_layer.server is None


def test_large_pixel_scene_tiles_on_the_simple_crs(tmp_path):
    scene = _quadrant_scene(tmp_path, crs=None, size=520)
    ex = Explorer(scene, threaded=False, overlay_max_size=256)
    try:
        assert ex.scene_layer.mode == "tiles"
        tile = _get_tile(ex, 0, 1, 1)  # zoom 0: 1 map unit = 1 scene px; tile (1, 1) = pixels 256..512
        expected = ex.style.render(np.array([[[-20.0, 4.0]]], dtype="float32"))[0]
        assert (tile[10, 10] == expected[1]).all()  # pixel (266, 266) is in the south-east quadrant
        assert (_get_tile(ex, 0, 1, 0)[250, 10] == ex.style.render(np.array([[[-10.0]]], "float32"))[0][0]).all()
        assert (_get_tile(ex, 0, 5, 5)[..., 3] == 0).all()
    finally:
        ex.close()


def test_tile_server_failure_falls_back_to_a_downsampled_overlay(tmp_path, monkeypatch):
    from egx_notebook.ui import tiles

    def refuse(self):
        raise OSError("no free port (test)")

    monkeypatch.setattr(tiles.TileServer, "start", refuse)
    scene = _quadrant_scene(tmp_path)
    ex = Explorer(scene, threaded=False, overlay_max_size=256)
    assert ex.scene_layer.mode == "fallback"
    assert "no free port (test)" in ex.scene_layer.notice and "downsampled" in ex.panel.notice.value
    assert ex.panel.notice.layout.display != "none"
    assert ex.scene_layer.layer.url.startswith("data:image/png")
    ex.find("bright targets", prompt=None)  # the explorer still works
    off = Explorer(scene, threaded=False, overlay_max_size=256, tile_server=False)
    assert off.scene_layer.mode == "fallback" and "switched off" in off.panel.notice.value
