"""Individual tree crowns (``detectors_trees``) and their wiring into the analytic backend.

Synthetic canopies are soil with Gaussian crowns: each pixel mixes a leaf colour into the soil colour with a
Gaussian weight around the crown centre, so a crown is a green, rounded blob whose size is known.
"""

import numpy as np
import pytest
from conftest import SHARED_DATA, UTM_CRS, need, write_tif
from rasterio.transform import from_origin

import egx_notebook as egx
from egx_notebook.backends.analytic import detectors
from egx_notebook.backends.analytic.detectors_trees import crown_components, crown_scale, greenness, tree_crowns
from egx_notebook.backends.analytic.query import parse_query
from egx_notebook.eval.metrics import box_iou
from egx_notebook.prompts import Box

SOIL = np.array([0.55, 0.50, 0.45])  # red, green, blue reflectance
LEAF = np.array([0.22, 0.42, 0.14])


def canopy(shape, crowns, seed=0, noise=0.01):
    """(red, green, blue) float arrays of soil with Gaussian crowns ``(x, y, sigma)`` mixed in."""
    rows, cols = np.indices(shape)
    w = np.zeros(shape)
    for x, y, s in crowns:
        w = np.maximum(w, np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2.0 * s * s)))
    rgb = SOIL[:, None, None] * (1 - w) + LEAF[:, None, None] * w
    rgb += np.random.default_rng(seed).normal(0, noise, rgb.shape)
    return {"red": rgb[0], "green": rgb[1], "blue": rgb[2]}


def grid_crowns(n=4, spacing=60, sigmas=(9, 11, 13), seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        for j in range(n):
            out.append((spacing * (j + 0.5) + rng.uniform(-4, 4), spacing * (i + 0.5) + rng.uniform(-4, 4),
                        sigmas[(i + j) % len(sigmas)]))
    return out


def crown_boxes(crowns, shape, k=2.0):
    """Boxes of the crowns out to ``k`` sigma (where the leaf weight is about 0.14), clipped to the image."""
    h, w = shape
    return np.array([[max(0, x - k * s), max(0, y - k * s), min(w, x + k * s + 1), min(h, y + k * s + 1)]
                     for x, y, s in crowns])


def test_one_detection_per_gaussian_crown():
    crowns = grid_crowns()
    bands = canopy((240, 240), crowns)
    labels, scores = tree_crowns(bands, pixel_size_m=0.1, return_scores=True)
    comps = crown_components(labels)
    assert len(comps) == len(crowns) == len(scores)
    hit = {int(labels[round(y), round(x)]) for x, y, _ in crowns}
    assert 0 not in hit and len(hit) == len(crowns)  # every centre in its own crown
    iou = box_iou(np.array([c["box"] for c in comps], float), crown_boxes(crowns, (240, 240)))
    assert (iou.max(axis=1) >= 0.5).all()
    assert ((0 < scores) & (scores <= 1)).all()


def test_touching_crowns_are_split_by_the_watershed():
    crowns = [(60, 60, 12), (88, 60, 12)]  # 2.3 sigma apart: one connected green blob
    bands = canopy((120, 150), crowns, noise=0.0)
    g, _ = greenness(bands)
    assert len(detectors.components(g > 0.05)) == 1
    labels = tree_crowns(bands, pixel_size_m=0.1)
    assert labels.max() == 2 and labels[60, 60] != labels[60, 88] and labels[60, 60] and labels[60, 88]


@pytest.mark.parametrize("sigma", [6, 16])
def test_crown_scale_follows_the_crowns(sigma):
    """The scale search finds the crowns' size within a wide prior (a fixed scale would miss one of these)."""
    crowns = grid_crowns(n=4, spacing=int(7 * sigma), sigmas=(sigma,))
    size = int(4 * 7 * sigma)
    g, _ = greenness(canopy((size, size), crowns))
    d = crown_scale(g, np.isfinite(g), 8.0, 200.0)
    assert 2 * sigma <= d <= 5 * sigma  # a Gaussian crown of sigma s looks like a disc of about 3-4 s


def test_crown_size_prior_from_image_size_without_pixel_size():
    crowns = grid_crowns()
    labels = tree_crowns(canopy((240, 240), crowns), pixel_size_m=None)
    assert labels.max() == len(crowns)


def test_no_crowns_in_coarse_pixels_bare_ground_or_invalid_pixels():
    crowns = grid_crowns()
    bands = canopy((240, 240), crowns)
    assert tree_crowns(bands, pixel_size_m=30.0).max() == 0  # Landsat pixels cannot resolve crowns
    soil = canopy((240, 240), [])
    assert tree_crowns(soil, pixel_size_m=0.1).max() == 0
    red = bands["red"].copy()
    red[:, :120] = np.nan
    before = red.copy()
    labels = tree_crowns({**bands, "red": red}, pixel_size_m=0.1)
    np.testing.assert_array_equal(red, before)  # inputs untouched
    assert labels.max() >= 4 and not labels[:, :120].any()


def test_tree_words_are_an_object_class_and_forest_stays_an_area():
    for text in ("trees", "the largest tree", "tree crowns", "3 crowns"):
        assert parse_query(text, "optical").target.key == "tree"
    for text in ("forest", "woodland", "tree cover", "vegetation"):
        assert parse_query(text, "optical").target.key == "vegetation"
    assert parse_query("the largest tree", "optical").count == 1


@pytest.fixture
def canopy_scene(tmp_path):
    crowns = grid_crowns()
    b = canopy((240, 240), crowns)
    data = (np.stack([b["red"], b["green"], b["blue"]]).clip(0, 1) * 255).round().astype(np.uint8)
    path = write_tif(tmp_path / "canopy.tif", data, crs=UTM_CRS, transform=from_origin(500000, 4000000, 0.1, 0.1))
    return egx.open(path, bands=["red", "green", "blue"]), crowns


def test_backend_grounds_separate_trees_and_refers_a_crown_as_tree(canopy_scene):
    scene, crowns = canopy_scene
    found = scene.ground("trees")
    assert len(found) == len(crowns) and set(found.labels) == {"tree"}
    assert all(0 < s <= 1 for s in found.scores)
    assert all(abs(d.attributes["crown_diameter_m"] - 3.5) < 2.5 for d in found)
    assert len(scene.ground("the largest tree")) == 1
    x, y, s = crowns[5]
    r = scene.refer(Box(x - 2 * s, y - 2 * s, x + 2 * s, y + 2 * s))
    assert r.label == "tree" and r.confidence >= 0.5 and "tree crown" in r.text
    # a crown-sized box on bare soil between crowns is not a tree
    r = scene.refer(Box(0, 0, 14, 14))
    assert r.label != "tree"


def test_real_deepforest_tile_floor():
    """OSBS_029 (NEON RGB, 0.1 m, 61 boxes). Measured 2026-11-26: IoU 0.5 P 0.543 R 0.623 F1 0.580 AP 0.475
    (38 TP / 32 FP / 23 FN); referring names 50 of 61 boxes "tree". Before: F1 0.165, AP 0.037, referring 0/61."""
    from egx_notebook.eval import datasets, metrics

    need(SHARED_DATA / "deepforest/deepforest/data/OSBS_029.tif")
    (item,) = list(datasets.load_dataset("deepforest", data=SHARED_DATA))
    scene = item.open()
    found = scene.ground(item.query)
    counts = metrics.match_boxes(found.boxes, item.boxes, 0.5, found.scores)
    ap = metrics.average_precision([(found.boxes, found.scores)], [item.boxes], 0.5)
    assert counts.f1 >= 0.5 and ap >= 0.38, (counts, ap)
    named = [scene.refer(p).label for p in item.prompts[::3]]
    assert sum(n == "tree" for n in named) >= 0.65 * len(named), named


def test_full_sized_crowns_score_above_small_ones():
    crowns = [(50, 50, 14), (150, 50, 9)]
    labels, scores = tree_crowns(canopy((110, 200), crowns), pixel_size_m=0.1, return_scores=True)
    big, small = labels[50, 50], labels[50, 150]
    assert big and small and scores[big - 1] > scores[small - 1]
