"""Tests of the SAR ship detector's ship-level rules on synthetic scenes: moored ships (harbour scenes),
hulls broken by a short dark gap, dimmer parallel copies (sidelobes / ambiguities) of strong targets."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from egx_notebook.backends.analytic import detectors, detectors_sar
from egx_notebook.backends.analytic.detectors_sar import _MOORED_MIN_WIDTH, _ship_like
from egx_notebook.eval.metrics import box_iou

SHIP = (40, 185, 120, 198)  # (y0, x0, y1, x1): a 13 px wide hull moored flush against the quay at x = 200


def harbour(seed=0, wall=True, ship=True):
    """Speckled sea (x < 200) beside a bright, smooth quay apron; optionally a 2 px bright quay-wall
    line (double bounce) at the water's edge and a ship moored against the quay."""
    rng = np.random.default_rng(seed)
    db = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (300, 300)))
    db[:, 200:] = -6 + 10 * np.log10(rng.gamma(100.0, 0.01, (300, 100)))
    if wall:
        db[190:280, 198:200] = 10.0
    if ship:
        y0, x0, y1, x1 = SHIP
        db[y0:y1, x0:x1] = 5.0 + 10 * np.log10(rng.gamma(4.0, 0.25, (y1 - y0, x1 - x0)))
    return db


@pytest.mark.parametrize("seed", [0, 1])
def test_moored_ship_kept_and_quay_wall_line_rejected(seed):
    comps = detectors.components(detectors.sar_bright_targets(harbour(seed)))
    # the ship is found (its box grows by the 5 x 5 multilook at most), the wall line is not a ship
    assert len(comps) == 1
    y0, x0, y1, x1 = SHIP
    assert np.abs(np.subtract(comps[0]["box"], (x0, y0, x1, y1))).max() <= 2
    assert not detectors.sar_bright_targets(harbour(seed, ship=False)).any()


def test_ship_like_width_test():
    """An elongated, well filled, bright body passes unless it is thinner than the least moored width
    (a multilook-blurred bright line); without the width test both pass."""
    thin = np.ones((70, 6), bool)   # a quay line blurred by the 5 x 5 multilook
    hull = np.ones((70, 13), bool)
    for m, ok in ((thin, False), (hull, True)):
        vals = np.full(int(m.sum()), 40.0)
        assert bool(_ship_like(m, vals, 20.0, 14.0, 2.5, 0.55, None, 8.0, _MOORED_MIN_WIDTH)) is ok
        assert _ship_like(m, vals, 20.0, 14.0, 2.5, 0.55, None, 8.0)


def split_hull(seed=0, gap=7):
    """The harbour scene with a 13 px wide hull moored against the quay and broken across by a dark gap
    of ``gap`` rows (a dim mid-ship section): each half alone is too stubby to pass the moored-ship test."""
    rng = np.random.default_rng(seed)
    db = harbour(seed, ship=False)
    y0, x0, y1, x1 = HULL
    db[y0:y1, x0:x1] = 5.0 + 10 * np.log10(rng.gamma(4.0, 0.25, (y1 - y0, x1 - x0)))
    mid = (y0 + y1) // 2 - gap // 2
    db[mid:mid + gap, x0:x1] = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (gap, x1 - x0)))
    return db


HULL = (40, 185, 104, 198)  # (y0, x0, y1, x1)


@pytest.mark.parametrize("seed", [0, 1])
def test_moored_hull_split_by_short_gap_is_one_ship(seed, monkeypatch):
    y0, x0, y1, x1 = HULL
    comps = detectors.components(detectors.sar_bright_targets(split_hull(seed)))
    assert len(comps) == 1
    assert np.abs(np.subtract(comps[0]["box"], (x0, y0, x1, y1))).max() <= 2
    # a long gap (two separate boats in a row) is not bridged: the halves stay too stubby to be ships
    assert not detectors.sar_bright_targets(split_hull(seed, gap=15)).any()
    # without the join the halves are lost
    monkeypatch.setattr(detectors_sar, "_collinear_pairs", lambda *a, **k: [])
    assert not detectors.sar_bright_targets(split_hull(seed)).any()


def test_collinear_pairs_only_joins_pieces_in_line():
    lab = np.zeros((80, 80), np.int32)
    lab[5:25, 10:16] = 1    # elongated piece (vertical)
    lab[29:40, 10:16] = 2   # continues it 4 px below: joined
    lab[5:25, 20:26] = 3    # parallel neighbour 4 px to the side (a ship berthed alongside): not joined
    lab[50:62, 50:62] = 4   # square piece
    lab[50:62, 65:70] = 5   # beside the square: no axis to continue, not joined
    eligible = np.ones(6, bool)
    eligible[0] = False
    sls = ndi.find_objects(lab)
    pairs = {tuple(sorted(p)) for p in detectors_sar._collinear_pairs(lab, sls, eligible, 5, 20.0)}
    assert pairs == {(1, 2)}
    # a gap longer than allowed is not joined
    assert not detectors_sar._collinear_pairs(lab, sls, eligible, 3, 20.0)


def ghost_pair(dimmer_db=6.0, angle="parallel"):
    """A strong target (40 x 10 px, 40 dB) and a thin streak (30 x 3 px, 0.225 of its area) 4 px beside it,
    ``dimmer_db`` dimmer; ``angle="across"`` lays a 24 x 4 px streak across the target's axis instead."""
    db = np.full((100, 100), 0.0)
    det = np.zeros((100, 100), bool)
    det[30:70, 40:50] = True
    db[30:70, 40:50] = 40.0
    streak = (slice(35, 65), slice(54, 57)) if angle == "parallel" else (slice(51, 55), slice(52, 76))
    det[streak] = True
    db[streak] = 40.0 - dimmer_db
    return det, db


def test_dimmer_parallel_copy_of_strong_target_is_suppressed():
    det, db = ghost_pair()
    # 0.225 of the target's area: too big for the plain area rule
    assert detectors_sar._suppress_satellites(det, 0.5).sum() == det.sum()
    out = detectors_sar._suppress_satellites(det, 0.5, db=db)
    assert out.sum() == 400 and out[30:70, 40:50].all()
    # as bright as the target (a second ship alongside), or lying across it: kept
    det, db = ghost_pair(dimmer_db=0.0)
    assert detectors_sar._suppress_satellites(det, 0.5, db=db).sum() == det.sum()
    det, db = ghost_pair(angle="across")
    assert detectors_sar._suppress_satellites(det, 0.5, db=db).sum() == det.sum()


# ----------------------------------------------------------------- large ships that the coarse land mask swallows
def hull_mask(size=400, cx=260, cy=200, half_len=110, half_beam=22, angle=0.5):
    """A box-like superellipse hull (220 x 44 px, tilted ``angle`` rad): a large ship at ~1 m pixels."""
    yy, xx = np.mgrid[0:size, 0:size]
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    w = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    return np.abs(u / half_len) ** 4 + np.abs(w / half_beam) ** 2 <= 1


def big_dim_ship(seed=0, size=400):
    """Speckled sea with a coast on the left and a large hull in open water only 11 dB above the sea (its
    2 px rim 6 dB brighter): dimmer than a bright ship candidate, so the coarse land mask makes it an
    island."""
    rng = np.random.default_rng(seed)
    db = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (size, size)))
    db[:, :80] = -8 + 10 * np.log10(rng.gamma(4.0, 0.25, (size, 80)))
    m = hull_mask(size)
    level = np.where(m & ~ndi.binary_erosion(m, iterations=2), -3.0, -9.0)
    db = np.where(m, level + 10 * np.log10(rng.gamma(4.0, 0.25, m.shape)), db)
    ys, xs = np.nonzero(m)
    return db, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_large_dim_ship_island_is_one_ship(seed, monkeypatch):
    db, box = big_dim_ship(seed)
    comps = detectors.components(detectors.sar_bright_targets(db))
    assert len(comps) == 1
    assert box_iou(np.array([comps[0]["box"]], float), np.array([box], float))[0, 0] >= 0.85
    # without the ship-shaped island rule the hull is land: nothing, or only a strip of it, is found
    monkeypatch.setattr(detectors_sar, "_ship_island", lambda *a, **k: False)
    comps = detectors.components(detectors.sar_bright_targets(db))
    assert all(box_iou(np.array([c["box"]], float), np.array([box], float))[0, 0] < 0.5 for c in comps)


def test_ship_island_shape_rule():
    hull = hull_mask(120, 60, 60, 50, 10, 0.3)
    assert detectors_sar._ship_island(hull, (False,) * 4)
    # a round island, an irregular (L-shaped) one, and a coast strip running along the chip edge are land
    yy, xx = np.mgrid[0:80, 0:80]
    assert not detectors_sar._ship_island(np.hypot(yy - 40, xx - 40) < 35, (False,) * 4)
    ell = np.zeros((100, 100), bool)
    ell[:, :20] = True
    ell[80:, :] = True
    assert not detectors_sar._ship_island(ell, (False,) * 4)
    strip = np.ones((100, 15), bool)
    assert detectors_sar._ship_island(strip, (False,) * 4)
    assert not detectors_sar._ship_island(strip, (False, False, False, True))  # its long side on the edge
    assert detectors_sar._ship_island(strip, (True, False, False, False))      # its beam on the edge


def test_textured_island_body_goes_back_to_land(monkeypatch):
    """A ship-shaped island whose body is a mix of strong scatterers and dark gaps (urban or port land
    clutter) fails the full-resolution test; a speckled hull of the same shape passes."""
    rng = np.random.default_rng(0)
    m = hull_mask(200, 100, 100, 80, 16, 0.0)
    ilab = m.astype(np.int32)
    v = np.ones(m.shape, bool)
    hull = -5 + 10 * np.log10(rng.gamma(4.0, 0.25, m.shape))
    blocks = ndi.zoom(rng.random((26, 26)), 8, order=0)[:200, :200]
    urban = np.where(blocks < 0.35, -20.0, np.where(blocks < 0.9, -10.0, 10.0)) + hull + 5
    assert detectors_sar._failed_islands(m, ilab, hull, v, 2.5, 0.55).size == 0
    assert list(detectors_sar._failed_islands(m, ilab, urban, v, 2.5, 0.55)) == [1]
    monkeypatch.setattr(detectors_sar, "_ISLAND_MAX_CV", np.inf)
    assert detectors_sar._failed_islands(m, ilab, urban, v, 2.5, 0.55).size == 0


def inshore(seed=0, gap=10):
    """Speckled sea beside bright, speckled land (x >= 200) and a 13 x 80 px ship ``gap`` px off the coast
    (at anchor close inshore, water between it and the land)."""
    rng = np.random.default_rng(seed)
    db = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (300, 300)))
    db[:, 200:] = -3.0 + 10 * np.log10(rng.gamma(1.0, 1.0, (300, 100)))
    x1 = 200 - gap
    db[60:140, x1 - 13:x1] = -3.0 + 10 * np.log10(rng.gamma(4.0, 0.25, (80, 13)))
    return db, (x1 - 13, 60, x1, 140)


@pytest.mark.parametrize("gap", [8, 16])
def test_ship_close_inshore_is_kept(gap, monkeypatch):
    db, box = inshore(0, gap)
    comps = detectors.components(detectors.sar_bright_targets(db))
    assert len(comps) == 1
    assert np.abs(np.subtract(comps[0]["box"], box)).max() <= 2
    # without the rule the land context test rejects it and it does not touch the land for the moored pass
    monkeypatch.setattr(detectors_sar, "_coastal_ships", lambda rej, *a, **k: np.zeros(rej.shape, bool))
    assert not detectors.sar_bright_targets(db).any()


def test_fragment_beside_bright_candidate_counts_it_as_land():
    """A small detection beside a large bright candidate body (not overlapping it) is a fragment of its
    rim: the candidate counts as land in its context ring. The candidate's own detection is not affected."""
    shape = (200, 200)
    v = np.ones(shape, bool)
    land = np.zeros(shape, bool)
    cand = np.zeros(shape, np.int32)
    cand[50:150, 50:150] = 1                 # a bright body of the coarse segmentation (land clutter?)
    det = np.zeros(shape, bool)
    det[90:110, 90:110] = True               # its own detection (its brightest part)
    det[95:103, 151:159] = True              # a fragment just outside its rim
    det[20:28, 20:28] = True                 # a target in open sea, far from it
    kept = detectors_sar._land_context(det, land, v, 8, 24, 0.1, cand)
    assert kept[100, 100] and kept[24, 24] and not kept[99, 155]
    # without the candidates in the context the fragment is kept
    assert detectors_sar._land_context(det, land, v, 8, 24, 0.1)[99, 155]


def test_land_rim_marks_the_rounded_off_land_edge():
    """The coarse land mask stops 30 px short of the bright land: up to 16 px of that are its rim, the
    speckled sea and a ship beyond the reach are not; a scatterer next to the rim fails the context test."""
    rng = np.random.default_rng(0)
    db = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (200, 200)))
    db[:, 140:] = 0.0 + 10 * np.log10(rng.gamma(1.0, 1.0, (200, 60)))
    db[80:120, 100:106] = 0.0                # a ship 34 px off the coast
    v = np.ones(db.shape, bool)
    land = np.zeros(db.shape, bool)
    land[:, 170:] = True                     # the coarse mask, rounded off by 30 px
    rim = detectors_sar._land_rim(db, v, land, -10.0, detectors_sar._RIM_PX)
    assert rim[:, 156:170].mean() > 0.95
    assert not rim[:, :130].any() and not rim[:, 170:].any()
    det = np.zeros(db.shape, bool)
    det[20:24, 141:145] = True               # a bright scatterer on the land, outside the coarse mask
    det[80:120, 100:106] = True
    assert detectors_sar._land_context(det, land, v, 8, 24, 0.1)[22, 142]
    kept = detectors_sar._land_context(det, land | rim, v, 8, 24, 0.1)
    assert not kept[22, 142] and kept[100, 102]


def test_ship_shaped_bump_of_the_coast_is_a_candidate(monkeypatch):
    """A 200 x 36 px hull moored head-on against the coast merges into the coarse land mask; opening the
    land with a disk wider than the hull splits it off as a ship-shaped candidate. A straight coast with
    no bump gives none."""
    rng = np.random.default_rng(0)
    db = -20 + 10 * np.log10(rng.gamma(4.0, 0.25, (800, 800)))
    db[:, 600:] = 0.0 + 10 * np.log10(rng.gamma(1.0, 1.0, (800, 200)))
    db[300:336, 400:600] = 0.0 + 10 * np.log10(rng.gamma(4.0, 0.25, (36, 200)))
    v = np.ones(db.shape, bool)
    land, cand, clab, d, t, shaped = detectors_sar._land_sea(db, v)
    assert t is not None and cand[318 // d, 480 // d] and shaped[318 // d, 480 // d]
    assert land[400 // d, 700 // d]
    monkeypatch.setattr(detectors_sar, "_BUMP_R", 0)
    land, cand, clab, d, t, shaped = detectors_sar._land_sea(db, v)
    assert land[318 // d, 480 // d] and not cand.any()
