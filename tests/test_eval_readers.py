"""Dataset readers: the shared real files (skipped when absent) and tiny COCO / DIOR-RSVG / RRSIS-D files
written here in the public formats."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egx_notebook.eval import datasets as D
from egx_notebook.eval import readers as R

from conftest import need


# -- splits ----------------------------------------------------------------------------------------------------
def test_split_is_deterministic_disjoint_and_independent_of_other_files():
    keys = [f"img_{i:03d}" for i in range(200)]
    dev, held = D.select_split(keys, "dev"), D.select_split(keys, "held-out")
    assert sorted(dev + held) == keys and not set(dev) & set(held)
    assert 60 < len(held) < 140  # about half
    assert D.select_split(keys[:50], "held-out") == [k for k in held if k in keys[:50]]  # adding files moves none
    assert D.select_split(keys, "held-out", holdout=0.0) == [] and D.select_split(keys, "dev", holdout=1.0) == []
    with pytest.raises(ValueError):
        D.select_split(keys, "test")


# -- RLE ---------------------------------------------------------------------------------------------------------
def test_rle_string_hand_values():
    # column-major [0, 0, 1, 1] -> runs 2, 2 -> "22"
    assert R.rle_encode(np.array([[0, 1], [0, 1]], bool)) == {"size": [2, 2], "counts": "22"}
    # 40 = 8 + 1 * 32: low group 8 with the continuation bit (8 | 32) + 48 = "X", then 1 + 48 = "1";
    # the fourth run is stored as the difference to the second: 38 - 40 = -2 -> 30 (sign bit set) + 48 = "N"
    assert R.rle_counts_to_string([5, 40, 3, 38]) == "5X13N"
    assert R.rle_counts_from_string("5X13N") == [5, 40, 3, 38]
    mask = R.rle_decode({"size": [2, 2], "counts": "22"})
    np.testing.assert_array_equal(mask, [[False, True], [False, True]])
    np.testing.assert_array_equal(R.rle_decode({"size": [2, 2], "counts": [1, 2, 1]}), [[False, True], [True, False]])
    with pytest.raises(ValueError):
        R.rle_decode({"size": [3, 3], "counts": [1, 2]})


def test_rle_round_trip_and_agreement_with_pycocotools_when_installed():
    rng = np.random.default_rng(0)
    masks = [rng.random((h, w)) < p for h, w, p in [(7, 5, 0.5), (30, 41, 0.1), (1, 1, 1.0), (16, 16, 0.0)]]
    full = np.zeros((9, 9), bool)
    full[4:, :] = True
    masks.append(full)
    for m in masks:
        np.testing.assert_array_equal(R.rle_decode(R.rle_encode(m)), m)
    try:
        from pycocotools import mask as cocomask
    except ImportError:
        return
    for m in masks:
        ref = cocomask.encode(np.asfortranarray(m.astype(np.uint8)))
        assert R.rle_encode(m)["counts"] == ref["counts"].decode()


# -- tiny files in the public formats ------------------------------------------------------------------------------
def _png(path: Path, w=40, h=30, value=10):
    Image.fromarray(np.full((h, w), value, np.uint8)).save(path)
    return path


def test_coco_json_polygons_rle_and_crowd(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    rle_mask = np.zeros((30, 40), bool)
    rle_mask[5:9, 20:30] = True
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
                   {"id": 2, "file_name": "b.png", "width": 40, "height": 30}],
        "categories": [{"id": 7, "name": "ship"}, {"id": 8, "name": "harbour"}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": 7, "bbox": [2, 3, 4, 5], "iscrowd": 0,
             "segmentation": [[2, 3, 6, 3, 6, 8, 2, 8]]},
            {"id": 12, "image_id": 1, "category_id": 7, "bbox": [20, 5, 10, 4], "iscrowd": 0,
             "segmentation": R.rle_encode(rle_mask)},
            {"id": 13, "image_id": 1, "category_id": 7, "bbox": [30, 20, 5, 5], "iscrowd": 1, "segmentation": []},
            {"id": 14, "image_id": 2, "category_id": 8, "bbox": [0, 0, 10, 10], "iscrowd": 0},
        ]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    ds = D.coco(path, queries={"ship": "ships"})
    items = list(ds)
    assert [i.id for i in items] == ["a:ship", "b:harbour"]
    a = items[0]
    assert a.query == "ships" and a.image == tmp_path / "a.png"
    np.testing.assert_array_equal(a.boxes, [[2, 3, 6, 8], [20, 5, 30, 9]])  # COCO x, y, w, h -> x0, y0, x1, y1
    np.testing.assert_array_equal(a.ignore, [[30, 20, 35, 25]])
    # polygon 2..6 x 3..8: pixel centres 2.5..5.5 x 3.5..7.5 inside -> 4 x 5 = 20 px; plus the RLE's 40 px
    assert a.mask.sum() == 20 + 40 and a.mask[3:8, 2:6].all() and a.mask[5:9, 20:30].all()
    assert items[1].mask is None and items[1].query == "harbour"
    assert len(D.coco(path, categories=["harbour"]).items("a")) == 0


def _dior_xml(objects):
    objs = "".join(
        f"<object><name>{n}</name><pose>Unspecified</pose><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox><description>{d}</description></object>"
        for n, b, d in objects)
    return (f'<?xml version="1.0" encoding="UTF-8"?><annotation><filename>{{}}</filename><source><database>DIOR'
            f"</database></source><size><width>40</width><height>30</height><depth>3</depth></size>"
            f"<segmented>0</segmented>{objs}</annotation>")


def test_dior_rsvg_items_and_official_index_file(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    for stem, objects in [("00001", [("ship", (1, 2, 10, 12), "a ship on the left"),
                                     ("harbor", (20, 2, 38, 20), "the harbor on the right")]),
                          ("00002", [("storagetank", (5, 5, 9, 9), "a small round storage tank")])]:
        (tmp_path / "Annotations" / f"{stem}.xml").write_text(_dior_xml(objects).replace("{}", f"{stem}.jpg"))
        Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "JPEGImages" / f"{stem}.jpg")
    items = list(D.dior_rsvg(tmp_path))
    assert [i.query for i in items] == ["a ship on the left", "the harbor on the right", "a small round storage tank"]
    assert all(i.single for i in items) and items[0].labels == ["ship"]
    np.testing.assert_array_equal(items[0].boxes, [[1, 2, 11, 13]])  # inclusive VOC maxima -> half-open
    assert items[2].image == tmp_path / "JPEGImages" / "00002.jpg"
    # objects are indexed 0, 1 (file 00001), 2 (file 00002): keep 1 and 2
    (tmp_path / "test.txt").write_text("1\n2\n")
    kept = list(D.dior_rsvg(tmp_path, index_file=tmp_path / "test.txt"))
    assert [i.id for i in kept] == ["00001:1", "00002:0"]
    ds = D.load_dataset("dior-rsvg", tmp_path)
    assert ds.kind == "expressions" and len(ds) == 2


def _rrsis_files(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "JPEGImages" / "00010.jpg")
    m = np.zeros((20, 30), bool)
    m[4:8, 10:16] = True
    instances = {"images": [{"id": 10, "file_name": "00010.jpg", "width": 30, "height": 20}],
                 "categories": [{"id": 3, "name": "airplane"}],
                 "annotations": [{"id": 100, "image_id": 10, "category_id": 3, "bbox": [10, 4, 6, 4], "iscrowd": 0,
                                  "segmentation": [R.rle_encode(m)]}]}
    (tmp_path / "instances.json").write_text(json.dumps(instances))
    refs = [{"ref_id": 5, "ann_id": 100, "image_id": 10, "split": "test", "category_id": 3, "file_name": "00010.jpg",
             "sentences": [{"sent": "the airplane in the middle", "sent_id": 1},
                           {"sent": "a white plane", "sent_id": 2}]},
            {"ref_id": 6, "ann_id": 100, "image_id": 10, "split": "train", "sentences": [{"sent": "plane"}]}]
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps(refs))
    return m


def test_rrsis_d_refs_pickle_and_rle_masks(tmp_path):
    m = _rrsis_files(tmp_path)
    items = list(D.rrsis_d(tmp_path, ref_split="test"))
    assert [i.query for i in items] == ["the airplane in the middle", "a white plane"]
    assert all(i.single and i.labels == ["airplane"] for i in items)
    np.testing.assert_array_equal(items[0].mask, m)
    np.testing.assert_array_equal(items[0].boxes, [[10, 4, 16, 8]])
    assert len(list(D.rrsis_d(tmp_path))) == 3
    assert D.load_dataset("rrsis-d", tmp_path, split="all").kind == "expressions"


def test_refs_pickle_loader_refuses_code(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([{"ref_id": 1, "where": Path("x")}]))  # a class reference, not plain data
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        R.refer_refs(path)


def test_voc_folder_with_classes_and_ignored_objects(tmp_path):
    xml = _dior_xml([("Car", (1, 1, 4, 4), ""), ("DontCare", (10, 10, 12, 12), "")]).replace("{}", "f.jpg")
    (tmp_path / "f.xml").write_text(xml)
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "f.jpg")
    (item,) = list(D.voc(tmp_path, classes=("Car",), query="cars"))
    assert item.labels == ["car"] and item.query == "cars"
    np.testing.assert_array_equal(item.ignore, [[10, 10, 13, 13]])
    assert R.voc_records(tmp_path / "f.xml")["size"] == (40, 30)


def test_unknown_dataset_names_say_what_is_known():
    with pytest.raises(ValueError, match="hrsid"):
        D.load_dataset("landcover")
    with pytest.raises(ValueError, match="data="):
        D.load_dataset("hrsid")


# -- the shared real data ------------------------------------------------------------------------------------------
def test_hrsid_reader(shared_data):
    ds = D.load_dataset("hrsid", data=shared_data)
    items = list(ds)
    assert len(ds) == 2 and sum(len(i.boxes) for i in items) == 18
    for it in items:
        assert it.query == "ships" and it.open_kwargs == {"modality": "sar"}
        assert it.mask.shape == (800, 800) and set(it.labels) == {"ship"}
        x0, y0, x1, y1 = it.boxes[0]
        assert it.mask[int(y0):int(y1), int(x0):int(x1)].any()
    halves = D.load_dataset("hrsid", data=shared_data, split="dev").keys + \
        D.load_dataset("hrsid", data=shared_data, split="held-out").keys
    assert sorted(halves) == ds.keys


def test_hit_uav_reader(shared_data):
    ds = D.hit_uav(need(shared_data / "hit_uav"))
    assert len(ds) == 49 and ds.iou == 0.3 and ds.classes == ("person", "vehicle")
    (item,) = ds.items("0_100_30_0_03307")
    assert item.meta == {"time": "day", "altitude_m": 100, "angle_deg": 30}
    # the first object in the XML is a Car at xmin 186, ymin 108, xmax 220, ymax 143 (inclusive)
    np.testing.assert_array_equal(item.boxes[0], [186, 108, 221, 144])
    assert item.labels[0] == "vehicle" and set(item.labels) <= {"person", "vehicle"}
    names = [o["name"] for o in R.voc_records(shared_data / "hit_uav/annotations/0_100_30_0_03307.xml")["objects"]]
    assert len(item.boxes) == sum(n in ("Person", "Car") for n in names)
    assert len(item.ignore) == len(names) - len(item.boxes)


def test_sirst_reader_masks_and_skip_reason(shared_data):
    ds = D.sirst(need(shared_data / "sirst"))
    assert len(ds) == 16
    items = {i.id: i for i in ds}
    assert "differs" in items["Misc_111"].skip  # upstream mask of the wrong size
    it = items["Misc_110"]
    w, h = Image.open(it.image).size
    assert it.skip is None and it.mask.shape == (h, w) and len(it.boxes) >= 1
    for x0, y0, x1, y1 in it.boxes.astype(int):
        assert it.mask[y0:y1, x0:x1].any()


def test_sen1floods11_label_raster_reader(shared_data):
    for sensor in ("sar", "optical"):
        (item,) = list(D.load_dataset(f"sen1floods11-{sensor}", data=shared_data))
        assert item.query == "water" and item.image.name.endswith("S1Hand.tif" if sensor == "sar" else "S2Hand.tif")
        label = R.label_raster(shared_data / "sen1floods11/sample/Labels/Spain_7370579_LabelHand.tif")
        np.testing.assert_array_equal(item.mask, label == 1)
        np.testing.assert_array_equal(item.valid, label >= 0)
        assert 0 < item.mask.sum() < item.valid.sum()


def test_deepforest_voc_reader(shared_data):
    (item,) = list(D.load_dataset("deepforest", data=shared_data))
    assert len(item.boxes) == 61 and item.query == "trees" and item.image.suffix == ".tif"


def test_hrsid_largest_ship_single_target_items(shared_data):
    full = {i.id: i for i in D.load_dataset("hrsid", data=shared_data)}
    items = list(D.load_dataset("hrsid-largest", data=shared_data))
    assert len(items) == 2 and all(i.single and i.query == "the largest ship" for i in items)
    for it in items:
        areas = [m.sum() for m in R.instance_colour_boxes(shared_data / f"hrsid/data/{it.id}_instance_id_RGB.png")
                 for m in [m["mask"]]]
        assert it.mask.sum() == max(areas) and len(it.boxes) == 1
        assert any((it.boxes[0] == b).all() for b in full[it.id].boxes)
