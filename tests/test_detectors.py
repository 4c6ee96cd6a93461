"""Tests of the analytic pure-array detectors (synthetic + real-data floors)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from egx_notebook.backends.analytic import detectors

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MASK_FUNCS = [
    lambda a, v: detectors.sar_bright_targets(a, v),
    lambda a, v: detectors.sar_water(a, v),
    lambda a, v: detectors.sar_water(a, v, cross=None if a is None else np.asarray(a) - 7.0),
    lambda a, v: detectors.thermal_hot_targets(a, v),
    lambda a, v: detectors.thermal_objects(a, v),
    lambda a, v: detectors.thermal_hot_targets(a, v, small=True),
    lambda a, v: detectors.thermal_hot_regions(a, v),
]
OPTICAL_FUNCS = [detectors.optical_water, detectors.optical_vegetation, detectors.optical_cloud,
                 detectors.optical_built_up, detectors.optical_bare_soil]


def iou(a, b):
    u = (a | b).sum()
    return (a & b).sum() / u if u else 1.0


def speckled_sea(shape=(200, 200), seed=0, mean_db=-20.0):
    rng = np.random.default_rng(seed)
    return mean_db + 10 * np.log10(rng.gamma(4.0, 0.25, shape))


# ----------------------------------------------------------------- SAR
def test_sar_bright_targets_finds_exactly_the_ships():
    db = speckled_sea()
    ships = [(30, 40, 36, 58), (120, 60, 128, 70), (150, 150, 154, 170)]  # (y0, x0, y1, x1)
    for y0, x0, y1, x1 in ships:
        db[y0:y1, x0:x1] = 5.0
    before = db.copy()
    comps = detectors.components(detectors.sar_bright_targets(db))
    np.testing.assert_array_equal(db, before)
    assert len(comps) == len(ships)
    # each ship found, box exact up to 1 px of speckle at its rim
    for y0, x0, y1, x1 in ships:
        assert any(np.abs(np.subtract(c["box"], (x0, y0, x1, y1))).max() <= 1 for c in comps)


def test_sar_bright_targets_relative_db_and_no_targets():
    rng = np.random.default_rng(1)
    dn = np.sqrt(rng.gamma(1.0, 100.0, (160, 160))).clip(1, 255)  # single-look amplitude
    dn[70:78, 80:100] = 255
    db = 20 * np.log10(np.maximum(dn, 1))
    m = detectors.sar_bright_targets(db)
    comps = detectors.components(m)
    assert len(comps) == 1 and np.abs(np.subtract(comps[0]["box"], (80, 70, 100, 78))).max() <= 1
    assert detectors.sar_bright_targets(speckled_sea(seed=3)).sum() == 0


def test_sar_bright_targets_ignores_land_and_keeps_a_large_ship():
    rng = np.random.default_rng(5)
    db = speckled_sea((400, 400), seed=4)
    db[:, 280:] = -8 + 10 * np.log10(rng.gamma(1.0, 1.0, (400, 120)))  # land strip
    db[50:150, 300:380] += 10 * (rng.random((100, 80)) < 0.3)  # town: bright points
    ships = [(40, 60, 46, 80), (250, 150, 270, 155), (330, 40, 336, 70)]  # (y0, x0, y1, x1)
    for y0, x0, y1, x1 in ships:
        db[y0:y1, x0:x1] = 5.0
    big = (60, 120, 200, 180)  # a large ship (~5 % of the scene) that outgrows the CFAR guard
    db[big[0]:big[2], big[1]:big[3]] = 8 + 10 * np.log10(rng.gamma(1.0, 1.0, (140, 60)))
    comps = detectors.components(detectors.sar_bright_targets(db))
    assert len(comps) == len(ships) + 1
    for y0, x0, y1, x1 in ships + [big]:
        assert any(np.abs(np.subtract(c["box"], (x0, y0, x1, y1))).max() <= 2 for c in comps)
    # all land (no sea): nothing, rather than every bright point of the town
    assert detectors.sar_bright_targets(db[:, 280:]).sum() < 200


def test_sar_water_lake_in_speckle():
    db = speckled_sea(mean_db=-8.0)
    lake = np.zeros(db.shape, bool)
    lake[50:150, 40:120] = True
    db[lake] = speckled_sea(seed=5, mean_db=-22.0)[lake]
    assert iou(detectors.sar_water(db), lake) > 0.9


def test_sar_water_no_dark_mode_is_empty():
    assert detectors.sar_water(speckled_sea(mean_db=-8.0)).mean() < 0.05
    vv, vh = speckled_sea(mean_db=-8.0), speckled_sea(seed=9, mean_db=-15.0)
    assert detectors.sar_water(vv, cross=vh).mean() < 0.05


def test_sar_water_joint_polarisations_and_relative_db():
    lake = np.zeros((200, 200), bool)
    lake[50:150, 40:120] = True
    vv, vh = speckled_sea(mean_db=-8.0), speckled_sea(seed=7, mean_db=-15.0)
    vv[lake] = speckled_sea(seed=5, mean_db=-21.0)[lake]
    vh[lake] = speckled_sea(seed=8, mean_db=-28.0)[lake]
    before = vh.copy()
    joint = detectors.sar_water(vv, cross=vh)
    np.testing.assert_array_equal(vh, before)
    assert iou(joint, lake) > 0.9
    # a wet field with a rougher (brighter) corner stays whole: hysteresis grows from the dark part
    assert joint[50:70, 40:60].mean() > 0.9
    # relative dB of 8-bit amplitude (20*log10(DN)): no physical clipping, same answer
    assert iou(detectors.sar_water(vv + 60.0), lake) > 0.9
    with pytest.raises(ValueError):
        detectors.sar_water(vv, cross=vh[:10])


# ----------------------------------------------------------------- thermal
def test_thermal_hot_blob_on_noisy_background():
    rng = np.random.default_rng(2)
    t = 290 + rng.normal(0, 0.3, (120, 150))
    t[60:70, 40:52] += 6.0
    m = detectors.thermal_hot_targets(t)
    comps = detectors.components(m)
    assert len(comps) == 1 and comps[0]["box"] == (40, 60, 52, 70)


def test_thermal_objects_warm_and_cold():
    """People are warm, car glass is cold: both are objects; a large warm area and a long edge are not."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[:256, :320]
    t = 120 + 0.1 * xx + rng.normal(0, 1.0, yy.shape)  # 8-bit-like frame with a gradient
    t[60:72, 50:58] += 40  # warm person (12 x 8 px) with a warmer head
    t[60:63, 52:56] += 15
    t[150:190, 200:224] -= 25  # cold car (40 x 24 px): dark glass in a slightly cool body
    t[160:172, 204:220] -= 30
    t[20:120, 260:262] += 30  # a long warm edge (kerb): too elongated
    t[150:250, 20:110] += 12  # a large warm area (sunlit roof, 9000 px > 4 % of the frame): not an object
    before = t.copy()
    comps = detectors.components(detectors.thermal_objects(t))
    np.testing.assert_array_equal(t, before)
    boxes = sorted(c["box"] for c in comps)
    assert len(boxes) == 2, boxes
    assert np.abs(np.subtract(boxes[0], (50, 60, 58, 72))).max() <= 1
    assert np.abs(np.subtract(boxes[1], (200, 150, 224, 190))).max() <= 1
    # the hot-only detector misses the cold car
    hot = detectors.components(detectors.thermal_hot_targets(t))
    assert not any(c["box"][0] >= 195 and c["box"][1] >= 145 and c["box"][2] <= 230 for c in hot)


def test_thermal_small_target():
    rng = np.random.default_rng(3)
    img = 100 + rng.normal(0, 2, (128, 160))
    yy, xx = np.mgrid[:128, :160]
    img += 60 * np.exp(-((yy - 40) ** 2 + (xx - 90) ** 2) / (2 * 1.2 ** 2))
    gt = (yy - 40) ** 2 + (xx - 90) ** 2 <= 2
    m = detectors.thermal_hot_targets(img, small=True)
    assert m[40, 90] and iou(m, gt) > 0.4


def test_thermal_hot_regions():
    rng = np.random.default_rng(4)
    t = 300 + rng.normal(0, 0.5, (100, 100))
    t[20:60, 30:80] += 8
    gt = np.zeros(t.shape, bool)
    gt[20:60, 30:80] = True
    assert iou(detectors.thermal_hot_regions(t), gt) > 0.9


# ----------------------------------------------------------------- optical
def test_spectral_indices_hand_computed():
    b = {"red": np.array([[0.1, 0.2], [0.0, 0.3]]), "nir": np.array([[0.3, 0.2], [0.0, 0.1]]),
         "green": np.array([[0.2, 0.1], [0.1, 0.5]]), "swir1": np.array([[0.1, 0.3], [0.1, 0.1]])}
    idx = detectors.spectral_indices(b)
    assert set(idx) == {"ndvi", "ndwi", "mndwi", "ndbi"}
    np.testing.assert_allclose(idx["ndvi"], [[0.5, 0.0], [np.nan, -0.5]])
    np.testing.assert_allclose(idx["ndwi"], [[-0.2, -1 / 3], [1.0, 2 / 3]])
    np.testing.assert_allclose(idx["mndwi"], [[1 / 3, -0.5], [0.0, 2 / 3]])
    np.testing.assert_allclose(idx["ndbi"], [[-0.5, 0.2], [1.0, 0.0]])
    assert set(detectors.spectral_indices({"red": b["red"], "nir": b["nir"]})) == {"ndvi"}


def _scene():
    """Left third water, middle vegetation, right built-up, one cloud block."""
    h, w = 60, 90
    b = {k: np.zeros((h, w)) for k in ("blue", "green", "red", "nir", "swir1", "swir2")}
    cls = {"water": (0.08, 0.07, 0.05, 0.03, 0.01), "veg": (0.04, 0.08, 0.05, 0.40, 0.20),
           "built": (0.15, 0.16, 0.17, 0.20, 0.28)}
    for i, name in enumerate(cls):
        for band, val in zip(("blue", "green", "red", "nir", "swir1"), cls[name]):
            b[band][:, 30 * i:30 * (i + 1)] = val
    for band, val in zip(("blue", "green", "red", "nir", "swir1"), (0.6, 0.6, 0.6, 0.6, 0.4)):
        b[band][:10, 60:90] = val
    b["swir2"] = b["swir1"] * 0.8
    return b


def test_optical_rules_on_synthetic_scene():
    b = _scene()
    water, veg = detectors.optical_water(b), detectors.optical_vegetation(b)
    cloud, built = detectors.optical_cloud(b), detectors.optical_built_up(b)
    assert water[:, :30].all() and not water[:, 30:].any()
    assert veg[:, 30:60].all() and not veg[:, :30].any() and not veg[:, 60:].any()
    assert cloud[:10, 60:].all() and cloud.sum() == 300
    assert built[10:, 60:].all() and not built[:, :60].any() and not built[:10].any()
    # scaled x10000 integers give the same answers
    b10k = {k: np.round(v * 10000) for k, v in b.items()}
    np.testing.assert_array_equal(detectors.optical_cloud(b10k), cloud)
    # RGB-only fall-backs
    rgb = {k: b[k] for k in ("blue", "green", "red")}
    assert detectors.optical_vegetation(rgb)[:, 30:60].all()
    assert detectors.optical_water(rgb)[:, :30].all()


# ----------------------------------------------------------------- helpers
def test_components_boxes_half_open():
    m = np.zeros((10, 12), bool)
    m[2:5, 3:7] = True          # 12 px
    m[8, 10] = True              # 1 px
    comps = detectors.components(m)
    assert [c["box"] for c in comps] == [(3, 2, 7, 5), (10, 8, 11, 9)]
    assert [c["area"] for c in comps] == [12, 1]
    assert comps[0]["mask"].shape == (3, 4) and comps[0]["mask"].all()
    assert comps[0]["centroid"] == (4.5, 3.0)
    assert len(detectors.components(m, min_area=2)) == 1
    d = np.eye(3, dtype=bool)
    assert len(detectors.components(d)) == 1 and len(detectors.components(d, connectivity=1)) == 3
    assert detectors.components(np.zeros((4, 4), bool)) == []


def test_label_extrema_matches_scipy():
    from scipy import ndimage as ndi

    from egx_notebook.backends.analytic.detectors_common import label_extrema
    rng = np.random.default_rng(3)
    vals = rng.normal(size=(40, 50))
    lab, n = ndi.label(rng.random((40, 50)) > 0.6)
    hi, lo = label_extrema(vals, lab, n)
    idx = np.arange(1, n + 1)
    np.testing.assert_allclose(hi[1:], ndi.maximum(vals, lab, idx))
    np.testing.assert_allclose(lo[1:], ndi.minimum(vals, lab, idx))
    assert hi[0] == -np.inf and lo[0] == np.inf


def test_robust_threshold_methods():
    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.normal(0, 1, 5000), rng.normal(10, 1, 1000), [np.nan]])
    for method in ("otsu", "kittler", "triangle"):
        assert 1.5 < detectors.robust_threshold(vals, method) < 9.0, method
    assert np.isnan(detectors.robust_threshold(np.full(5, np.nan)))
    assert detectors.robust_threshold(np.full(5, 3.0)) == 3.0


@pytest.mark.parametrize("fn", MASK_FUNCS)
def test_edge_cases_array_detectors(fn):
    for arr in (np.full((50, 50), np.nan), np.full((50, 50), 7.0), np.random.default_rng(0).normal(size=(5, 5)),
                np.zeros((1, 1))):
        m = fn(arr, None)
        assert m.dtype == bool and m.shape == arr.shape
        if not np.isfinite(arr).any() or np.ptp(arr) == 0:
            assert not m.any()


@pytest.mark.parametrize("fn", MASK_FUNCS)
def test_valid_mask_honoured(fn):
    rng = np.random.default_rng(6)
    a = rng.normal(0, 1, (80, 80))
    a[20:30, 20:30] = 20.0
    a[50:60, 50:60] = -20.0
    a[5, 5] = np.nan
    valid = np.ones(a.shape, bool)
    valid[:, :40] = False
    m = fn(a, valid)
    assert not m[:, :40].any() and not m[5, 5]


@pytest.mark.parametrize("fn", OPTICAL_FUNCS)
def test_edge_cases_optical(fn):
    b = _scene()
    valid = np.ones((60, 90), bool)
    valid[:, :45] = False
    assert not fn(b, valid)[:, :45].any()
    nan = {k: np.full((5, 5), np.nan) for k in b}
    assert not fn(nan).any()
    const = {k: np.full((5, 5), 0.2) for k in b}
    assert fn(const).shape == (5, 5)


# ----------------------------------------------------------------- real data
def _measure():
    if not DATA.is_dir():
        pytest.skip(f"real data folder {DATA} is absent")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import measure_detectors as md
    return md


def test_real_hrsid_floor():
    md = _measure()
    files = md.hrsid_files()
    if not files:
        pytest.skip("no HRSID chips")
    p, r, f, *_ = md.eval_hrsid(files)
    # measured on the 2 chips: P 0.69, R 0.61, F1 0.65 (11 of 18 ships, 16 predictions; P 0.625 / F1 0.59
    # before dimmer parallel copies of strong targets were suppressed and moored hulls broken by a short
    # gap were joined, P 0.56 / F1 0.56 before moored bodies had to be wider than 1.5 multilook windows,
    # P 0.42 / F1 0.48 with min_area 12, F1 0.08 with 249 predictions before the land mask). Ships moored
    # side by side or deep in the land mask of the harbour chip are still lost (its F1 is 0.50).
    assert p >= 0.64 and r >= 0.58 and f >= 0.61


def test_real_sen1floods11_floor():
    md = _measure()
    if not (DATA / "sen1floods11" / "sample").is_dir():
        pytest.skip("no Sen1Floods11 sample")
    pytest.importorskip("rasterio")
    res, _ = md.eval_water()
    # measured VV 0.611, VH 0.606, VV+VH 0.621 (0.573 / 0.580 before the multilook + median filter,
    # joint polarisations and hysteresis); the best single threshold of the filtered images gives ~0.63
    assert res["sar VV"] >= 0.58 and res["sar VH"] >= 0.58 and res["sar VV+VH"] >= 0.60
    assert res["optical (all bands)"] >= 0.65  # measured 0.719


def test_real_hit_uav_floor():
    md = _measure()
    files = sorted((DATA / "hit_uav" / "images").glob("*.jpg"))[::4]
    if not files:
        pytest.skip("no HIT-UAV images")
    r, p, *_ = md.eval_hit(files)
    # thermal_objects (warm or cold objects): measured on these 13: R 0.734, P 0.158; on all 49: R 0.806,
    # P 0.158 (before the high-threshold core pass and the exemption of bodies far above the structure they
    # touch: 13: R 0.73, P 0.16; 49: R 0.78, P 0.16; before warm/cold car-part pairing and min_peak 10 -> 8: 13: R 0.70, P 0.14; 49: R 0.77, P 0.15;
    # before the extended-structure filter, halo growth and split of touching objects: 13: R 0.70,
    # P 0.15; 49: R 0.71, P 0.14; the hot-only detector before that: R ~0.51, P ~0.09)
    assert r >= 0.71 and p >= 0.14


def test_real_hit_uav_referring_floor():
    md = _measure()
    files = sorted((DATA / "hit_uav" / "images").glob("*.jpg"))[::4]
    if not files:
        pytest.skip("no HIT-UAV images")
    right, total, _, fp, nbg = md.eval_refer_hit(files)
    # person vs vehicle without a pixel size (size relative to the frame); measured 86/100 right and
    # 11/100 random background boxes named an object; all 49 images: 0.88 and 0.12 (375/427, 50/427)
    # (before car-part pairing: 85/100, 11/100; 373/427, 50/427)
    assert right >= 0.82 * total and fp <= 0.2 * nbg


def test_real_sirst_floor():
    md = _measure()
    files = sorted((DATA / "sirst" / "images").glob("*.png"))
    if not files:
        pytest.skip("no SIRST images")
    overall, mean, hits, nobj, _ = md.eval_sirst(files)
    # measured 0.69 / 0.81, 17/17 hit (round 1: 0.68 / 0.79, 17/17; before: 0.52 / 0.72, 16/17)
    assert overall >= 0.65 and mean >= 0.77 and hits >= nobj - 1


def test_rgb_only_cloud_is_never_green():
    # 8-bit aerial RGB: a bright white patch is cloud-like, a bright sunlit canopy (green) is not
    rgb = {"red": np.full((20, 40), 150.0), "green": np.full((20, 40), 150.0), "blue": np.full((20, 40), 150.0)}
    rgb["red"][:, 20:], rgb["green"][:, 20:], rgb["blue"][:, 20:] = 135.0, 165.0, 120.0  # "white" by Fmask
    cloud = detectors.optical_cloud(rgb)
    assert cloud[:, :20].all() and not cloud[:, 20:].any()
