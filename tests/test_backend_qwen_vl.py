"""Qwen2.5-VL and Qwen3-VL backends on tiny random checkpoints (no torchvision): load -> chat template ->
generate -> tolerant JSON parse -> result, with forced answers checked in each family's coordinates."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_models as tm  # noqa: E402
from conftest import SHARED_DATA, need  # noqa: E402

import egx_notebook as egx  # noqa: E402
from egx_notebook.backends import get_backend  # noqa: E402
from egx_notebook.backends.hf.processors import image_only_processor_class  # noqa: E402

tm.single_thread()

S1 = SHARED_DATA / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"
FAMILIES = {"qwen2.5-vl": "qwen2_5_vl", "qwen3-vl": "qwen3_vl"}


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    path = str(tm.tiny_checkpoint(request.param))
    tok = image_only_processor_class(FAMILIES[request.param]).from_pretrained(path).tokenizer
    return request.param, path, tok


@pytest.fixture(scope="module")
def s1_scene():
    return egx.open(need(S1))


def expected_box(name, values, view, backend):
    """Pixel box of model ``values`` computed from the convention's definition (not through the codec)."""
    if name == "qwen2.5-vl":
        loaded = backend.loaded
        img = tm_image(backend, view)
        grid = loaded.processor.image_processor(images=[img], return_tensors="pt")["image_grid_thw"][0].tolist()
        rw, rh = grid[2] * 14, grid[1] * 14  # the resized frame the model sees
        sx, sy = view.width / rw, view.height / rh
    else:
        sx, sy = view.width / 1000, view.height / 1000
    return values[0] * sx, values[1] * sy, values[2] * sx, values[3] * sy


def tm_image(backend, view):
    from egx_notebook.backends.hf.backend import to_pil

    return to_pil(backend.image(view).rgb)


def test_grounding_json_becomes_pixel_boxes_in_the_familys_convention(family, s1_scene):
    name, path, tok = family
    answer = 'Here you go:\n```json\n[{"bbox_2d": [45, 89, 146, 135], "label": "ship"}, ' \
             '{"bbox_2d": [10, 10, 20], "label": "bad"}]\n```'
    g = s1_scene.ground("ship", backend="qwen-vl", model_id=path, **tm.forced(tok, answer))
    backend = get_backend("qwen-vl", model_id=path, **tm.forced(tok, answer))
    view = s1_scene.overview()
    assert g.labels == ["ship"] and g.backend == "qwen-vl"
    assert g.boxes[0] == pytest.approx(expected_box(name, (45, 89, 146, 135), view, backend))
    assert g.diagnostics["dropped"] == {"bad_box": 1}
    assert g.diagnostics["coordinates"] == ("qwen2.5-vl" if name == "qwen2.5-vl" else "relative-1000")
    assert "resized_mismatch" not in g.diagnostics
    prompt = g.diagnostics["prompt"]
    assert "synthetic aperture radar" in prompt and "VV polarisation" in prompt and '"ship"' in prompt
    if name == "qwen2.5-vl":
        assert "absolute pixel coordinates of this 224 x 224 image" in prompt  # 512 px resized to 224 px
    else:
        assert "normalised to 0-1000" in prompt


def test_referring_gives_coordinates_and_a_marker(family, s1_scene):
    name, path, tok = family
    answer = '{"label": "flooded field", "description": "Dark, smooth water over a field."}'
    r = s1_scene.refer(egx.Box(100, 100, 140, 150), backend="qwen-vl", model_id=path, **tm.forced(tok, answer))
    assert (r.label, r.text) == ("flooded field", "Dark, smooth water over a field.")
    assert r.diagnostics["marker"] == "a red rectangle outline"
    x0, y0, x1, y1 = r.diagnostics["view_window"]  # 160 x 200 zoom-in window around the box
    prompt = r.diagnostics["prompt"]
    if name == "qwen2.5-vl":
        # 160 x 200 -> resized to 168 x 196 (multiples of 28): box (60, 75, 100, 125) -> round(x * 168 / 160) ...
        assert "its bounding box is [63, 74, 105, 122]" in prompt
    else:
        assert "its bounding box is [375, 375, 625, 625]" in prompt
    assert "marked on the image with a red rectangle outline" in prompt


def test_point_scribble_and_free_question(family, s1_scene):
    name, path, tok = family
    backend = get_backend("qwen-vl", model_id=path, **tm.forced(tok, "Label: water\nDescription: Open water."))
    view = s1_scene.view((0, 0, 280, 280))
    r = backend.refer(view, view.region(egx.Point(140.5, 70.5)), "Is this water?")
    assert (r.label, r.text) == ("water", "Open water.")
    prompt = r.diagnostics["prompt"]
    assert r.diagnostics["marker"] == "a red dot" and "Question about the marked region: Is this water?" in prompt
    # Qwen2.5: 280 px is resized to 224 px (max_pixels 224 x 224), so x 140.5 -> 112.4; Qwen3: 0-1000 of 280 px
    expected = "[112, 56]" if name == "qwen2.5-vl" else "[502, 252]"
    assert f"it is at the point {expected}" in prompt
    scribble = view.region(egx.FreeForm.scribble([(20, 20), (60, 40), (90, 90)], width=4))
    r = backend.refer(view, scribble)
    assert r.diagnostics["marker"] == "a red stroke drawn over it"
    assert "the marking follows the exact shape" in r.diagnostics["prompt"]


def test_scene_description_with_zoomed_out_context(family, s1_scene):
    name, path, tok = family
    backend = get_backend("qwen-vl", model_id=path, **tm.forced(tok, '{"label": "floodplain", "description": "x"}'))
    view = s1_scene.view((200, 200, 300, 300))
    r = backend.describe(view, context=view.zoom_out(3))
    assert r.label == "floodplain" and r.extent == (0.0, 0.0, 100.0, 100.0)
    assert r.diagnostics["context_window"] == (100, 100, 400, 400)
    assert "The second image shows the wider surroundings" in r.diagnostics["prompt"]


def test_ground_batch_and_garbage(family, s1_scene):
    name, path, tok = family
    options = tm.forced(tok, "I am not sure what you mean.")
    script = options["generation"]["logits_processor"][0]
    backend = get_backend("qwen-vl", model_id=path, batch_size=2, **options)
    views = [s1_scene.view((0, 0, 100, 100)), s1_scene.view((100, 0, 300, 100)), s1_scene.view((0, 100, 64, 164))]
    results = backend.ground_batch(views, "ship", progress=False)
    assert script.calls == 2 and [len(g) for g in results] == [0, 0, 0]
    assert all(g.diagnostics["raw"] == "I am not sure what you mean." for g in results)
    assert [g.grid_shape for g in results] == [(100, 100), (100, 200), (64, 64)]


def test_multiband_optical_colour_choice_is_overridable(family, tmp_path):
    """A four-band optical scene is shown in natural colour by default and in colour infrared on request."""
    import numpy as np
    from conftest import write_tif

    rng = np.random.default_rng(1)
    data = rng.integers(100, 3000, size=(4, 40, 40), dtype="uint16")
    scene = egx.open(write_tif(tmp_path / "rgbn.tif", data, descriptions=["red", "green", "blue", "nir"]))
    name, path, tok = family
    answer = '{"label": "field", "description": "x"}'
    r = scene.describe(backend="qwen-vl", model_id=path, **tm.forced(tok, answer))
    assert r.diagnostics["rendering"] == "natural colour" and "natural colour" in r.diagnostics["prompt"]
    r = scene.describe(backend="qwen-vl", model_id=path, colour="false", **tm.forced(tok, answer))
    assert r.diagnostics["rendering"] == "colour infrared" and "vegetation looks bright red" in r.diagnostics["prompt"]


def test_batched_generation_matches_one_by_one(family, s1_scene):
    """Free (unforced) greedy answers of a batch equal the answers one view at a time: prompts are left-padded."""
    name, path, tok = family
    backend = get_backend("qwen-vl", model_id=path, max_new_tokens=10, batch_size=3)
    views = [s1_scene.view((0, 0, 100, 100)), s1_scene.view((100, 0, 300, 100)), s1_scene.view((0, 100, 64, 164))]
    batched = [g.diagnostics["raw"] for g in backend.ground_batch(views, "ship", progress=False)]
    single = [backend.ground(v, "ship").diagnostics["raw"] for v in views]
    assert batched == single and len(set(batched)) > 1


def test_max_pixels_limits_the_image_and_the_coordinates_follow(family, s1_scene):
    name, path, tok = family
    answer = '[{"bbox_2d": [10, 20, 30, 40], "label": "ship"}]'
    backend = get_backend("qwen-vl", model_id=path, max_pixels=112 * 112, **tm.forced(tok, answer))
    g = backend.ground(s1_scene.view((0, 0, 512, 512)), "ship")
    assert g.diagnostics["resized"] == ([112, 112] if name == "qwen2.5-vl" else [96, 96])
    assert "resized_mismatch" not in g.diagnostics
    scale = 512 / 112 if name == "qwen2.5-vl" else 512 / 1000
    assert g.boxes[0] == pytest.approx((10 * scale, 20 * scale, 30 * scale, 40 * scale))
