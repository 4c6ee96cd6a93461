"""Whole-scene tiled grounding: the tile plan, the seam-aware merge, qualifiers after the merge, dask.

Two kinds of backends: an *oracle* that answers from a known label raster (so every object's expected box
and mask is exact and the merge alone is under test) and the offline analytic backend on hand-made and
synthetic SAR scenes (compared with the untiled run of the same scene).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage as ndi

import egx_notebook as egx
from egx_notebook.backends.base import Backend
from egx_notebook.batch import SceneRecipe, merge_tiles, nms, plan_tiles
from egx_notebook.batch.tiling import TileResult
from egx_notebook.errors import UnsupportedQueryError
from egx_notebook.results import Detection, Grounding

# A 400 x 240 scene in 200 px tiles overlapping by 40 px: tile columns start at x = 0, 160, 200
# (the last one shifted inwards), rows at y = 0, 40. Column cores: [0, 180), [180, 280), [280, 400).
H, W, TILE, OVERLAP = 240, 400, 200, 40
OBJECTS = {
    "seam": (190, 60, 212, 66),      # narrower than the overlap, across the x = 200 edge of the first tile
    "long": (150, 150, 232, 157),    # wider than the overlap: cut in every tile, must be stitched
    "border": (0, 110, 18, 115),     # on the scene's left border
    "corner": (388, 230, 400, 240),  # in the bottom-right corner
    "inner": (80, 180, 92, 196),     # inside one tile only
    "row_seam": (300, 25, 306, 52),  # across the y = 40 edge of the second tile row
}


def boxes_of(g) -> list[tuple]:
    return sorted(tuple(float(v) for v in b) for b in g.boxes)


def label_raster(objects=OBJECTS, shape=(H, W)) -> np.ndarray:
    lab = np.zeros(shape, dtype="int32")
    for k, (x0, y0, x1, y1) in enumerate(objects.values(), start=1):
        lab[y0:y1, x0:x1] = k
    return lab


class OracleBackend(Backend):
    """Answers from a known label raster: every labelled object visible in the view, clipped to it, as a
    detection in VIEW pixels (box and mask), score 0.9. Records the queries it was asked."""

    name = "oracle"

    def __init__(self, labels: np.ndarray):
        self.labels = labels
        self.queries = []

    def refer(self, view, region, instruction=None):
        raise NotImplementedError

    def ground(self, view, query):
        self.queries.append(query)
        x0, y0, x1, y1 = view.window
        sub = self.labels[y0:y1, x0:x1]
        dets = []
        for k, sl in enumerate(ndi.find_objects(sub), start=1):
            if sl is None:
                continue
            m = sub[sl] == k
            box = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
            dets.append(Detection(tuple(float(v) for v in box), "ship", 0.9, m, box[:2], {"area_px": int(m.sum())}))
        return Grounding(query, dets, self.name, view.crs, view.transform, view.shape)


@pytest.fixture(scope="module")
def sar_handmade():
    """Sea speckle at -22 dB with bright (+8 dB) targets at OBJECTS (pixel CRS)."""
    rng = np.random.default_rng(0)
    db = (-22 + 10 * np.log10(rng.gamma(4.0, 0.25, (H, W)))).astype("float32")
    for x0, y0, x1, y1 in OBJECTS.values():
        db[y0:y1, x0:x1] = 8.0 + rng.normal(0, 1, (y1 - y0, x1 - x0))
    return egx.open(xr.DataArray(db, dims=("y", "x")), modality="sar")


@pytest.fixture(scope="module")
def synthetic_scene(tmp_path_factory):
    return egx.sample_data.synthetic_sar(tmp_path_factory.mktemp("tiling"), size=512, ships=6).open()


# -- the plan -------------------------------------------------------------------------------------------
def test_plan_matches_scene_tiles_and_cores_partition_the_scene(sar_handmade):
    tiles = plan_tiles(W, H, TILE, OVERLAP)
    assert [t.window for t in tiles] == [v.window for v in sar_handmade.tiles(TILE, OVERLAP)]
    assert [t.core[0] for t in tiles[:3]] == [0.0, 180.0, 280.0]
    # Every pixel centre (and the scene's last row/column) is owned by exactly one tile.
    xs, ys = np.arange(W) + 0.5, np.arange(H) + 0.5
    owners = np.zeros((H, W), dtype=int)
    for t in tiles:
        owners += np.array([[t.owns(x, y) for x in xs] for y in ys])
    assert (owners == 1).all()
    assert sum(t.owns(W, H) for t in tiles) == 1
    with pytest.raises(ValueError, match="overlap"):
        plan_tiles(W, H, 100, 100)


class BatchedOracle(OracleBackend):
    """The oracle with a model backend's batching interface: ``batch_size`` views per ``ground_batch`` call."""

    batch_size = 4

    def __init__(self, labels):
        super().__init__(labels)
        self.batches = []

    def ground_batch(self, views, query, progress=True):
        self.batches.append(len(views))
        return [OracleBackend.ground(self, v, query) for v in views]


def test_batched_backends_get_tiles_in_batches_with_the_same_result():
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    kwargs = dict(tiled=True, tile_size=TILE, overlap=OVERLAP, progress=False)
    batched = BatchedOracle(labels)
    g = scene.ground("ships", backend=batched, **kwargs)
    n_tiles = len(plan_tiles(W, H, TILE, OVERLAP))
    assert batched.batches == [4] * (n_tiles // 4) + ([n_tiles % 4] if n_tiles % 4 else [])
    single = scene.ground("ships", backend=OracleBackend(labels), **kwargs)
    assert boxes_of(g) == boxes_of(single)
    assert np.array_equal(g.label_mask(), single.label_mask())


def test_cut_is_only_about_inner_edges():
    left, middle = plan_tiles(W, H, TILE, OVERLAP)[:2]
    assert not left.cuts((0, 110, 18, 115))          # the scene border cuts nothing
    assert left.cuts((190, 60, 200, 66))             # reaches the inner edge x = 200
    assert middle.cuts((160, 60, 170, 66)) and not middle.cuts((170, 60, 180, 66))


# -- the merge, with exact answers ------------------------------------------------------------------------
def test_every_object_found_once_with_its_exact_box_and_mask():
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    g = scene.ground("ships", backend=OracleBackend(labels), tiled=True, tile_size=TILE, overlap=OVERLAP,
                     progress=False)
    assert boxes_of(g) == sorted(tuple(map(float, b)) for b in OBJECTS.values())
    assert (g.label_mask() > 0).sum() == (labels > 0).sum()
    assert np.array_equal(g.label_mask() > 0, labels > 0)
    long = next(d for d in g if d.box == tuple(map(float, OBJECTS["long"])))
    assert long.attributes["stitched_tiles"] >= 2 and long.attributes["area_px"] == 82 * 7


def test_object_larger_than_a_tile_is_stitched_once():
    objects = {"huge": (30, 20, 390, 200), "small": (395, 5, 399, 9)}
    labels = label_raster(objects)
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    g = scene.ground("ships", backend=OracleBackend(labels), tiled=True, tile_size=120, overlap=20, progress=False)
    assert boxes_of(g) == sorted(tuple(map(float, b)) for b in objects.values())
    assert np.array_equal(g.label_mask() > 0, labels > 0)


def test_naive_concatenation_would_double_count():
    """Guards the test above: without the merge the seam objects come back several times."""
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    engine = OracleBackend(labels)
    raw = [d for v in scene.tiles(TILE, OVERLAP) for d in engine.ground(v, "ships").remap(
        v.pixel_transform, scene.shape, scene.transform, scene.crs)]
    assert len(raw) > len(OBJECTS)


def test_merge_is_order_independent_and_ownership_alone_counts_once():
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    tiles = plan_tiles(W, H, TILE, OVERLAP)
    engine = OracleBackend(labels)
    results = []
    for t in tiles:
        v = scene.view(t.window)
        g = engine.ground(v, "ships").remap(v.pixel_transform, scene.shape, scene.transform, scene.crs)
        results.append(TileResult(t.index, g.detections))
    a = merge_tiles(results, tiles)
    b = merge_tiles(results[::-1], tiles)
    assert [d.box for d in a] == [d.box for d in b] and len(a) == len(OBJECTS)
    # Ownership by core alone (NMS switched off) already counts every object once.
    alone = merge_tiles(results, tiles, iou_threshold=1.0)
    assert sorted(d.box for d in alone) == sorted(tuple(map(float, b)) for b in OBJECTS.values())


def test_boxes_that_shift_across_a_core_boundary_are_kept_once():
    """The same target reported one pixel apart by two tiles, its centre on either side of the core boundary
    at x = 180: each tile thinks the other owns it (two guests), or both think they own it."""
    tiles = plan_tiles(W, H, TILE, OVERLAP)
    left, right = (172.0, 60.0, 191.0, 66.0), (170.0, 60.0, 189.0, 66.0)  # centres x = 181.5 and 179.5
    guests = [TileResult(0, [Detection(left, "ship", 0.8)]), TileResult(1, [Detection(right, "ship", 0.9)])]
    owners = [TileResult(0, [Detection(right, "ship", 0.8)]), TileResult(1, [Detection(left, "ship", 0.9)])]
    assert [d.box for d in merge_tiles(guests, tiles, iou_threshold=1.0)] == [left]
    assert [d.box for d in merge_tiles(owners, tiles)] == [left]  # NMS keeps the better score


def test_nms_uses_masks_and_labels():
    m = np.ones((10, 10), bool)
    a = Detection((0, 0, 10, 10), "ship", 0.9, m, (0, 0))
    dup = Detection((1, 0, 11, 10), "ship", 0.5, m, (1, 0))
    other_label = Detection((0, 0, 10, 10), "water", 0.4, m, (0, 0))
    ring = np.zeros((10, 10), bool)
    ring[0] = ring[-1] = True  # disjoint from an inner blob although the boxes coincide
    blob = np.zeros((10, 10), bool)
    blob[3:7, 3:7] = True
    out = nms([dup, a, other_label, Detection((20, 0, 30, 10), "ship", 0.8, ring, (20, 0)),
               Detection((20, 0, 30, 10), "ship", 0.7, blob, (20, 0))])
    assert [d.score for d in out] == [0.9, 0.4, 0.8, 0.7]
    no_masks = nms([Detection((0, 0, 10, 10), "ship", 0.9), Detection((0, 0, 10, 9), "ship", 0.8)])
    assert len(no_masks) == 1


# -- qualifiers are applied after the merge ----------------------------------------------------------------
def test_each_tile_is_asked_for_every_candidate_and_the_count_applies_to_the_scene():
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    engine = OracleBackend(labels)
    g = scene.ground("the two largest ships in the north-east", backend=engine, tiled=True, tile_size=TILE,
                     overlap=OVERLAP, progress=False)
    assert set(engine.queries) == {"ships"}
    # The scene's north-east quadrant (x > 200, y < 120; pixel frame) holds the 'seam' (132 px, centre x 201)
    # and 'row_seam' (162 px) targets, the larger first; each tile alone would have answered differently.
    assert [d.box for d in g] == [tuple(map(float, OBJECTS["row_seam"])), tuple(map(float, OBJECTS["seam"]))]
    assert g.parsed["count"] == 2
    largest = scene.ground("the largest ship", backend=engine, tiled=True, tile_size=TILE, overlap=OVERLAP,
                           progress=False)
    assert [d.box for d in largest] == [tuple(map(float, OBJECTS["long"]))]


def test_query_outside_the_grammar_goes_to_tiles_unchanged():
    labels = label_raster()
    scene = egx.open(np.zeros((H, W), dtype="float32") - 20, modality="sar")
    engine = OracleBackend(labels)
    g = scene.ground("gizmos", backend=engine, tiled=True, tile_size=TILE, overlap=OVERLAP, progress=False)
    assert set(engine.queries) == {"gizmos"} and len(g) == len(OBJECTS)
    assert "as is" in g.diagnostics["note"]


def test_analytic_errors_before_reading_and_views_refuse_tiling(sar_handmade):
    with pytest.raises(UnsupportedQueryError):
        sar_handmade.ground("vegetation", tiled=True, progress=False)
    with pytest.raises(ValueError, match="whole Scene"):
        sar_handmade.view((0, 0, 100, 100)).ground("ships", tiled=True)


# -- the analytic backend: tiled equals untiled --------------------------------------------------------------
def test_analytic_seam_and_border_targets_found_once(sar_handmade):
    g = sar_handmade.ground("ships", tiled=True, tile_size=TILE, overlap=OVERLAP, progress=False)
    untiled = sar_handmade.ground("ships")
    assert boxes_of(g) == boxes_of(untiled)
    assert len(g) == len(OBJECTS)
    for truth in OBJECTS.values():
        near = [b for b in g.boxes if b[0] < truth[2] and truth[0] < b[2] and b[1] < truth[3] and truth[1] < b[3]]
        assert len(near) == 1, truth
        x0, y0, x1, y1 = near[0]
        assert abs(x0 - truth[0]) <= 2 and abs(y0 - truth[1]) <= 2 and abs(x1 - truth[2]) <= 2 and abs(y1 - truth[3]) <= 2


def test_tiled_equals_untiled_on_the_synthetic_scene(synthetic_scene):
    untiled = synthetic_scene.ground("ships")
    tiled = synthetic_scene.ground("ships", tiled=True, tile_size=256, overlap=64, progress=False)
    assert tiled.diagnostics["tiles"] == 9 and len(untiled) == 6
    assert boxes_of(tiled) == boxes_of(untiled)
    assert np.array_equal(tiled.label_mask() > 0, untiled.label_mask() > 0)
    for q in ("the largest ship", "two ships in the north-west", "the longest vessel"):
        a = synthetic_scene.ground(q, tiled=True, tile_size=256, overlap=64, progress=False)
        b = synthetic_scene.ground(q)
        assert [d.box for d in a] == [d.box for d in b], q
    gdf = tiled.to_geodataframe()
    assert gdf.crs == synthetic_scene.crs and len(gdf) == 6


# -- dask and progress -----------------------------------------------------------------------------------
def test_scene_recipe_pickles_and_rebuilds(synthetic_scene):
    recipe = pickle.loads(pickle.dumps(SceneRecipe.of(synthetic_scene)))
    again = recipe.scene()
    assert again.shape == synthetic_scene.shape and again.units == synthetic_scene.units
    assert np.array_equal(again.read((10, 20, 40, 50)), synthetic_scene.read((10, 20, 40, 50)), equal_nan=True)


def test_dask_local_cluster_gives_the_same_geodataframe(synthetic_scene):
    distributed = pytest.importorskip("distributed")
    from geopandas.testing import assert_geodataframe_equal

    from egx_notebook.batch import local_cluster

    single = synthetic_scene.ground("ships", tiled=True, tile_size=256, overlap=64, progress=False)
    largest = synthetic_scene.ground("the largest ship", tiled=True, tile_size=256, overlap=64, progress=False)
    # A real worker process: the scene recipe, tiles, backend name and results cross a process boundary.
    with local_cluster(n_workers=1) as cluster, distributed.Client(cluster) as client:
        dask = synthetic_scene.ground("ships", tiled=True, tile_size=256, overlap=64, client=client, progress=False)
        # The scheduler address works as well (a client is connected for the job and closed afterwards).
        by_address = synthetic_scene.ground("the largest ship", tiled=True, tile_size=256, overlap=64,
                                            client=cluster.scheduler_address, progress=False)
    assert dask.diagnostics["runner"] == "dask" and len(dask) == 6
    assert_geodataframe_equal(dask.to_geodataframe(), single.to_geodataframe())
    assert_geodataframe_equal(by_address.to_geodataframe(), largest.to_geodataframe())


def test_progress_bar_in_a_non_tty(sar_handmade, capsys):
    g = sar_handmade.ground("ships", tiled=True, tile_size=TILE, overlap=OVERLAP, progress=True)
    err = capsys.readouterr().err
    assert "grounding tiles" in err
    assert boxes_of(g) == boxes_of(sar_handmade.ground("ships", tiled=True, tile_size=TILE, overlap=OVERLAP,
                                                        progress=False))
