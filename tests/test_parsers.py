"""Parsers of model text: real-format answers (as the models write them) become pixel boxes; mess is repaired or
dropped and counted; nothing ever raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egx_notebook.backends.codecs import codec_for
from egx_notebook.backends.parsing import (
    extract_json,
    florence_text,
    parse_boxes_json,
    parse_florence,
    parse_geochat,
    parse_kosmos2,
    parse_normalised_boxes,
    parse_paligemma,
    parse_referring,
)

REL = codec_for("qwen3-vl", (500, 400))
ABS = codec_for("qwen2.5-vl", (1000, 800), resized=(500, 400))


# ---------------------------------------------------------------------------------------------- Qwen-style JSON
def test_qwen25_fenced_json_with_prose_scales_from_the_resized_frame():
    text = ('Sure! Here are the ships:\n```json\n[\n  {"bbox_2d": [10, 20, 110, 220], "label": "ship"},\n'
            '  {"bbox_2d": [300, 100, 350, 150], "label": "small boat"}\n]\n```\nLet me know if you need more.')
    res = parse_boxes_json(text, ABS)
    assert [i.label for i in res.items] == ["ship", "small boat"]
    assert res.items[0].box == pytest.approx((20, 40, 220, 440))  # x2: 1000 / 500
    assert res.dropped == {} and res.fixed == {}


def test_swapped_and_out_of_range_coordinates_are_repaired_and_counted():
    text = '[{"bbox_2d": [1200, 500, 100, 100], "label": "a"}, {"bbox_2d": [-50, 10, 200, 1200], "label": "b"}]'
    res = parse_boxes_json(text, REL)
    assert res.fixed["swapped"] == 1 and res.fixed["clipped"] == 2
    assert res.items[0].box == pytest.approx((50, 40, 500, 200))  # swapped, then x clipped at 1000 -> 500 px
    assert res.items[1].box == pytest.approx((0, 4, 100, 400))


def test_boxes_entirely_outside_or_empty_are_dropped_and_counted():
    text = '[{"bbox_2d": [1100, 10, 1200, 50]}, {"bbox_2d": [10, 10, 10, 50]}, {"bbox_2d": ["a", 1, 2, 3]}, ' \
           '{"bbox_2d": [1, 2, 3]}, {"label": "orphan"}, {"bbox_2d": [10, 10, 20, 20], "label": "ok"}]'
    res = parse_boxes_json(text, REL)
    assert [i.label for i in res.items] == ["ok"]
    assert res.dropped == {"outside_image": 1, "empty_box": 1, "bad_box": 2, "no_coordinates": 1}


def test_truncated_json_keeps_the_complete_objects():
    text = '```json\n[\n {"bbox_2d": [10, 20, 30, 40], "label": "car"},\n {"bbox_2d": [50, 60, 70, 80], "label": "ca'
    res = parse_boxes_json(text, REL)
    assert [i.label for i in res.items] == ["car"]
    assert res.dropped["truncated"] == 1
    assert res.diagnostics()["raw"] == text


def test_python_literals_trailing_commas_points_and_scores():
    text = "[{'point_2d': [500, 500], 'label': 'person', 'confidence': 87,}, {'bbox_2d': [0, 0, 100, 100], " \
           "'label': 'tank', 'score': 0.4}]"
    res = parse_boxes_json(text, REL)
    assert res.items[0].point == pytest.approx((250, 200)) and res.items[0].score == pytest.approx(0.87)
    assert res.items[1].box == pytest.approx((0, 0, 50, 40)) and res.items[1].score == pytest.approx(0.4)


def test_qwen2_box_tokens_internvl_refs_and_bare_lists():
    q2 = "<|object_ref_start|>the ship<|object_ref_end|><|box_start|>(100,200),(300,400)<|box_end|>"
    res = parse_boxes_json(q2, REL)
    assert res.items[0].label == "the ship" and res.items[0].box == pytest.approx((50, 80, 150, 160))
    ivl = "<ref>storage tank</ref><box>[[100, 100, 200, 250]]</box>"
    res = parse_boxes_json(ivl, REL)
    assert res.items[0].label == "storage tank" and res.items[0].box == pytest.approx((50, 40, 100, 100))
    bare = parse_boxes_json("The plane is at [10, 20, 30, 40].", REL, default_label="plane")
    assert bare.items[0].label == "plane" and bare.items[0].box == pytest.approx((5, 8, 15, 16))


def test_garbage_gives_nothing_and_keeps_the_raw_text():
    res = parse_boxes_json("I cannot see any ships in this radar image.", REL)
    assert res.items == [] and res.diagnostics()["raw"].startswith("I cannot")


def test_extract_json_prefers_whole_values():
    assert extract_json('{"a": [1, 2]}') == [{"a": [1, 2]}]
    assert extract_json("answer: [1, 2] and {\"b\": 3}") == [[1, 2]]


# ---------------------------------------------------------------------------------------------- Florence-2
def test_florence_phrase_grounding_and_od_outputs():
    codec = codec_for("florence2", (1000, 500))
    text = "</s><s>ship<loc_100><loc_200><loc_300><loc_400><loc_500><loc_500><loc_600><loc_600>harbour<loc_0>" \
           "<loc_0><loc_999><loc_999></s>"
    res = parse_florence(text, codec)
    assert [i.label for i in res.items] == ["ship", "ship", "harbour"]
    assert res.items[0].box == pytest.approx((100.5, 100.25, 300.5, 200.25))
    assert res.items[2].box == pytest.approx((0.5, 0.25, 999.5, 499.75))


def test_florence_polygons_incomplete_boxes_and_text():
    codec = codec_for("florence2", (1000, 1000))
    seg = "<loc_100><loc_100><loc_200><loc_100><loc_200><loc_200><sep><loc_500><loc_500><loc_600></s>"
    res = parse_florence(seg, codec, default_label="pond", polygons=True)
    assert len(res.items) == 1 and res.items[0].label == "pond" and len(res.items[0].polygon) == 3
    assert res.dropped["odd_coordinate"] == 1 and res.dropped["short_polygon"] == 1
    od = parse_florence("car<loc_1><loc_2><loc_3>", codec)
    assert od.items == [] and od.dropped["incomplete_box"] == 1
    ovd = parse_florence("tank<poly><loc_1><loc_1><loc_50><loc_1><loc_50><loc_50></poly>road<loc_1><loc_2><loc_3>"
                         "<loc_4>", codec)
    assert ovd.items[0].polygon is not None and ovd.items[1].polygon is None
    assert florence_text("</s><s>a ship<loc_1><loc_2> in port</s>") == "a ship in port"


# ---------------------------------------------------------------------------------------------- other families
def test_paligemma_detect_output():
    codec = codec_for("paligemma", (1024, 512))
    res = parse_paligemma("<loc0256><loc0128><loc0768><loc0640> ship ; <loc0000><loc0000><loc1023><loc1023> sea", codec)
    assert [i.label for i in res.items] == ["ship", "sea"]
    assert res.items[0].box == pytest.approx((128, 128, 640, 384))


def test_geochat_and_earthdial_outputs():
    codec = codec_for("geochat", (200, 100))
    res = parse_geochat("There are <p>two ships</p>{<10><20><30><40>|<15>}{<50><50><60><70>|<0>} here.", codec)
    assert [i.label for i in res.items] == ["two ships", "two ships"]
    assert res.items[0].box == pytest.approx((20, 20, 60, 40)) and res.items[0].angle == 15
    ed = parse_geochat("<ref>runway</ref><box>[[10, 10, 90, 20, -5]]</box>", codec)
    assert ed.items[0].label == "runway" and ed.items[0].angle == -5


def test_kosmos2_output():
    codec = codec_for("kosmos2", (320, 320))
    res = parse_kosmos2("It is <phrase>a ship</phrase><object><patch_index_0044><patch_index_0863></object>.", codec)
    assert res.items[0].label == "a ship"
    assert res.items[0].box == pytest.approx((120, 10, 320, 270))
    bad = parse_kosmos2("<object><patch_index_5000><patch_index_0001></object>", codec)
    assert bad.items == [] and bad.dropped["patch_out_of_range"] == 1


def test_normalised_boxes_earthgpt():
    codec = codec_for("earthgpt", (200, 100))
    res = parse_normalised_boxes("The airplane [0.10, 0.30, 0.50, 0.70] is parked.", codec)
    assert res.items[0].label == "The airplane" and res.items[0].box == pytest.approx((20, 10, 100, 90))


# ---------------------------------------------------------------------------------------------- referring answers
@pytest.mark.parametrize("text,label,desc", [
    ('```json\n{"label": "Oil tank", "description": "A round storage tank."}\n```', "Oil tank",
     "A round storage tank."),
    ("Label: harbour\nDescription: Ships moored at a pier.", "harbour", "Ships moored at a pier."),
    ("Farmland.", "farmland", "Farmland."),
    ('{"label": "river", "description": "A wide river bend with', "river", "A wide river bend with"),
])
def test_referring_answers(text, label, desc):
    ans = parse_referring(text)
    assert (ans.label, ans.text) == (label, desc)


def test_referring_long_prose_without_label_is_counted():
    ans = parse_referring("The marked area shows a large flooded field next to a road and some houses.")
    assert ans.label == "unknown" and ans.diagnostics["dropped"]["label_missing"] == 1
    assert ans.text.startswith("The marked area")


# ---------------------------------------------------------------------------------------------- never raise
PARSERS = [
    lambda t: parse_boxes_json(t, REL), lambda t: parse_boxes_json(t, ABS),
    lambda t: parse_florence(t, codec_for("florence2", (64, 64))),
    lambda t: parse_florence(t, codec_for("florence2", (64, 64)), polygons=True),
    lambda t: parse_paligemma(t, codec_for("paligemma", (64, 64))),
    lambda t: parse_geochat(t, codec_for("geochat", (64, 64))),
    lambda t: parse_kosmos2(t, codec_for("kosmos2", (64, 64))),
    lambda t: parse_normalised_boxes(t, codec_for("earthgpt", (64, 48))),
]
FRAGMENTS = ['{"bbox_2d": [', "]", "}", "[", "{", '"label": "x"', ",", "-5", "1e309", "NaN", "12", "0.5", "```json",
             "```", "<loc_12>", "<loc_9999>", "<poly>", "</poly>", "<sep>", "<loc0123>", ";", "<p>a</p>", "{<1><2>",
             "|<3>}", "<object>", "<patch_index_0001>", "</object>", "<|box_start|>(1,2),(3,4)", "'", '"', "\\",
             "null", "true", "point_2d", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)))
def test_parsers_never_raise(text):
    for parse in PARSERS:
        res = parse(text)
        for item in res.items:
            x0, y0, x1, y1 = item.box
            assert 0 <= x0 < x1 and 0 <= y0 < y1
    ans = parse_referring(text)
    assert isinstance(ans.label, str) and ans.label and isinstance(ans.text, str)


@pytest.mark.parametrize("bad", [None, 123, b"bytes", ["list"]])
def test_parsers_accept_non_strings(bad):
    for parse in PARSERS:
        assert parse(bad).items == []
    assert parse_referring(bad).label
