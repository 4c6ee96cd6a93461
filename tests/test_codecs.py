"""Coordinate codecs: every convention round-trips pixel boxes and points within one unit of its grid, and
matches the reference encodings (transformers processors, published parsing rules) on known values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egx_notebook.backends.codecs import (
    CODECS,
    EarthGPTCodec,
    Florence2Codec,
    GeoChatCodec,
    Kosmos2Codec,
    PaliGemmaCodec,
    Qwen25Codec,
    Relative1000Codec,
    codec_for,
)


def _make(name: str, w: float, h: float, rw: int, rh: int):
    if name == "qwen2.5-vl":
        return codec_for(name, (w, h), resized=(rw, rh))
    return codec_for(name, (w, h))


CONVENTIONS = ["qwen2.5-vl", "qwen3-vl", "internvl", "florence2", "paligemma", "geochat", "earthdial", "kosmos2",
               "earthgpt"]
sizes = st.tuples(st.integers(8, 5000), st.integers(8, 5000))
resized = st.tuples(st.integers(1, 80), st.integers(1, 80)).map(lambda t: (t[0] * 28, t[1] * 28))


@st.composite
def image_and_box(draw):
    w, h = draw(sizes)
    xs = sorted(draw(st.lists(st.floats(0, w, allow_nan=False), min_size=2, max_size=2)))
    ys = sorted(draw(st.lists(st.floats(0, h, allow_nan=False), min_size=2, max_size=2)))
    return (w, h), (xs[0], ys[0], xs[1], ys[1])


@pytest.mark.parametrize("name", CONVENTIONS)
@settings(max_examples=150, deadline=None)
@given(data=image_and_box(), rs=resized)
def test_box_round_trip_within_one_grid_unit(name, data, rs):
    (w, h), box = data
    codec = _make(name, w, h, *rs)
    back = codec.box_from_model(codec.box_to_model(box))
    ux, uy = codec.unit
    tol = 1e-9 * max(w, h)
    assert abs(back[0] - box[0]) <= ux + tol and abs(back[2] - box[2]) <= ux + tol
    assert abs(back[1] - box[1]) <= uy + tol and abs(back[3] - box[3]) <= uy + tol


@pytest.mark.parametrize("name", CONVENTIONS)
@settings(max_examples=100, deadline=None)
@given(data=image_and_box(), rs=resized)
def test_point_round_trip_within_one_grid_unit(name, data, rs):
    (w, h), box = data
    codec = _make(name, w, h, *rs)
    pt = (box[0], box[1])
    back = codec.point_from_model(codec.point_to_model(pt))
    ux, uy = codec.unit
    assert abs(back[0] - pt[0]) <= ux + 1e-9 * w and abs(back[1] - pt[1]) <= uy + 1e-9 * h


@pytest.mark.parametrize("name", CONVENTIONS)
@settings(max_examples=60, deadline=None)
@given(data=image_and_box(), rs=resized)
def test_model_values_stay_in_range(name, data, rs):
    (w, h), box = data
    codec = _make(name, w, h, *rs)
    values = codec.box_to_model(box)
    limits = {"qwen2.5-vl": max(rs), "qwen3-vl": 1000, "internvl": 1000, "florence2": 999, "paligemma": 1023,
              "geochat": 100, "earthdial": 100, "kosmos2": 32 * 32 - 1, "earthgpt": 1.0}
    assert all(0 <= v <= limits[name] for v in values[:4])


def test_florence2_matches_transformers_quantizer():
    """Florence-2 bins: floor(x / W * 1000) (the processor's ``quantize``), centre of the bin on the way back."""
    codec = Florence2Codec((224.0, 224.0))
    assert codec.box_to_model((10, 20, 100, 120)) == (44, 89, 446, 535)
    assert codec.format_box((44, 89, 446, 535)) == "<loc_44><loc_89><loc_446><loc_535>"
    x0, y0, x1, y1 = codec.box_from_model((45, 89, 446, 535))
    assert (x0, y1) == pytest.approx(((45 + 0.5) * 0.224, (535 + 0.5) * 0.224))
    assert codec.box_to_model((0, 0, 224, 224)) == (0, 0, 999, 999)  # right edge clamps to the last bin
    tf = pytest.importorskip("transformers.models.florence2.processing_florence2")
    torch = pytest.importorskip("torch")
    post = tf.Florence2PostProcessor.__new__(tf.Florence2PostProcessor)
    post.quantize_bins = (1000, 1000)
    ref = post.quantize(torch.tensor([[10.0, 20.0, 100.0, 120.0]]), (224, 224)).tolist()[0]
    assert list(codec.box_to_model((10, 20, 100, 120))) == ref


def test_qwen25_absolute_pixels_of_the_resized_image():
    codec = Qwen25Codec((1000.0, 500.0), resized=(448, 224))
    assert codec.box_to_model((100, 50, 500, 250)) == (45, 22, 224, 112)
    assert codec.box_from_model((45, 22, 224, 112)) == pytest.approx((100.446, 49.107, 500.0, 250.0), abs=1e-3)
    assert codec.unit == pytest.approx((1000 / 448, 500 / 224))
    with pytest.raises(ValueError):
        Qwen25Codec((10.0, 10.0))  # the resized size is required


def test_relative_1000():
    codec = Relative1000Codec((640.0, 480.0))
    assert codec.box_to_model((64, 48, 640, 480)) == (100, 100, 1000, 1000)
    assert codec.point_from_model((500, 250)) == (320.0, 120.0)
    assert codec.format_box((1, 2, 3, 4)) == "[1, 2, 3, 4]"


def test_paligemma_is_y_first_with_1024_bins():
    codec = PaliGemmaCodec((1024.0, 512.0))
    values = codec.box_to_model((100, 50, 300, 250))
    assert values == (100, 100, 500, 300)  # y1 x1 y2 x2, each over 1024 bins
    assert codec.format_box(values) == "<loc0100><loc0100><loc0500><loc0300>"
    # The published parse rule: value / 1024 * size
    assert codec.box_from_model((256, 128, 768, 640)) == (128.0, 128.0, 640.0, 384.0)


def test_geochat_and_earthdial_text_forms():
    codec = GeoChatCodec((200.0, 100.0))
    values = codec.box_to_model((20, 10, 100, 55), theta=30)
    assert values == (10, 10, 50, 55, 30)
    assert codec.format_box(values) == "{<10><10><50><55>|<30>}"
    assert codec_for("earthdial", (200, 100)).format_box(values) == "<box>[[10, 10, 50, 55, 30]]</box>"
    corners = codec.rotated_corners((10, 10, 50, 55, 90))
    cx, cy = 60.0, 32.5  # box centre in pixels
    assert all(math.hypot(x - cx, y - cy) == pytest.approx(math.hypot(40, 22.5)) for x, y in corners)


def test_kosmos2_matches_transformers_patch_indices():
    codec = Kosmos2Codec((320.0, 320.0))
    box = (32.0, 64.0, 144.0, 176.0)
    ul, lr = codec.box_to_model(box)
    kp = pytest.importorskip("transformers.models.kosmos2.processing_kosmos2")
    assert (ul, lr) == kp.coordinate_to_patch_index(tuple(v / 320 for v in box), 32)
    assert codec.box_from_model((ul, lr)) == (30.0, 60.0, 150.0, 180.0)  # the cells' outer edges
    assert codec.format_box((ul, lr)) == f"<object><patch_index_{ul:04d}><patch_index_{lr:04d}></object>"


def test_earthgpt_pads_to_a_centred_square():
    codec = EarthGPTCodec((200.0, 100.0))
    assert codec.offset == (0.0, 50.0)
    assert codec.box_to_model((0, 0, 200, 100)) == (0.0, 0.25, 1.0, 0.75)
    assert codec.box_from_model((0.0, 0.25, 1.0, 0.75)) == (0.0, 0.0, 200.0, 100.0)
    assert codec.format_box((0.0, 0.25, 1.0, 0.75)) == "[0.00, 0.25, 1.00, 0.75]"


def test_codec_for_names_and_errors():
    assert set(CONVENTIONS) <= set(CODECS)
    assert isinstance(codec_for("Qwen3-VL", (10, 10)), Relative1000Codec)
    with pytest.raises(ValueError, match="unknown coordinate convention"):
        codec_for("nope", (10, 10))
    with pytest.raises(ValueError):
        codec_for("florence2", (0, 10))
