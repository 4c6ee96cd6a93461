"""``run_eval`` / ``egx eval`` on a tiny synthetic dataset with a scripted backend (so every number can be
checked by hand), the written files and gallery, the CLI, and a short real-data run (skipped when absent)."""

import json

import numpy as np
import pytest
from PIL import Image

from egx_notebook.backends.base import Backend
from egx_notebook.errors import UnsupportedQueryError
from egx_notebook.eval.datasets import Dataset, Item
from egx_notebook.eval.runner import canonical_label, run_eval
from egx_notebook.results import Detection, Grounding, Referring

from conftest import SHARED_DATA, need

#: What the scripted backend "finds" per image (view pixels = scene pixels for these small images).
ANSWERS = {
    "a": [((2, 2, 8, 8), 0.9), ((10, 10, 14, 14), 0.8)],  # one hit, one false alarm
    "b": [],  # misses its object
    "c": [((0, 0, 4, 4), 0.5)],  # a false alarm where there is nothing
}
GT = {"a": [(2, 2, 8, 8), (20, 20, 26, 26)], "b": [(5, 5, 10, 10)], "c": []}


class ScriptedBackend(Backend):
    """Answers from ANSWERS; names a region "a small boat" when at least 6 px wide, else "open water"."""

    name = "scripted"

    def ground(self, view, query):
        if query == "unknown thing":
            raise UnsupportedQueryError("scripted backend: unknown thing")
        dets = [Detection(tuple(map(float, b)), "ship", s) for b, s in ANSWERS[view.scene.name]]
        return Grounding(query, dets, self.name, view.crs, view.transform, (view.height, view.width))

    def refer(self, view, region, instruction=None):
        x0, _, x1, _ = region.bounds
        label = "a small boat" if x1 - x0 >= 6 else "open water"
        return Referring(f"it is {label}", label, 0.7, backend=self.name, crs=view.crs, transform=view.transform,
                         grid_shape=(view.height, view.width))


def _mask(boxes, shape=(32, 32)):
    m = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        m[y0:y1, x0:x1] = True
    return m


def toy_dataset(tmp_path, kind="objects", single=False) -> Dataset:
    for name in GT:
        Image.fromarray(np.full((32, 32), 40, np.uint8)).save(tmp_path / f"{name}.png")

    def load(key):
        boxes = np.asarray(GT[key], float).reshape(-1, 4)
        if single:
            boxes = boxes[:1] if len(boxes) else np.asarray([[5.0, 5.0, 10.0, 10.0]])
        return [Item(key, tmp_path / f"{key}.png", "ships", boxes, ["ship"] * len(boxes),
                     mask=_mask(boxes.astype(int)), single=single, open_kwargs={"modality": "sar"})]

    return Dataset("toy", sorted(GT), load, kind, "ships", 0.5, ("ship",), "all", tmp_path)


def test_grounding_scores_files_and_gallery(tmp_path):
    out = tmp_path / "out"
    report = run_eval(toy_dataset(tmp_path), backend=ScriptedBackend(), out=out, gallery=2, progress=False)
    s = report.summary
    # TP 1 (a), FP 2 (a's false alarm, c's), FN 2 (a's second object, b's object)
    assert (s["tp"], s["fp"], s["fn"]) == (1, 2, 2)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 3)
    # ranked 0.9 TP, 0.8 FP, 0.5 FP with 3 objects: recall 1/3 at precision 1 -> AP 1/3
    assert s["ap"] == pytest.approx(1 / 3)
    # masks (boxes filled): a: I 36, U 36 + 16 + 36 = 88; b: I 0, U 25; c: I 0, U 16 -> cIoU 36 / 129
    assert s["ciou"] == pytest.approx(36 / 129)
    assert s["mask_miou"] == pytest.approx((36 / 88 + 0 + 0) / 3)
    assert s["items"] == 3 and s["files"] == 3 and s["backend"] == "scripted"
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == ["a", "b", "c"] and lines[0]["pred_boxes"][0] == [2, 2, 8, 8]
    assert json.loads((out / "summary.json").read_text())["tp"] == 1
    md = (out / "summary.md").read_text()
    assert "| F1 | 0.333 |" in md and "Regenerate:" in md
    pngs = sorted((out / "gallery").glob("*.png"))
    assert len(pngs) == 2 and not any("_a." in p.name for p in pngs)  # "a" (F1 0.67) is not among the worst
    assert Image.open(pngs[0]).size[0] > 100


def test_small_target_and_single_target_scores(tmp_path):
    s = run_eval(toy_dataset(tmp_path, "small_targets"), backend=ScriptedBackend(), progress=False).summary
    # targets: a's two boxes and b's one; a's first is found (same centroid), the others not
    # false-alarm pixels: a's 4 x 4 box, c's 4 x 4 box over 3 x 32 x 32 pixels
    assert s["targets"] == 3 and s["pd"] == pytest.approx(1 / 3) and s["fa"] == pytest.approx(32 / 3072)
    from egx_notebook.eval.report import summary_markdown

    assert "| Fa (x 1e-6) | 1.04e+04 |" in summary_markdown(s)  # 32 / 3072 per pixel = 10417 per million
    s = run_eval(toy_dataset(tmp_path, "expressions", single=True), backend=ScriptedBackend(), progress=False).summary
    # top-1 IoUs: a 1.0 (its first box), b 0 (no answer), c: (0,0,4,4) vs (5,5,10,10) 0
    assert s["acc"] == pytest.approx(1 / 3) and s["mean_iou"] == pytest.approx(1 / 3)
    assert "tp" not in s


def test_backend_errors_are_recorded_as_no_answer(tmp_path):
    report = run_eval(toy_dataset(tmp_path), backend=ScriptedBackend(), query="unknown thing", progress=False)
    assert report.summary["errors"] == 3 and report.summary["tp"] == 0 and report.summary["fn"] == 3
    assert "UnsupportedQueryError" in report.records[0]["error"]


def test_referring_accuracy_and_confusion(tmp_path):
    report = run_eval(toy_dataset(tmp_path), backend=ScriptedBackend(), task="referring", out=tmp_path / "r",
                      gallery=3, progress=False)
    s = report.summary
    # boxes 6, 6 and 5 px wide -> ship, ship, water
    assert s["prompts"] == 3 and s["accuracy"] == pytest.approx(2 / 3)
    assert s["labels"] == ["ship", "water"] and s["confusion"] == [[2, 1], [0, 0]]
    assert s["said"] == {"a small boat": 2, "open water": 1}
    assert len(report.paths["gallery"]) == 1  # only wrong answers are drawn


def test_canonical_label_maps_synonyms():
    assert canonical_label("Car") == "vehicle" and canonical_label("Person") == "person"
    assert canonical_label("a small boat") == "ship" and canonical_label("Tree") == "tree"
    assert canonical_label("hot spot") == "hot spot" and canonical_label("Storage  Tank") == "storage tank"
    assert canonical_label(None) == "none"


def test_cli_eval_on_a_coco_file(tmp_path, capsys):
    from egx_notebook.cli import main
    from egx_notebook.eval.readers import rle_encode

    img = np.full((40, 40), 30, np.uint8)
    img[10:14, 10:16] = 250  # one bright "ship"
    Image.fromarray(img).save(tmp_path / "s.png")
    m = np.zeros((40, 40), bool)
    m[10:14, 10:16] = True
    coco = {"images": [{"id": 1, "file_name": "s.png", "width": 40, "height": 40}],
            "categories": [{"id": 1, "name": "ship"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 6, 4], "iscrowd": 0,
                             "segmentation": rle_encode(m)}]}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    rc = main(["eval", "coco", "--root", str(tmp_path / "ann.json"), "--modality", "sar", "--query", "ships",
               "--out", str(tmp_path / "e"), "--split", "both", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "coco [dev]" in printed and "coco [held-out]" in printed
    sums = [json.loads((tmp_path / "e" / sp / "summary.json").read_text()) for sp in ("dev", "held-out")]
    assert sorted(s["files"] for s in sums) == [0, 1]
    assert sum(s.get("tp", 0) + s.get("fn", 0) for s in sums) == 1


# -- real data (a couple of files) ----------------------------------------------------------------------------------
def test_real_data_sirst_and_hrsid_referring(tmp_path):
    need(SHARED_DATA / "sirst")
    rep = run_eval("sirst", data=SHARED_DATA, limit=3, out=tmp_path / "sirst", gallery=1, progress=False)
    s = rep.summary
    assert s["files"] == 3 and 0 <= s["pd"] <= 1 and 0 <= s["fa"] < 0.01 and 0 <= s["ciou"] <= 1
    assert s["tp"] + s["fn"] == sum(len(r["gt_boxes"]) for r in rep.records if "skipped" not in r)
    assert len(list((tmp_path / "sirst" / "gallery").glob("*.png"))) == 1
    need(SHARED_DATA / "hrsid")
    rep = run_eval("hrsid", data=SHARED_DATA, task="referring", limit=1, progress=False)
    s = rep.summary
    gt = sum(len(i.boxes) for i in need_items("hrsid", rep.records[0]["key"]))
    assert s["prompts"] == len(rep.records) == gt > 0 and sum(s["said"].values()) == gt
    assert s["accuracy"] == pytest.approx(np.mean([r["pred"] == "ship" for r in rep.records]))
    assert all(r["true"] == "ship" for r in rep.records)  # quality itself is tested in test_realdata_grounding


def need_items(name, key):
    from egx_notebook.eval.datasets import load_dataset

    return load_dataset(name, data=SHARED_DATA).items(key)


def test_report_table_of_several_runs(tmp_path, capsys):
    from egx_notebook.eval.report import main

    run_eval(toy_dataset(tmp_path), backend=ScriptedBackend(), out=tmp_path / "runs" / "g", progress=False)
    run_eval(toy_dataset(tmp_path), backend=ScriptedBackend(), task="referring", out=tmp_path / "runs" / "r",
             progress=False)
    assert main([str(tmp_path / "runs")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| toy")]
    assert len(rows) == 2 and "0.333" in rows[0] and rows[1].rstrip(" |").endswith("0.667")
    assert rows[0].split("|")[4].strip() == "0.5" and rows[1].split("|")[4].strip() == ""  # IoU of grounding only


def test_an_empty_referring_split_has_no_accuracy(tmp_path):
    from egx_notebook.eval.runner import Dataset

    empty = Dataset("toy", [], lambda key: None, "objects", "ships", 0.5, ("ship",), "held-out", tmp_path)
    s = run_eval(empty, backend=ScriptedBackend(), task="referring", progress=False).summary
    assert s["prompts"] == 0 and "accuracy" not in s
