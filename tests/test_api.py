"""High-level calls end to end: refer / describe / ground on scenes and views, results in SCENE pixels.

Detector quality is tuned elsewhere: these tests assert on coordinates, types and plumbing, with loose
checks that the default backend finds an obvious lake and at least one obvious ship.
"""

from __future__ import annotations

import numpy as np
import pytest

import egx_notebook as egx
from conftest import write_tif
from egx_notebook.backends.base import Backend
from egx_notebook.errors import BackendError, EmptyQueryError, QueryError, UnsupportedQueryError

H, W = 300, 400
LAKE = (80, 60, 240, 160)  # x0, y0, x1, y1 (half-open pixels)
SHIPS = [(110, 80, 126, 86), (200, 130, 210, 138), (100, 140, 116, 144)]  # bright targets on the lake


@pytest.fixture(scope="module")
def sar_scene(tmp_path_factory):
    """400 x 300 px Sentinel-1-like VV in dB (UTM, 10 m): -8 dB speckled land, a -22 dB lake, 5 dB ships."""
    rng = np.random.default_rng(0)
    db = -8 + 10 * np.log10(rng.gamma(4.0, 0.25, (H, W)))
    x0, y0, x1, y1 = LAKE
    db[y0:y1, x0:x1] = -22 + 10 * np.log10(rng.gamma(4.0, 0.25, (y1 - y0, x1 - x0)))
    for sx0, sy0, sx1, sy1 in SHIPS:
        db[sy0:sy1, sx0:sx1] = 5.0
    path = write_tif(tmp_path_factory.mktemp("api") / "S1_VV_db.tif", db.astype("float32"))
    scene = egx.open(path)
    assert scene.modality == "sar" and scene.units == "dB"
    return scene


def overlap(a, b) -> float:
    """Intersection area of two boxes."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a, b) -> float:
    inter = overlap(a, b)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class EchoBackend(Backend):
    """Answers with fixed boxes in VIEW pixels and records what it was shown."""

    name = "echo"

    def __init__(self):
        self.seen = []

    def refer(self, view, region, instruction=None):
        self.seen.append((view, region))
        return egx.Referring("echo", "thing", 1.0, region=region, level="region", backend=self.name,
                             grid_shape=view.shape, extent=(0, 0, view.width, view.height))

    def ground(self, view, query):
        self.seen.append((view, query))
        mask = np.ones((2, 3), bool)
        dets = [egx.Detection((2.0, 3.0, 10.0, 7.0), "thing", 0.9),
                egx.Detection((5.0, 5.0, 8.0, 7.0), "thing", 0.5, mask=mask, mask_origin=(5, 5))]
        return egx.Grounding(query, dets, backend=self.name, grid_shape=view.shape)


# ------------------------------------------------------------------------------------------- plumbing
def test_ground_on_decimated_overview_returns_scene_pixels(sar_scene):
    echo = EchoBackend()
    g = sar_scene.ground("anything", backend=echo, max_size=200)
    view, query = echo.seen[-1]
    assert query == "anything" and view.scale == (2.0, 2.0) and view.shape == (150, 200)
    assert g[0].box == (4.0, 6.0, 20.0, 14.0)  # view box x 2
    assert g[1].mask_origin == (10, 10) and g[1].mask.shape == (4, 6)
    assert g.grid_shape == (H, W) and g.crs == sar_scene.crs and g.transform == sar_scene.transform
    assert g.diagnostics["view_scale"] == (2.0, 2.0) and g.diagnostics["view_window"] == (0, 0, W, H)


def test_ground_on_view_returns_scene_pixels(sar_scene):
    echo = EchoBackend()
    view = sar_scene.view((100, 50, 300, 250), max_size=100)  # offset (100, 50), scale 2
    g = view.ground("anything", backend=echo)
    assert echo.seen[-1][0] is view
    assert g[0].box == (104.0, 56.0, 120.0, 64.0)
    assert g.grid_shape == sar_scene.shape
    assert g.to_geodataframe(geometry="box").geometry[0].bounds == pytest.approx(
        (*(sar_scene.transform @ (104, 64)), *(sar_scene.transform @ (120, 56))))


def test_refer_box_sees_prompt_in_view_pixels(sar_scene):
    echo = EchoBackend()
    r = sar_scene.refer(egx.Box(100, 80, 200, 140), backend=echo, context=2.0)
    view, local = echo.seen[-1]
    x0, y0 = view.window[:2]
    assert view.is_full_resolution
    assert local.bounds == (100 - x0, 80 - y0, 200 - x0, 140 - y0)  # the backend works in view pixels
    assert r.region.bounds == (100.0, 80.0, 200.0, 140.0)  # the result is in scene pixels
    assert r.region.grid_shape == sar_scene.shape and r.level == "region"
    assert r.extent == tuple(float(v) for v in view.window)


def test_refer_point_freeform_and_describe_levels(sar_scene):
    echo = EchoBackend()
    assert sar_scene.refer(egx.Point(205.5, 133.5), backend=echo).level == "point"
    tri = egx.FreeForm.polygon([(90, 70), (230, 70), (90, 150)])
    r = sar_scene.refer(tri, backend=echo)
    assert r.level == "region" and r.region.kind == "freeform"
    assert r.region.geometry.equals(tri.to_pixels(sar_scene).geometry)
    d = sar_scene.describe(backend=echo)
    assert d.level == "scene" and d.region is None
    assert echo.seen[-1][1] is None
    assert d.extent == (0.0, 0.0, float(W), float(H))


def test_refer_on_view_with_prompt_outside_it(sar_scene):
    view = sar_scene.view((0, 0, 100, 100))
    with pytest.raises(egx.errors.PromptOutsideImageError):
        view.refer(egx.Box(300, 200, 350, 250), backend=EchoBackend())


# ------------------------------------------------------------------------------------------- default backend
def test_refer_box_default_backend(sar_scene):
    r = sar_scene.refer(egx.Box(100, 80, 200, 140))
    assert isinstance(r, egx.Referring)
    assert r.backend == "analytic" and r.level == "region"
    assert r.region.bounds == (100.0, 80.0, 200.0, 140.0)
    assert isinstance(r.text, str) and r.text and isinstance(r.label, str) and 0 <= r.confidence <= 1
    assert r.crs == sar_scene.crs and r.transform == sar_scene.transform
    gdf = r.to_geodataframe()
    assert gdf.geometry[0].bounds == pytest.approx((*(sar_scene.transform @ (100, 140)), *(sar_scene.transform @ (200, 80))))
    assert r.label in ("water", "ship", "land", "built-up")  # loose; detectors are tuned elsewhere


def test_refer_point_and_freeform_default_backend(sar_scene):
    p = sar_scene.refer(egx.Point(205.5, 133.5))
    assert p.level == "point" and p.region.center == (205.5, 133.5) and p.text
    f = sar_scene.refer(egx.FreeForm.polygon([(90, 70), (230, 70), (90, 150)]))
    assert f.level == "region" and f.region.kind == "freeform" and f.text


def test_describe_default_backend(sar_scene):
    d = sar_scene.describe()
    assert isinstance(d, egx.Referring) and d.level == "scene" and d.text
    assert d.to_geodataframe().crs == sar_scene.crs


def test_ground_water_default_backend(sar_scene):
    g = sar_scene.ground("water", max_size=200)  # decimated 2x: boxes must come back in scene pixels
    assert isinstance(g, egx.Grounding) and g.backend == "analytic" and len(g) >= 1
    best = max(g, key=lambda d: overlap(d.box, LAKE))
    assert best.label == "water"
    assert iou(best.box, LAKE) > 0.5, (best.box, LAKE)
    assert all(0 <= d.box[0] < d.box[2] <= W and 0 <= d.box[1] < d.box[3] <= H for d in g)


def test_ground_on_zoomed_in_view_default_backend(sar_scene):
    view = sar_scene.zoom_in(egx.Box(180, 110, 230, 150), context=2.0)
    assert view.window[0] > 100 and view.window[1] > 50  # far from the origin: local boxes would be wrong
    g = view.ground("ships")
    assert len(g) >= 1
    for d in g:
        assert d.label == "ship"
        assert any(overlap(d.box, s) > 0 for s in SHIPS), d.box  # scene pixels, on a real ship
    assert g.grid_shape == sar_scene.shape


def test_ground_ships_scene_default_backend(sar_scene):
    g = sar_scene.ground("ships")
    assert isinstance(g, egx.Grounding) and g.query == "ships" and g.grid_shape == sar_scene.shape
    # the two ships 20-30 px off the lake shore are found (the third, 16 px off, may pass as shore clutter)
    assert len(g) >= 2
    for d in g:  # where they land is ours
        assert d.label == "ship" and any(overlap(d.box, s) > 0 for s in SHIPS), d.box
    assert ((g.boxes[:, 2:] <= (W, H)) & (g.boxes[:, :2] >= 0)).all()


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("query", ["", "   ", None])
def test_empty_query(sar_scene, query):
    with pytest.raises(EmptyQueryError):
        sar_scene.ground(query)
    assert issubclass(EmptyQueryError, QueryError) and issubclass(EmptyQueryError, ValueError)


def test_unknown_query_lists_classes(sar_scene):
    with pytest.raises(UnsupportedQueryError) as info:
        sar_scene.ground("unicorns grazing")
    msg = str(info.value)
    assert "ship" in msg and "water" in msg


def test_unknown_backend(sar_scene):
    with pytest.raises(BackendError) as info:
        sar_scene.ground("water", backend="no-such-backend")
    assert "analytic" in str(info.value)  # the message lists what is registered
    with pytest.raises(BackendError):
        sar_scene.refer(egx.Point(5, 5), backend="no-such-backend")


def test_list_backends():
    backends = egx.list_backends()
    assert "analytic" in backends and isinstance(backends["analytic"], str)
    assert egx.get_backend("analytic").name == "analytic"


def test_api_rejects_non_scene():
    with pytest.raises(TypeError):
        egx.ground(np.zeros((4, 4)), "water")
