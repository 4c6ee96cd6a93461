"""The combined ``egx`` backend (tiny Qwen2.5-VL or Florence-2 + tiny SAM): grounding boxes get SAM masks, point and
scribble prompts become SAM regions before referring, small prompts are zoomed into, scene questions get context.
Also: registration is lazy (importing the package does not import torch)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import SHARED_DATA, need

import egx_notebook as egx


def test_backends_are_registered_without_importing_torch():
    code = ("import sys, egx_notebook as egx; names = egx.list_backends(); "
            "assert {'florence2', 'qwen-vl', 'sam', 'egx'} <= set(names), names; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_models as tm  # noqa: E402
from transformers import AutoProcessor, LogitsProcessorList  # noqa: E402

from egx_notebook.backends import get_backend  # noqa: E402
from egx_notebook.backends.hf.backend import crop_mask  # noqa: E402
from egx_notebook.backends.hf.processors import image_only_processor_class  # noqa: E402

tm.single_thread()

S1 = SHARED_DATA / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"


@pytest.fixture(scope="module")
def parts():
    qwen = str(tm.tiny_checkpoint("qwen2.5-vl"))
    sam = str(tm.tiny_checkpoint("sam"))
    tok = image_only_processor_class("qwen2_5_vl").from_pretrained(qwen).tokenizer
    return qwen, sam, tok


@pytest.fixture(scope="module")
def scene():
    return egx.open(need(S1))


def options(parts, answer, **extra) -> dict:
    qwen, sam, tok = parts
    gen = {"logits_processor": LogitsProcessorList([tm.scripted(tok, answer)])}
    return dict(model_id=qwen, sam_model_id=sam, mllm_options={"generation": gen,
                                                                "max_new_tokens": tm.max_tokens(tok, answer)}, **extra)


def test_grounding_boxes_get_sam_masks_inside_the_box(parts, scene):
    answer = '[{"bbox_2d": [20, 30, 120, 90], "label": "field"}, {"bbox_2d": [150, 150, 200, 220], "label": "ship"}]'
    g = scene.ground("fields and ships", backend="egx", **options(parts, answer))
    assert g.backend == "egx" and g.diagnostics["mllm"] == "qwen-vl" and len(g) == 2
    sam = get_backend("sam", model_id=parts[1])
    view = scene.overview()
    for det, (mask, score) in zip(g, sam.segment_boxes(view, g.boxes)):
        patch, origin = crop_mask(mask, det.box, 2)
        if patch is None:
            assert det.mask is None
            continue
        np.testing.assert_array_equal(det.mask, patch)
        assert det.mask_origin == origin and det.attributes["sam_iou"] == pytest.approx(score)
        x0, y0, x1, y1 = det.box
        assert origin[0] >= np.floor(x0) - 2 and origin[0] + patch.shape[1] <= np.ceil(x1) + 2
    assert g.to_geodataframe().crs == scene.crs


@pytest.mark.parametrize("point", [(300.5, 200.5), (40.5, 470.5), (260.5, 60.5)])
def test_point_prompt_becomes_a_sam_region_before_referring(parts, scene, point):
    answer = '{"label": "lake", "description": "A dark, calm water body."}'
    r = scene.refer(egx.Point(*point), backend="egx", **options(parts, answer))
    assert (r.label, r.text) == ("lake", "A dark, calm water body.")
    assert r.region.kind == "point" and r.level == "point" and r.diagnostics["sam_prompt"].startswith("point")
    # what SAM says about this point, on the same zoom-in window
    x0, y0, x1, y1 = r.diagnostics["view_window"]
    view = scene.view((x0, y0, x1, y1))
    mask, _, _ = get_backend("sam", model_id=parts[1]).segment_region(view, view.region(egx.Point(*point)))
    contains = bool(mask[int(point[1]) - y0, int(point[0]) - x0])
    assert r.stats["sam_prompt_cover"] == float(contains)
    qwen = get_backend("qwen-vl", model_id=parts[0])
    codec = qwen.codec(x1 - x0, y1 - y0)
    if contains:  # the SAM segment is described, marked by its outline and given by its bounding box
        assert r.stats["segment_area_px"] == int(mask.sum())
        assert r.diagnostics["marker"].endswith("outline that traces its shape")
        words = codec.format_box(codec.box_to_model(r.diagnostics["sam_region_bounds"]))
        assert f"its bounding box is {words}" in r.diagnostics["prompt"]
    else:  # SAM missed the point: the point itself is described
        assert "so the prompt itself was described" in r.diagnostics["sam_prompt"]
        assert r.diagnostics["marker"] == "a red dot" and "segment_area_px" not in r.stats


def test_small_prompt_on_a_large_view_is_zoomed_into(parts, scene):
    answer = '{"label": "boat", "description": "A small bright target."}'
    view = scene.view((0, 0, 512, 512))
    r = view.refer(egx.Box(250, 250, 262, 258), backend="egx", **options(parts, answer))
    assert r.label == "boat"
    assert r.diagnostics["zoom_window"] == (224, 222, 288, 286)  # 64 px (min_zoom_px) around the box centre
    assert "sam_prompt" not in r.diagnostics  # boxes are described as drawn
    big = view.refer(egx.Box(100, 100, 400, 400), backend="egx", **options(parts, answer))
    assert big.diagnostics["zoom"] is None


def test_scribble_is_turned_into_a_region(parts, scene):
    answer = '{"label": "road", "description": "x"}'
    r = scene.refer(egx.FreeForm.scribble([(100, 100), (140, 120), (170, 160)], width=4), backend="egx",
                    **options(parts, answer))
    assert "points along the stroke" in r.diagnostics["sam_prompt"] and r.label == "road"
    assert r.diagnostics["marker"] in ("a red outline that traces its shape", "a red stroke drawn over it")
    assert (r.diagnostics["marker"] == "a red stroke drawn over it") == (r.stats["sam_prompt_cover"] < 0.5)


def test_scene_question_on_a_window_gets_zoomed_out_context(parts, scene):
    answer = '{"label": "floodplain", "description": "Flooded fields."}'
    r = scene.view((200, 200, 300, 300)).describe(backend="egx", **options(parts, answer))
    assert r.label == "floodplain" and r.backend == "egx"
    assert r.diagnostics["zoom_out"] == "context (100, 100, 400, 400) (scene px)"
    whole = scene.describe(backend="egx", **options(parts, answer))
    assert whole.diagnostics["zoom_out"] is None


def test_a_checkpoint_of_another_family_is_refused_clearly(parts, scene):
    from egx_notebook.errors import BackendError

    with pytest.raises(BackendError, match="'sam' model; the 'qwen-vl' backend runs qwen2_5_vl"):
        scene.ground("ships", backend="qwen-vl", model_id=parts[1])
    flo = str(tm.tiny_checkpoint("florence2"))
    get_backend("florence2", model_id=flo).load()  # cached as an image-text-to-text model ...
    with pytest.raises(BackendError, match="'florence2' model; the 'qwen-vl' backend"):  # ... still refused
        get_backend("qwen-vl", model_id=flo).load()


def test_florence2_as_the_grounding_model(parts, scene):
    flo = str(tm.tiny_checkpoint("florence2"))
    tok = AutoProcessor.from_pretrained(flo).tokenizer
    answer = "ship<loc_100><loc_100><loc_300><loc_300>"
    gen = {"logits_processor": LogitsProcessorList([tm.scripted(tok, answer)])}
    g = scene.ground("ship", backend="egx", model_id=flo, mllm="florence2", sam_model_id=parts[1],
                     mllm_options={"generation": gen, "max_new_tokens": 16})
    assert g.diagnostics["mllm"] == "florence2" and g.boxes[0] == pytest.approx((51.456, 51.456, 153.856, 153.856))
    assert "sam_masks" in g.diagnostics
