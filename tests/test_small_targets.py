"""Infrared small-target selection (``thermal_hot_targets(small=True)``) on synthetic frames."""
import numpy as np
from scipy import ndimage as ndi

from egx_notebook.backends.analytic import detectors


def _psf(shape, cy, cx, amp, sigma=1.2):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))


def test_faint_target_on_smooth_sky_beats_bright_blob_in_clutter():
    """A bright compact blob inside strong clutter (cloud texture) has more contrast than a faint point
    target on smooth sky; its low signal-to-clutter ratio must make the faint target the one returned."""
    rng = np.random.default_rng(5)
    shape = (160, 200)
    img = 100 + rng.normal(0, 1.0, shape)
    clutter = ndi.gaussian_filter(rng.normal(0, 1, shape), 1.5)
    clutter *= 40 / clutter.std()
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    patch = (abs(yy - 50) < 25) & (abs(xx - 150) < 25)
    img += np.where(patch, clutter, 0) + _psf(shape, 50, 150, 120, 1.5)
    img += _psf(shape, 110, 50, 45)
    m = detectors.thermal_hot_targets(img, small=True)
    assert m[108:113, 48:53].any(), "the faint target on smooth sky is missed"
    assert not m[patch].any(), "the blob inside clutter is kept"


def test_second_similar_target_in_mild_clutter_is_kept():
    """Two targets of the same brightness, one on smooth sky and one on a noisier background: the second's
    score is lower, but its contrast is similar and its signal-to-clutter ratio high, so both are kept."""
    rng = np.random.default_rng(8)
    shape = (160, 200)
    noise = np.where(np.arange(shape[1])[None, :] < 100, 0.5, 4.0)
    img = 100 + rng.normal(0, 1, shape) * noise
    img += _psf(shape, 80, 50, 70) + _psf(shape, 80, 150, 70)
    comps = detectors.components(detectors.thermal_hot_targets(img, small=True))
    centres = sorted(((c["box"][0] + c["box"][2]) / 2, (c["box"][1] + c["box"][3]) / 2) for c in comps)
    assert len(centres) == 2
    assert abs(centres[0][0] - 50.5) <= 2 and abs(centres[1][0] - 150.5) <= 2


def test_flat_background_does_not_break_selection():
    """A quantised frame (flat rings, zero clutter std, like several SIRST PNGs): the target is kept alone,
    neither a flat plateau's edge nor a faint 2 x 2 speck is returned."""
    img = np.full((120, 140), 50.0)
    img[30:60, 80:120] = 80.0  # a flat plateau: an edge, not a target
    img[20:22, 20:22] += 4.0  # a faint speck
    img += np.round(_psf(img.shape, 90, 40, 100, 1.3))
    m = detectors.thermal_hot_targets(img, small=True)
    comps = detectors.components(m)
    assert len(comps) == 1 and m[90, 40]


def test_two_pixel_target_is_not_diluted_by_three_pixel_cells():
    """A 2 x 2 px target (a point source sampled by the optics) and a wider blob 1.5 x as bright: both are
    targets. The 2 px patch-contrast cell keeps the small one's full contrast; 3 px cells average it with five
    background pixels, so it fell below the keep ratio (fails if ``cells`` loses the 2 px cell)."""
    shape = (120, 160)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        img = 100 + rng.normal(0, 2.0, shape)
        img[60:62, 40:42] += 20
        img += _psf(shape, 60, 120, 30, 2.0)
        m = detectors.thermal_hot_targets(img, small=True)
        assert m[59:63, 39:43].any(), f"seed {seed}: the 2 x 2 px target is dropped"
        assert m[55:66, 115:126].any(), f"seed {seed}: the wider target is dropped"


def test_one_grey_level_blip_on_flat_sky_is_not_a_target():
    """An 8-bit, compressed-looking frame: flat sky with a +2 grey-level blip, and a real target of 15 grey
    levels in a noisy patch. On flat sky the ring spread is 0, so without a floor of one grey level the blip's
    signal-to-clutter ratio is huge (fails with ``grey_floor=False``)."""
    shape = (120, 160)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    noisy = (abs(yy - 80) < 20) & (abs(xx - 50) < 25)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        img = np.full(shape, 62.0)
        img[:, :20] = 61.0
        img[30, 120] += 2
        img = np.round(img + np.where(noisy, rng.normal(0, 3, shape), 0) + _psf(shape, 80, 50, 15))
        m = detectors.thermal_hot_targets(img, small=True)
        assert m[78:83, 48:53].any(), f"seed {seed}: the target is missed"
        assert not m[29:32, 119:122].any(), f"seed {seed}: the 2-grey-level blip is kept"


def test_at_most_three_targets_are_kept():
    """Six alike point targets (a crowd, e.g. near-threshold noise peaks or a texture): the ``max_targets``
    best (3) are kept, not all of them; ``max_targets=None`` keeps all six."""
    rng = np.random.default_rng(2)
    shape = (120, 200)
    img = 100 + rng.normal(0, 1.0, shape)
    for j in range(6):
        img += _psf(shape, 60, 20 + 30 * j, 40 + j)
    assert len(detectors.components(detectors.thermal_hot_targets(img, small=True))) == 3
    assert len(detectors.components(detectors.thermal_hot_targets(img, small=True, max_targets=None))) == 6
