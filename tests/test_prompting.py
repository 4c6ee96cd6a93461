"""What RGB-trained models are shown and told: modality briefs, band choice, visual markers (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_tif

import egx_notebook as egx
from egx_notebook.backends.prompting import (
    contour,
    dim_outside,
    draw_marker,
    grounding_instruction,
    referring_instruction,
    render_for_model,
)


@pytest.fixture
def sar_view(tmp_path):
    rng = np.random.default_rng(0)
    db = (-15 + 3 * rng.standard_normal((60, 80))).astype("float32")
    return egx.open(write_tif(tmp_path / "S1_VH_db.tif", db)).overview()


def test_sar_brief_says_sensor_polarisation_units_and_meaning(sar_view):
    mi = render_for_model(sar_view)
    assert mi.colour == "grey" and mi.marker[0] == "red" and mi.rgb.shape == (60, 80, 3)
    for words in ("synthetic aperture radar", "VH polarisation", "decibels", "-25 dB (black)", "5 dB (white)",
                  "Bright pixels are strong radar echoes", "calm water", "speckle", "about 10 m"):
        assert words in mi.brief, words


def test_thermal_brief(lst_tif):
    mi = render_for_model(egx.open(lst_tif).overview())
    assert mi.colour == "thermal palette" and mi.marker[0] == "cyan"
    assert "thermal infrared" in mi.brief and "kelvin" in mi.brief and "(hottest)" in mi.brief
    assert "Bright or yellow means warm" in mi.brief


def test_optical_band_choice(tmp_path):
    data = np.random.default_rng(2).integers(100, 3000, size=(4, 20, 30), dtype="uint16")
    rgbn = egx.open(write_tif(tmp_path / "rgbn.tif", data, descriptions=["red", "green", "blue", "nir"])).overview()
    assert render_for_model(rgbn).bands == ("red", "green", "blue")
    cir = render_for_model(rgbn, colour="false")
    assert cir.bands == ("nir", "red", "green") and cir.marker[0] == "cyan" and "colour infrared" in cir.brief
    assert render_for_model(rgbn, bands=("nir", "nir", "red")).bands == ("nir", "nir", "red")
    no_blue = egx.open(write_tif(tmp_path / "gn.tif", data[[0, 1, 3]], descriptions=["red", "green", "nir"]))
    assert render_for_model(no_blue.overview()).colour == "colour infrared"  # auto: no blue band
    with pytest.raises(ValueError, match="needs red, green and blue"):
        render_for_model(no_blue.overview(), colour="true")


def test_markers_keep_the_prompt_shape(sar_view):
    rgb = np.zeros((60, 80, 3), np.uint8)
    box, words = draw_marker(rgb, sar_view.region(egx.Box(10, 10, 30, 20)), ("red", (255, 0, 0)))
    assert words == "a red rectangle outline" and box[10, 10:30, 0].all() and not box[15, 20].any()
    dot, words = draw_marker(rgb, sar_view.region(egx.Point(40.5, 30.5)), ("red", (255, 0, 0)))
    assert words == "a red dot" and dot[30, 40, 0] == 255 and not dot[10, 10].any()
    region = sar_view.region(egx.FreeForm.polygon([(10, 10), (60, 12), (30, 50)]))
    shape, words = draw_marker(rgb, region, ("cyan", (0, 255, 255)))
    mask = region.mask()
    assert words == "a cyan outline that traces its shape"
    drawn = shape[..., 1] == 255
    assert drawn.any() and not (drawn & ~mask).any() and (mask & ~drawn).any()  # the outline, not the fill
    stroke = sar_view.region(egx.FreeForm.scribble([(5, 5), (70, 50)], width=3))
    painted, words = draw_marker(rgb, stroke, ("red", (255, 0, 0)))
    assert words == "a red stroke drawn over it" and np.array_equal(painted[..., 0] == 255, stroke.mask())
    assert not rgb.any()  # the input image is never changed


def test_contour_and_dimming():
    mask = np.zeros((10, 10), bool)
    mask[2:8, 2:8] = True
    ring = contour(mask, 1)
    assert ring.sum() == 36 - 16 and not ring[4, 4]
    rgb = np.full((10, 10, 3), 200, np.uint8)
    out = dim_outside(rgb, mask, (0, 0, 5, 5))
    assert out[3, 3, 0] == 200 and out[0, 0, 0] == 70 and out[9, 9, 0] == 200  # only inside the window


def test_instructions_ask_for_parseable_answers():
    text = grounding_instruction("BRIEF", "the largest ship", "coordinates normalised to 0-1000")
    assert text.startswith("BRIEF") and '"the largest ship"' in text and '"bbox_2d"' in text and "[]" in text
    text = referring_instruction("BRIEF", "a red dot", "it is at the point [1, 2]", "Is it moving?")
    assert "a red dot" in text and "Is it moving?" in text and '"label"' in text
