"""Injection check of the infrared small-target detector on real SIRST backgrounds.

Dev script (not part of the product). SIRST has few labelled frames here, so this measures how the
``thermal_hot_targets(small=True)`` detector generalises to targets it was not tuned on:

1. every scored SIRST frame is read along the product path (``scene.overview()`` -> the analytic backend's
   primary band and valid mask);
2. its labelled targets are painted out (the mask dilated by 3 px is filled by normalised Gaussian
   convolution of the pixels around it), leaving a real background (sky, cloud, sea, ground clutter);
3. ``--per-image`` trials per frame add ONE synthetic point target: an isotropic Gaussian (sigma drawn from
   0.6 / 1.0 / 1.5 / 2.2 px, the blur of a point source through IR optics) of peak amplitude drawn uniformly in
   15-60 % of the frame's 1-99 % range, at a random sub-pixel position at least 8 px from the border and 15 px
   from the painted-out targets; integer-valued frames are rounded back to integers (the sensor digitises
   after the optics) and 8-bit frames clipped at 255;
4. the injected target's TRUE EXTENT is defined as the pixels where the added Gaussian is at least a fraction
   of its peak amplitude (at least the pixel nearest the centre), for each ``--extent-frac``: 0.5 (half its
   peak, the FWHM disc) and 0.25 (the level at which the SIRST masks here are drawn: a fixed fraction of the
   amplitude above the local background that best reproduces the labelled masks is 0.25 on dev and 0.30 on
   held-out, measured with the masks' own positions).

Printed, overall and (``--verbose``) per sigma: Pd (the injected target detected by the DNANet centroid rule of
``egx_notebook.eval.small_targets``, 3 px, against the first extent), Fa in ppm (pixels of predicted
components that detected nothing, per pixel) and, per extent fraction, the mean IoU of the predicted extent
(the predicted components that detected the target) with the true extent, over detected targets. Everything
is drawn from ``--seed``, so runs are comparable; pass detector keyword arguments with ``--kw`` to compare
variants on the same trials in one run::

    python scripts/sirst_injection.py [--data ../shared/data] [--split all|dev|held-out] [--per-image 12]
                                      [--seed 0] [--extent-frac 0.5 0.25]
                                      [--kw "cells=(3, 5, 7), grey_floor=False, max_targets=None"]
                                      [--kw ""] [--verbose]

Each ``--kw`` holds keyword arguments with literal values, e.g. ``--kw "k=4.5, cells=(3, 5, 7)"``; no ``--kw``
runs the detector's defaults. The previous (round 1) detector is
``--kw "cells=(3, 5, 7), grey_floor=False, max_targets=None"``. About 5 s per variant (15 frames x 12
trials) plus ~2 s to read the frames.
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from egx_notebook.backends.analytic import detectors as D
from egx_notebook.backends.analytic.evidence import Evidence
from egx_notebook.eval.datasets import load_dataset
from egx_notebook.eval.small_targets import small_target_counts

SIGMAS = (0.6, 1.0, 1.5, 2.2)
AMPLITUDE = (0.15, 0.60)  # of the frame's 1-99 % range
BORDER, KEEP_OUT, PAINT = 8, 15, 3  # px


def frames(data, split):
    """(key, primary band, valid mask, ground-truth mask) of every scored SIRST frame, as the backend sees it."""
    ds = load_dataset("sirst", data=str(data), split=split)
    out = []
    for key in ds.keys:
        for item in ds.items(key):
            if item.skip:
                continue
            ev = Evidence(item.open().overview())
            out.append((key, np.asarray(ev.primary, float), ev.valid, item.mask))
    return out


def paint_out(x, mask, sigma=3.0):
    """x with the pixels of ``mask`` replaced by a normalised Gaussian average of the pixels outside it."""
    w = (~mask).astype(float)
    num = ndi.gaussian_filter(np.where(mask, 0.0, x), sigma)
    den = ndi.gaussian_filter(w, sigma)
    y = x.copy()
    y[mask] = (num / np.maximum(den, 1e-6))[mask]
    return y


def trials(frames_, per_image, seed, extent_fracs):
    """Injected frames: dicts with key, image, valid, true extents ``inj`` (one per fraction) and the draw."""
    rng = np.random.default_rng(seed)
    out = []
    for key, p, v, gt in frames_:
        h, w = p.shape
        base = paint_out(p, ndi.binary_dilation(gt, iterations=PAINT))
        keep_out = ndi.binary_dilation(gt, iterations=KEEP_OUT) | ~v
        lo, hi = np.percentile(p[v], [1, 99])
        top = 255.0 if p[v].max() <= 255 else np.inf
        digital = bool(np.all(p[v] == np.round(p[v])))
        yy, xx = np.mgrid[:h, :w]
        for _ in range(per_image):
            while True:
                cy, cx = rng.uniform(BORDER, h - BORDER), rng.uniform(BORDER, w - BORDER)
                if not keep_out[int(cy), int(cx)]:
                    break
            s = float(rng.choice(SIGMAS))
            amp = float(rng.uniform(*AMPLITUDE)) * (hi - lo)
            g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
            img = np.minimum(base + amp * g, max(top, float(p.max())))
            if digital:
                img = np.round(img)
            inj = [g >= f for f in extent_fracs]
            for m in inj:
                m[round(min(cy, h - 1)), round(min(cx, w - 1))] = True
            out.append({"key": key, "p": img, "v": v, "inj": inj, "sigma": s, "amp": amp / (hi - lo)})
    return out


def extent_iou(pred, inj):
    """IoU of the predicted components that hold or touch the injected extent with that extent (0 if none)."""
    lab, _ = ndi.label(pred, structure=np.ones((3, 3), bool))
    ids = np.unique(lab[ndi.binary_dilation(inj, iterations=3) & pred])
    hit = np.isin(lab, ids[ids > 0])
    union = (hit | inj).sum()
    return float((hit & inj).sum() / union) if union else 0.0


def score(tr, kwargs):
    """Per sigma and overall: [detected, trials, false px, px, sum of extent IoUs over detected...]; seconds."""
    acc = {s: np.zeros(4 + len(tr[0]["inj"])) for s in (*SIGMAS, "all")}
    t0 = time.perf_counter()
    for t in tr:
        pred = D.thermal_hot_targets(t["p"], t["v"], small=True, **kwargs)
        st = small_target_counts(pred, t["inj"][0], t["v"])
        ious = [extent_iou(pred, m) if st.detected else 0.0 for m in t["inj"]]
        row = np.array([st.detected, 1, st.false_pixels, st.pixels, *ious])
        acc[t["sigma"]] += row
        acc["all"] += row
    return acc, time.perf_counter() - t0


def parse_kw(text):
    """'a=1, b=(3, 5), c="x"' -> {'a': 1, 'b': (3, 5), 'c': 'x'} (keyword arguments with literal values)."""
    if not text.strip():
        return {}
    call = ast.parse(f"f({text})", mode="eval").body
    if call.args:
        raise SystemExit(f"--kw takes name=value pairs, got {text!r}")
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--split", default="all", choices=("all", "dev", "held-out"))
    ap.add_argument("--per-image", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extent-frac", type=float, nargs="+", default=[0.5, 0.25],
                    help="true extent: Gaussian >= this fraction of its peak (one IoU column each)")
    ap.add_argument("--kw", action="append", default=None,
                    help="detector kwargs, e.g. 'k=4.5, cells=(3, 5, 7)'; '' = defaults")
    ap.add_argument("--verbose", action="store_true", help="also print Pd / IoU per sigma")
    a = ap.parse_args(argv)
    data = Path(a.data) / "sirst"
    if not data.is_dir():
        sys.exit(f"no SIRST folder at {data}: pass --data (the folder holding sirst/)")
    fr = frames(a.data, a.split)
    tr = trials(fr, a.per_image, a.seed, a.extent_frac)
    print(f"{len(fr)} frames ({a.split}) x {a.per_image} = {len(tr)} injected targets, seed {a.seed}; "
          f"IoU@f: true extent = Gaussian >= f x its peak, mean over detected targets")
    heads = "".join(f"{'IoU@' + format(f, 'g'):>9s}" for f in a.extent_frac)
    labels = [text or "(defaults)" for text in a.kw or [""]]
    wid = max(32, *map(len, labels))
    print(f"{'detector kwargs':{wid}s} {'Pd':>6s} {'Fa ppm':>8s}{heads} {'s/frame':>8s}")
    for text in a.kw or [""]:
        acc, sec = score(tr, parse_kw(text))
        d, n, fp, px, *iou = acc["all"]
        cols = "".join(f"{x / max(d, 1):9.3f}" for x in iou)
        print(f"{text or '(defaults)':{wid}s} {d / n:6.3f} {fp / px * 1e6:8.1f}{cols} {sec / n:8.4f}")
        if a.verbose:
            for s in SIGMAS:
                d, n, fp, px, *iou = acc[s]
                cols = ", ".join(f"IoU@{f:g} {x / max(d, 1):.3f}" for f, x in zip(a.extent_frac, iou))
                print(f"  sigma {s:3.1f}: Pd {d / n:.3f} ({int(d)}/{int(n)}), Fa {fp / px * 1e6:7.1f} ppm, {cols}")


if __name__ == "__main__":
    main()
