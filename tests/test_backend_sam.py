"""SAM backend on a tiny random checkpoint: prompts -> masks through the real SamModel, checked against the
plain transformers processor -> model -> post-processing path on the same model and image."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_models as tm  # noqa: E402
import torch  # noqa: E402
from conftest import SHARED_DATA, need  # noqa: E402

import egx_notebook as egx  # noqa: E402
from egx_notebook.backends import get_backend  # noqa: E402
from egx_notebook.backends.hf.backend import to_pil  # noqa: E402
from egx_notebook.backends.sam import SamBackend, stroke_points  # noqa: E402
from egx_notebook.errors import UnsupportedQueryError  # noqa: E402

tm.single_thread()

S1 = SHARED_DATA / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"


@pytest.fixture(scope="module")
def ckpt():
    return str(tm.tiny_checkpoint("sam"))


@pytest.fixture(scope="module")
def view():
    return egx.open(need(S1)).view((0, 0, 300, 200))  # non-square on purpose


def reference_masks(backend, view, **prompts):
    """Masks from the plain transformers path: processor(image, prompts) -> SamModel -> post_process_masks."""
    loaded = backend.loaded
    inputs = loaded.processor(images=to_pil(backend.image(view).rgb), return_tensors="pt", **prompts)
    model_inputs = {k: v for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")}
    with torch.no_grad():
        out = loaded.model(**model_inputs, multimask_output="input_points" in prompts)
    masks = loaded.processor.post_process_masks(out.pred_masks, inputs["original_sizes"],
                                                inputs["reshaped_input_sizes"])
    return masks[0].numpy(), out.iou_scores[0].numpy()


def test_boxes_match_the_plain_transformers_path(ckpt, view):
    backend = SamBackend(ckpt)
    boxes = [(10, 20, 100, 120), (150, 50, 290, 190), (0, 0, 40, 30)]
    ours = backend.segment_boxes(view, boxes)
    ref, iou = reference_masks(backend, view, input_boxes=[[list(b) for b in boxes]])
    assert len(ours) == 3
    for i, (mask, score) in enumerate(ours):
        assert mask.shape == (200, 300) and mask.dtype == bool
        np.testing.assert_array_equal(mask, ref[i, 0])
        assert score == pytest.approx(float(iou[i, 0]), abs=1e-5)
    assert not np.array_equal(ours[0][0], ours[1][0])  # different prompts, different masks


def test_point_keeps_the_best_of_three_candidates(ckpt, view):
    backend = SamBackend(ckpt)
    mask, score, how = backend.segment_region(view, view.region(egx.Point(50.5, 60.5)))
    ref, iou = reference_masks(backend, view, input_points=[[[[50.5, 60.5]]]], input_labels=[[[1]]])
    best = int(np.argmax(iou[0]))
    np.testing.assert_array_equal(mask, ref[0, best])
    assert score == pytest.approx(float(iou[0, best]), abs=1e-5) and "best of 3" in how


def test_image_embedding_is_computed_once_per_view(ckpt, view, monkeypatch):
    backend = SamBackend(ckpt)
    calls = []
    original = backend.loaded.model.get_image_embeddings
    monkeypatch.setattr(backend.loaded.model, "get_image_embeddings",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    backend.segment_boxes(view, [(10, 20, 100, 120)])
    backend.segment_region(view, view.region(egx.Point(5.5, 5.5)))
    assert len(calls) == 1
    backend.segment_boxes(view.scene.view((0, 0, 100, 100)), [(1, 1, 50, 50)])
    assert len(calls) == 2


def test_shapes_reach_sam_as_mask_prompts(ckpt, view):
    backend = SamBackend(ckpt)
    region = view.region(egx.Box(0, 0, 150, 100))
    low = backend._mask_prompt(view, region.mask())
    # 300 x 200 -> SAM input 224 x 149 on a 224 px padded square -> 56 x 56 mask input (x 1/4)
    assert low.shape == (1, 1, 56, 56)
    inside = low[0, 0] > 0
    rows, cols = np.nonzero(inside)
    assert cols.max() + 1 == 28 and rows.max() + 1 == pytest.approx(149 / 2 / 4, abs=1)
    assert set(np.unique(low)) == {-6.0, 6.0}
    scribble = view.region(egx.FreeForm.scribble([(20, 20), (120, 60), (200, 150)], width=5))
    mask, score, how = backend.segment_region(view, scribble)
    assert mask.shape == (200, 300) and "points along the stroke" in how and "mask prompt" in how
    poly = view.region(egx.FreeForm.polygon([(20, 20), (120, 40), (60, 150)]))
    assert backend.segment_region(view, poly)[2] == "bounding box + shape as mask prompt"


def test_stroke_points_follow_the_stroke():
    mask = np.zeros((50, 50), bool)
    for i in range(40):
        mask[5 + i, 5 + i] = True
    pts = stroke_points(mask, 5)
    assert len(pts) == 5
    xs = [p[0] for p in pts]
    assert xs == sorted(xs) or xs == sorted(xs, reverse=True)
    assert min(xs) == 5.5 and max(xs) == 44.5 and all(mask[int(y), int(x)] for x, y in pts)


def test_segment_and_refer_results(ckpt, view):
    backend = get_backend("sam", model_id=ckpt)
    g = backend.segment(view, [(10, 20, 100, 120), view.region(egx.Point(200.5, 100.5))])
    for d in g:
        ox, oy = d.mask_origin
        assert d.box == (ox, oy, ox + d.mask.shape[1], oy + d.mask.shape[0]) and d.mask.any()
    scene = view.scene
    r = scene.refer(egx.Box(100, 100, 140, 150), backend="sam", model_id=ckpt)
    assert r.label == "segment" and r.stats["segment_area_px"] == int(r.mask.sum())
    assert r.region.bounds == (100, 100, 140, 150)
    # The segment came back from the zoom-in view into scene pixels: it is where SAM put it in that view.
    view_used = scene.view(r.diagnostics["view_window"])
    local = backend.refer(view_used, view_used.region(egx.Box(100, 100, 140, 150)))
    ox, oy = local.mask_origin
    assert r.mask_origin == (ox + view_used.window[0], oy + view_used.window[1])
    assert (r.mask == local.mask).all()
    with pytest.raises(UnsupportedQueryError, match="backend='egx'"):
        scene.ground("ships", backend="sam", model_id=ckpt)
