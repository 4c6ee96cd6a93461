"""Synthetic tests of the mechanisms of ``thermal_objects`` (people / vehicles in UAV thermal frames):
extended-structure rejection, halo growth, splitting of touching objects, pairing of warm and cold car parts."""
from __future__ import annotations

import numpy as np

from egx_notebook.backends.analytic import detectors
from egx_notebook.backends.analytic import detectors_thermal_objects as T


def _boxes(mask):
    return sorted(c["box"] for c in detectors.components(mask))


def test_drop_extended_removes_the_tip_of_a_long_structure():
    out = np.zeros((60, 260), bool)
    out[10:15, 10:15] = True  # object A: tip of a long warm band
    out[40:45, 100:105] = True  # object B: on its own
    c = np.where(out, 10.0, 0.0)
    c[11:14, 15:250] = 3.0  # band above the support threshold, 3 x 235 = 705 px > 20 x 25
    d = c.copy()  # all warm
    kept = T._drop_extended(out, c, d, np.ones_like(out), thr=2.0, max_ratio=20)
    assert _boxes(kept) == [(100, 40, 105, 45)]
    # a shorter band (3 x 100 = 300 px < 500) is no reason to drop A
    c2 = np.where(out, 10.0, 0.0)
    c2[11:14, 15:115] = 3.0
    assert len(_boxes(T._drop_extended(out, c2, c2.copy(), np.ones_like(out), thr=2.0, max_ratio=20))) == 2


def test_drop_extended_connects_regions_within_one_polarity():
    """Busy ground of alternating warm and cold patches is not one extended structure."""
    out = np.zeros((60, 260), bool)
    out[10:15, 10:15] = True
    c = np.where(out, 10.0, 0.0)
    c[11:14, 15:250] = 3.0
    d = c.copy()
    for x0 in range(15, 250, 40):  # 20 px warm, 20 px cold, ...: each one-polarity patch is 60 px
        d[11:14, x0 + 20:x0 + 40] *= -1
    assert _boxes(T._drop_extended(out, c, d, np.ones_like(out), thr=2.0, max_ratio=20)) == [(10, 10, 15, 15)]
    d[11:14, 15:250] = -3.0  # one long cold band touching the object: it is dropped
    assert _boxes(T._drop_extended(out, c, d, np.ones_like(out), thr=2.0, max_ratio=20)) == []


def test_drop_extended_keeps_an_object_far_more_contrasted_than_the_structure_it_touches():
    """A person walking on a warm road at night: the road is an extended warm region, the person far warmer."""
    out = np.zeros((60, 260), bool)
    out[10:15, 10:15] = True
    c = np.where(out, 10.0, 0.0)
    c[11:14, 15:250] = 3.0  # the road: 705 px > 20 x 25, its 90th percentile 3.0 <= 10 / 2
    v = np.ones_like(out)
    assert _boxes(T._drop_extended(out, c, c.copy(), v, thr=2.0, max_ratio=20)) == []  # no exemption
    assert _boxes(T._drop_extended(out, c, c.copy(), v, thr=2.0, max_ratio=20, exempt=2.0)) == [(10, 10, 15, 15)]
    c[11:14, 15:250] = 6.0  # a structure as strong as half the object: its tip, dropped
    assert _boxes(T._drop_extended(out, c, c.copy(), v, thr=2.0, max_ratio=20, exempt=2.0)) == []


def test_structured_keeps_a_peaked_core_but_not_a_flat_plateau_corner():
    mask = np.zeros((40, 80), bool)
    mask[5:15, 5:15] = mask[5:15, 50:60] = True
    c = np.zeros((40, 80))
    c[5:15, 5:15] = 12.0 + np.random.default_rng(0).normal(0, 0.5, (10, 10))  # flat corner of a warm roof
    yy, xx = np.mgrid[5:15, 50:60]
    c[5:15, 50:60] = 12.0 + 20.0 * np.exp(-((yy - 9.5) ** 2 + (xx - 54.5) ** 2) / 8.0)  # a body: peaked
    assert _boxes(T._structured(mask, c, 1.0, 8.0)) == [(50, 5, 60, 15)]


def test_thermal_objects_finds_a_person_on_a_warm_road():
    """A person on a warm road at night: the road merges the person's low-threshold component into a long
    band (fails the shape priors, so only the high-threshold core pass finds the body) and is an extended
    warm structure it touches (the person is kept because it is far warmer than the road)."""
    rng = np.random.default_rng(3)
    t = 120.0 + rng.normal(0.0, 1.0, (256, 320))
    t[120:136, :] += 6.0  # warm road
    t[124:132, 150:156] += 25.0  # person
    t[124:127, 151:155] += 8.0  # warmer head
    assert _boxes(detectors.thermal_objects(t)) == [(148, 122, 158, 134)]
    assert _boxes(detectors.thermal_objects(t, core_k=None)) == []
    assert _boxes(detectors.thermal_objects(t, support_exempt=None)) == []


def test_grow_halo_covers_the_rim_of_the_objects_polarity_and_keeps_objects_apart():
    out = np.zeros((40, 60), bool)
    out[10:16, 10:14] = True  # warm core
    out[10:16, 17:21] = True  # a second warm object 3 px away
    out[30:34, 40:44] = True  # a cold object
    d = np.zeros(out.shape)
    d[8:18, 8:23] = 5.0  # warm rim around the two warm cores
    d[28:36, 38:46] = -5.0  # cold rim around the cold object
    d[27, 38:46] = 5.0  # a warm row beside the cold object: not its rim
    grown = T._grow_halo(out, d, np.abs(d) > 2.0, 2)
    assert (grown & out).sum() == out.sum()  # the cores stay
    assert len(detectors.components(grown)) == 3  # the two close warm objects are not merged
    boxes = _boxes(grown)
    assert boxes[0][:2] == (8, 8) and boxes[0][3] == 18  # the left object grew by 2 px
    assert boxes[2] == (38, 28, 46, 36)  # the cold object grew into its cold rim, not into the warm row
    assert T._grow_halo(out, d, np.abs(d) > 2.0, 0).sum() == out.sum()


def _two_people(gap):
    yy, xx = np.mgrid[:80, :80].astype(float)
    c = np.zeros((80, 80))
    for cx in (40 - gap / 2, 40 + gap / 2):
        c += 40 * np.exp(-((xx - cx) ** 2) / (2 * 2.5 ** 2) - ((yy - 40) ** 2) / (2 * 4.0 ** 2))
    return c


def test_split_touching_separates_two_people_but_not_one():
    c = _two_people(9)
    mask = c > 3.0
    assert len(detectors.components(mask)) == 1  # the two blobs touch
    split = T._split_touching(mask, c, 1.0, h=2.5, sigma=2.5, min_area=20, min_peak=10, max_pieces=10)
    boxes = _boxes(split)
    assert len(boxes) == 2, boxes
    assert boxes[0][2] <= 41 and boxes[1][0] >= 39  # cut between the two centres (35.5 and 44.5)
    one = c > 3.0
    one[:, 40:] = False
    one_c = np.where(one, c, 0.0)
    assert len(detectors.components(T._split_touching(one, one_c, 1.0, 2.5, 2.5, 20, 10, 10))) == 1
    # pieces that are too weak to be objects on their own: no split
    assert len(detectors.components(T._split_touching(mask, c, 1.0, 2.5, 2.5, 20, 50, 10))) == 1


def test_thermal_objects_splits_people_side_by_side():
    rng = np.random.default_rng(3)
    t = 120 + rng.normal(0, 1.0, (160, 200))
    t[40:120, 60:140] += _two_people(9)
    boxes = _boxes(detectors.thermal_objects(t))
    assert len(boxes) == 2, boxes
    merged = _boxes(detectors.thermal_objects(t, split_h=0))
    assert len(merged) == 1, merged


def test_two_tone_objects_score_high_where_the_mean_contrast_cancels():
    from egx_notebook.backends.analytic.measure import contrast_score, ring_contrast, two_tone_score

    rng = np.random.default_rng(0)
    frame = rng.normal(100.0, 1.0, (80, 80))
    frame[30:40, 30:40] += 12.0  # a car by day: hot body ...
    frame[30:40, 40:50] -= 12.0  # ... and cold glass, equal and opposite
    car = {"box": (30, 30, 50, 40), "mask": np.ones((10, 20), bool)}
    flat = {"box": (5, 5, 25, 15), "mask": np.ones((10, 20), bool)}  # plain ground
    mean_in, mean_out = ring_contrast(frame, car)
    assert contrast_score(mean_in - mean_out, 1.0) < 0.2  # the signed mean contrast cancels out
    assert two_tone_score(frame, car, 1.0) > 0.6
    assert two_tone_score(frame, flat, 1.0) < 0.3


def test_two_tone_score_ranks_the_tip_of_a_structure_below_a_body_on_plain_ground():
    """The same body scores lower when its ring holds a strong structure (the rest of a warm band) than on
    plain ground: the contrast counted is the part above a share of the ring's own 90th percentile."""
    from egx_notebook.backends.analytic.measure import two_tone_score

    rng = np.random.default_rng(0)
    frame = rng.normal(100.0, 1.0, (80, 160))
    frame[20:28, 20:28] += 10.0  # tip of a warm band ...
    frame[20:28, 28:80] += 9.0  # ... that runs on through its ring
    frame[50:58, 110:118] += 10.0  # the same body on plain ground
    tip = {"box": (20, 20, 28, 28), "mask": np.ones((8, 8), bool)}
    alone = {"box": (110, 50, 118, 58), "mask": np.ones((8, 8), bool)}
    assert two_tone_score(frame, tip, 1.0) < 0.8 * two_tone_score(frame, alone, 1.0)
    assert two_tone_score(frame, alone, 1.0) > 0.6


def _pair(out, d, gap=1):
    return T._pair_two_tone(out, d, gap, max_aspect=2.8, min_area=20, max_area=5000, min_fill=0.35, part_fill=0.4)


def test_pair_two_tone_joins_a_hot_bonnet_and_cold_glass():
    out = np.zeros((60, 80), bool)
    d = np.zeros(out.shape)
    out[20:34, 20:32] = True  # hot bonnet, 14 x 12
    d[20:34, 20:32] = 8.0
    out[20:34, 33:42] = True  # cold glass 1 px to the right, 14 x 9
    d[20:34, 33:42] = -8.0
    assert len(detectors.components(out)) == 2
    joined = _pair(out, d)
    assert _boxes(joined) == [(20, 20, 42, 34)]  # one car
    assert (joined & out).sum() == out.sum() and (joined & ~out).sum() == 14  # bridged by the 1 px column
    assert len(detectors.components(_pair(out, d, gap=0))) == 2  # a gap wider than allowed: not joined
    same = np.abs(d)  # two warm objects side by side (people) are never paired
    assert len(detectors.components(_pair(out, same))) == 2


def test_pair_two_tone_needs_compact_parts_and_a_car_like_union():
    out = np.zeros((80, 120), bool)
    d = np.zeros(out.shape)
    out[30:50, 20:30] = True  # a warm person, 20 x 10
    d[30:50, 20:30] = 9.0
    # an L-shaped cold shade patch beside it (1 px gap): fills 0.34 < 0.4 of its own box, while the union
    # would pass the union tests (fill 0.52, aspect 1.75)
    shade = np.zeros(out.shape, bool)
    shade[30:50, 31:35] = shade[46:50, 31:55] = True
    out |= shade
    d[shade] = -6.0
    assert len(detectors.components(_pair(out, d))) == 2
    loose = T._pair_two_tone(out, d, 1, max_aspect=2.8, min_area=20, max_area=5000, min_fill=0.35, part_fill=0.0)
    assert len(detectors.components(loose)) == 1  # without the part-shape test they would join
    # a long cold strip beside the person: union aspect 20 x 90, not a car
    strip = np.zeros((80, 120), bool)
    strip[30:50, 20:30] = strip[30:50, 31:110] = True
    d2 = np.where(strip, -6.0, 0.0)
    d2[30:50, 20:30] = 9.0
    assert len(detectors.components(_pair(strip, d2))) == 2


def test_thermal_objects_finds_a_two_tone_car_as_one_object():
    rng = np.random.default_rng(5)
    t = 300 + rng.normal(0, 0.3, (200, 240))
    t[80:104, 100:118] += 12.0  # hot bonnet
    t[80:104, 119:132] -= 12.0  # cold windscreen and roof, behind a 1 px seam at ground temperature
    boxes = _boxes(detectors.thermal_objects(t))
    assert len(boxes) == 1, boxes
    x0, y0, x1, y1 = boxes[0]
    assert x0 <= 101 and x1 >= 131 and y0 <= 81 and y1 >= 103
    assert len(detectors.components(detectors.thermal_objects(t, pair_gap=None))) == 2
