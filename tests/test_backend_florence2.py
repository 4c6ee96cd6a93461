"""Florence-2 backend on a tiny random checkpoint: the real from_pretrained -> generate -> parse -> result path.

A scripted logits processor forces known answers through ``generate`` so that the location tokens the model
"writes" must come out as the expected boxes, in view pixels, scene pixels and map coordinates."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_models as tm  # noqa: E402
import torch  # noqa: E402
from conftest import SHARED_DATA, need  # noqa: E402
from transformers import AutoProcessor  # noqa: E402

import egx_notebook as egx  # noqa: E402
from egx_notebook.backends import get_backend  # noqa: E402
from egx_notebook.backends.codecs import Florence2Codec  # noqa: E402
from egx_notebook.backends.hf.backend import to_pil  # noqa: E402
from egx_notebook.backends.hf.loading import load_model, pick_device_map, pick_dtype  # noqa: E402
from egx_notebook.errors import BackendError  # noqa: E402

tm.single_thread()

S1 = SHARED_DATA / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"


@pytest.fixture(scope="module")
def ckpt():
    return str(tm.tiny_checkpoint("florence2"))


@pytest.fixture(scope="module")
def tok(ckpt):
    return AutoProcessor.from_pretrained(ckpt).tokenizer


@pytest.fixture(scope="module")
def s1_scene():
    return egx.open(need(S1))


def test_forced_loc_tokens_become_the_expected_georeferenced_box(ckpt, tok, s1_scene):
    import rasterio

    g = s1_scene.ground("ship", backend="florence2", model_id=ckpt,
                        **tm.forced(tok, "ship<loc_100><loc_200><loc_300><loc_400>"))
    assert len(g) == 1 and g.labels == ["ship"] and g.backend == "florence2"
    w, h = s1_scene.width, s1_scene.height  # 512 x 512: the whole scene is the view, at full resolution
    px = ((100.5) * w / 1000, (200.5) * h / 1000, (300.5) * w / 1000, (400.5) * h / 1000)
    assert g.boxes[0] == pytest.approx(px)
    with rasterio.open(S1) as ds:
        t = ds.transform  # map coordinates computed independently of the library
    (xa, ya), (xb, yb) = t @ (px[0], px[1]), t @ (px[2], px[3])
    assert g.boxes_map[0] == pytest.approx((min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)), abs=1e-9)
    gdf = g.to_geodataframe()
    assert gdf.crs == s1_scene.crs and tuple(gdf.total_bounds) == pytest.approx(g.boxes_map[0], abs=1e-9)
    assert g.diagnostics["raw"].startswith("ship<loc_100>") and g.diagnostics["task"] == "<CAPTION_TO_PHRASE_GROUNDING>"
    assert 0.0 <= g.scores[0] <= 1.0


def test_referring_box_batches_category_and_description(ckpt, tok, s1_scene):
    answers = ["harbour<loc_1><loc_2><loc_3><loc_4>", "Several ships are moored at a pier."]
    r = s1_scene.refer(egx.Box(100, 100, 140, 150), backend="florence2", model_id=ckpt, **tm.forced(tok, answers))
    assert (r.label, r.text) == ("harbour", "Several ships are moored at a pier.")
    x0, y0, x1, y1 = r.diagnostics["view_window"]
    codec = Florence2Codec((x1 - x0, y1 - y0))
    expected = codec.format_box(codec.box_to_model((100 - x0, 100 - y0, 140 - x0, 150 - y0)))
    assert r.diagnostics["region_tokens"] == expected
    assert r.diagnostics["prompts"] == ["<REGION_TO_CATEGORY>" + expected, "<REGION_TO_DESCRIPTION>" + expected]
    assert r.region.bounds == (100, 100, 140, 150) and r.level == "region"


def test_point_and_freeform_prompts_are_encoded_and_said_so(ckpt, tok):
    scene = egx.open(need(S1))
    view = scene.view((0, 0, 256, 256))
    backend = get_backend("florence2", model_id=ckpt, **tm.forced(tok, "water"))
    r = backend.refer(view, view.region(egx.Point(100.5, 60.5)))
    x0, y0, x1, y1 = r.diagnostics["region_box"]
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((100.5, 60.5)) and x1 - x0 == 16
    assert "point given as a 16 px box" in r.diagnostics["prompt_encoding"]
    poly = view.region(egx.FreeForm.polygon([(20, 20), (80, 30), (40, 90)]))
    r = backend.refer(view, poly)
    assert r.diagnostics["region_box"] == poly.bounds and "dimmed" in r.diagnostics["prompt_encoding"]


def test_referring_segmentation_polygon_becomes_a_mask(ckpt, tok, s1_scene):
    view = s1_scene.view((0, 0, 200, 100))
    backend = get_backend("florence2", model_id=ckpt, **tm.forced(tok, "<loc_100><loc_100><loc_600><loc_100>"
                                                                   "<loc_600><loc_900><loc_100><loc_900>"))
    g = backend.segment(view, "the flooded field")
    assert len(g) == 1 and g[0].mask is not None
    # the polygon's corners are bin centres: x (q + .5) * 200 / 1000, y (q + .5) * 100 / 1000
    assert g[0].box == pytest.approx((20.1, 10.05, 120.1, 90.05))
    assert g[0].mask.sum() == 100 * 80 and g[0].mask_origin == (20, 10)
    scene_g = g.remap(view.pixel_transform, s1_scene.shape, s1_scene.transform, s1_scene.crs)
    assert scene_g.label_mask().sum() == 100 * 80


def test_ground_batch_over_tiles_is_one_generate_call_per_batch(ckpt, tok, s1_scene):
    options = tm.forced(tok, "ship<loc_0><loc_0><loc_499><loc_499>")
    script = options["generation"]["logits_processor"][0]
    backend = get_backend("florence2", model_id=ckpt, batch_size=4, **options)
    tiles = list(s1_scene.tiles(256, 0))
    results = backend.ground_batch(tiles, "ship", progress=False)
    assert script.calls == 1 and len(results) == 4
    for tile, g in zip(tiles, results):
        assert g.boxes[0] == pytest.approx((0.128, 0.128, 127.872, 127.872))  # in each tile's own pixels
        assert g.grid_shape == (tile.height, tile.width)


def test_confidence_is_the_models_own_answer_probability(ckpt, tok, s1_scene):
    """The confidence equals exp(mean log p) of the answer under a teacher-forced forward pass, not 1.0 although
    the answer was forced."""
    answer = "ship<loc_10><loc_20><loc_30><loc_40>"
    backend = get_backend("florence2", model_id=ckpt, **tm.forced(tok, answer))
    view = s1_scene.view((0, 0, 128, 128))
    g = backend.ground(view, "ship")
    loaded = backend.loaded
    img = to_pil(backend.image(view).rgb)
    inputs = loaded.processor(text=["<CAPTION_TO_PHRASE_GROUNDING>ship"], images=[img], return_tensors="pt")
    target = tok(answer, add_special_tokens=False).input_ids + [tok.eos_token_id]
    start = loaded.model.generation_config.decoder_start_token_id
    with torch.no_grad():
        logits = loaded.model(**inputs, decoder_input_ids=torch.tensor([[start] + target[:-1]])).logits[0]
    logp = torch.log_softmax(logits.float(), -1)[torch.arange(len(target)), torch.tensor(target)]
    assert g.diagnostics["confidence"] == pytest.approx(math.exp(float(logp.mean())), rel=1e-4)
    assert g.diagnostics["confidence"] < 0.5


def test_beam_search_answers_parse_too(ckpt, tok, s1_scene):
    options = tm.forced(tok, "ship<loc_0><loc_0><loc_499><loc_499>")
    options["generation"]["num_beams"] = 2
    g = get_backend("florence2", model_id=ckpt, **options).ground(s1_scene.view((0, 0, 100, 100)), "ship")
    assert g.boxes[0] == pytest.approx((0.05, 0.05, 49.95, 49.95))
    assert g.diagnostics["confidence"] == pytest.approx(1.0)  # beam score after the forcing processor


def test_model_loads_once_per_process(ckpt, tok):
    a = get_backend("florence2", model_id=ckpt, ground_task="<OPEN_VOCABULARY_DETECTION>")
    b = get_backend("florence2", model_id=ckpt, caption_task="<CAPTION>")
    assert a is not b and a.loaded.model is b.loaded.model
    assert a.loaded.dtype == torch.float32 and str(a.loaded.device) == "cpu"
    assert pick_dtype("bf16") == torch.bfloat16 and pick_dtype(None, "cpu") == torch.float32
    assert pick_device_map(None) == "auto" and pick_device_map("cuda:1") == {"": "cuda:1"}
    with pytest.raises(BackendError, match="unknown dtype"):
        pick_dtype("float13")


def test_scene_description(ckpt, tok, s1_scene):
    answers = ["flooded farmland", "A river has flooded fields."]
    backend = get_backend("florence2", model_id=ckpt, **tm.forced(tok, answers))
    r = backend.refer(s1_scene.view((0, 0, 64, 64)), None, "how deep is the water?")
    assert (r.label, r.text) == ("flooded farmland", "A river has flooded fields.")
    assert r.extent == (0.0, 0.0, 64.0, 64.0) and "not passed" in r.diagnostics["instruction"]


def test_missing_model_offline_says_how_to_get_the_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match="hf download egx-test/not-a-real-model"):
        load_model("egx-test/not-a-real-model")
    with pytest.raises(BackendError, match="does not exist"):
        load_model(str(tmp_path / "nowhere" / "model"))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    with pytest.raises(BackendError, match="safetensors only"):
        load_model(str(tmp_path))
    with pytest.raises(BackendError, match="hf download"):
        egx.open(need(S1)).ground("ship", backend="florence2", model_id="egx-test/not-a-real-model")


def test_garbled_answer_gives_an_empty_result_with_diagnostics(ckpt, tok, s1_scene):
    backend = get_backend("florence2", model_id=ckpt, **tm.forced(tok, "<loc_5><loc_7>ship<loc_1><loc_2><loc_3>"))
    g = backend.ground(s1_scene.view((0, 0, 64, 64)), "ship")
    assert len(g) == 0
    assert g.diagnostics["dropped"] == {"incomplete_box": 2}
    assert g.diagnostics["raw"].startswith("<loc_5><loc_7>ship")
    assert np.isfinite(g.diagnostics["confidence"])
