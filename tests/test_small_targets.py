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
