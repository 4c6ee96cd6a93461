"""Generalisation check of the SAR ship detector by target injection on the HRSID chips.

Dev script (not part of the product). The two labelled HRSID chips in ../shared/data hold only 18 ships,
so a rule tuned on them can over-fit. This script pastes ship-like targets at random sea positions of
each chip and measures how many the detector (``sar_bright_targets``) finds, and how many false alarms
it raises on the untouched background:

* ``real``: the ground-truth ships of the OTHER chip (pixels inside their instance masks), randomly
  rotated and scaled 0.6-1.5x, their dB levels shifted by the difference of the two chips' sea medians
  (so a ship keeps its contrast to the sea);
* ``synth``: bright elongated ellipses (length 12-110 px, length/width 2.5-7) with fully developed
  speckle (exponential intensity, one look) at a mean level drawn from the real ships' levels above
  the sea (median and spread of the ground-truth ship pixels in dB above the chip's sea median);
* ``bigR``: large ships (at 0.5-1 m pixels, as in HRSID's TerraSAR-X / TanDEM-X chips): a hull-shaped
  ground-truth ship of the other chip (>= 30 px long) scaled to a length of 100-300 px and dimmed by
  0-8 dB, its mean reflectivity interpolated and given fresh one-look speckle;
* ``bigS``: large synthetic hulls (box-like, 100-300 px long, length/beam 3-7) 8-16 dB above the sea
  with a 6 dB brighter rim and a few bright point scatterers (``large`` in the totals: both big kinds).

Then pieces of real land clutter (``land_piece``: irregular ``isle`` outlines and straight-edged
elongated ``pier`` blocks, cut from the chips' land) are pasted in open sea: every detection on them
is a false alarm (the price of the ship-shaped island rule is read here; a prediction that matches a
ground-truth ship at IoU >= 0.5 but whose box reaches into a piece's box is counted, and also shown apart).

Positions are drawn in two zones of the chip's sea (the coarse land / sea split of the detector,
``_land_sea``): ``open`` (every target pixel at least 40 px from land) and ``coast`` (the target's
nearest pixel at most 6 px from land, i.e. moored or close inshore). Targets stay out of the ground-truth
ships' boxes (grown by 8 px) nor each other. Scores: ``recall`` = pasted targets matched at box IoU >= 0.5;
``prec`` = among predictions overlapping a pasted target, the fraction that match one (fragments and
merges count against it); ``FA/img`` = predictions overlapping neither a pasted target nor a ground-truth
ship (false alarms on the untouched background), beside the same count on the untouched chip (``FA0``).
Deterministic (seed 0; each group of kinds has its own random stream); about 30 s on one core.

    python scripts/hrsid_injection.py [--trials 6] [--per 5] [--large-per 2] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "hrsid" / "data"

from egx_notebook.backends.analytic import detectors as D
from egx_notebook.backends.analytic import detectors_sar as S
from egx_notebook.eval.metrics import box_iou, match_boxes
from egx_notebook.eval.readers import instance_colour_boxes


def load(path):
    """A chip as relative dB (20 log10 DN), its ground-truth objects, its land and sea masks and sea level."""
    db = 20.0 * np.log10(np.maximum(np.asarray(Image.open(path))[..., 0].astype(np.float64), 1.0))
    objs = instance_colour_boxes(path.with_name(path.stem + "_instance_id_RGB.png"))
    v = np.ones(db.shape, bool)
    land_c, _, _, d, t, _ = S._land_sea(db, v)
    land = S.upsample_blocks(land_c, d, db.shape) if t is not None else np.zeros(db.shape, bool)
    gt = np.zeros(db.shape, bool)
    for o in objs:
        gt |= o["mask"]
    sea = ~land & ~gt
    return {"name": path.stem.split("_")[0], "db": db, "objs": objs, "land": land, "gt": gt,
            "sea_db": float(np.median(db[sea])), "dist": ndi.distance_transform_edt(~land)}


def real_templates(chip):
    """(mask, dB above the sea) of each ground-truth ship, cropped to its box."""
    out = []
    for o in chip["objs"]:
        x0, y0, x1, y1 = o["box"]
        m = o["mask"][y0:y1, x0:x1]
        out.append((m, np.where(m, chip["db"][y0:y1, x0:x1] - chip["sea_db"], 0.0)))
    return out


def transform(m, excess, rng):
    """Randomly rotated (0-180 deg) and scaled (0.6-1.5x) copy of a template (nearest neighbour: keeps the
    speckle's pixel statistics)."""
    s = rng.uniform(0.6, 1.5)
    ang = rng.uniform(0.0, 180.0)
    m2 = ndi.zoom(m.astype(np.uint8), s, order=0)
    e2 = ndi.zoom(excess, s, order=0)
    m2 = ndi.rotate(m2, ang, order=0, reshape=True) > 0
    e2 = ndi.rotate(e2, ang, order=0, reshape=True)
    if not m2.any():
        return None
    ys, xs = np.nonzero(m2)
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return m2[sl], np.where(m2[sl], e2[sl], 0.0)


def synth_template(levels, rng):
    """A speckled bright ellipse: random length, aspect and angle; mean level drawn from the real ships."""
    L = rng.uniform(12.0, 110.0)
    W = max(4.0, L / rng.uniform(2.5, 7.0))
    ang = np.radians(rng.uniform(0.0, 180.0))
    r = int(np.ceil(L / 2)) + 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(float)
    u = xx * np.cos(ang) + yy * np.sin(ang)
    w = -xx * np.sin(ang) + yy * np.cos(ang)
    m = (u / (L / 2)) ** 2 + (w / (W / 2)) ** 2 <= 1.0
    ys, xs = np.nonzero(m)
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    m = m[sl]
    mean = rng.choice(levels) + rng.normal(0.0, 1.0)
    return m, np.where(m, mean + speckle(m.shape, rng), 0.0)


def speckle(shape, rng):
    """Fully developed one-look speckle in dB (exponential intensity with unit mean)."""
    return 10.0 * np.log10(np.maximum(rng.exponential(1.0, shape), 1e-6))


def large_real(m, excess, rng):
    """A ground-truth ship scaled to a length of 100-300 px (a large ship at 0.5-1 m pixels), rotated, and
    dimmed by 0-8 dB. The mean reflectivity (5 x 5 mean of linear power) is interpolated and multiplied by
    fresh one-look speckle: a finer pixel has its own speckle, a nearest-neighbour blow-up would not."""
    s = rng.uniform(100.0, 300.0) / max(m.shape)
    p = np.where(m, 10.0 ** (excess / 10.0), 0.0)
    mean = ndi.uniform_filter(p, 5) / np.maximum(ndi.uniform_filter(m.astype(float), 5), 1e-6)
    ang = rng.uniform(0.0, 180.0)
    m2 = ndi.rotate(ndi.zoom(m.astype(float), s, order=1), ang, order=1, reshape=True) > 0.5
    mean2 = ndi.rotate(ndi.zoom(np.where(m, mean, 0.0), s, order=1), ang, order=1, reshape=True)
    if m2.sum() < 50:
        return None
    ys, xs = np.nonzero(m2)
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    m2 = m2[sl]
    ex = 10.0 * np.log10(np.maximum(mean2[sl], 1e-6)) - rng.uniform(0.0, 8.0) + speckle(m2.shape, rng)
    return m2, np.where(m2, ex, 0.0)


def large_synth(rng):
    """A large speckled hull (length 100-300 px, length/width 3-7, a box-like superellipse) with a mean
    level 8-16 dB above the sea, a 6 dB brighter rim 2 px wide (hull side: double bounce) and a few bright
    point scatterers (superstructure)."""
    L = rng.uniform(100.0, 300.0)
    W = L / rng.uniform(3.0, 7.0)
    ang = np.radians(rng.uniform(0.0, 180.0))
    r = int(np.ceil(L / 2)) + 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(float)
    u = xx * np.cos(ang) + yy * np.sin(ang)
    w = -xx * np.sin(ang) + yy * np.cos(ang)
    m = np.abs(u / (L / 2)) ** 4 + np.abs(w / (W / 2)) ** 2 <= 1.0
    ys, xs = np.nonzero(m)
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    m = m[sl]
    level = np.full(m.shape, rng.uniform(8.0, 16.0))
    level[m & ~ndi.binary_erosion(m, iterations=2)] += 6.0
    level[rng.random(m.shape) < 0.01] += 10.0
    return m, np.where(m, level + speckle(m.shape, rng), 0.0)


def land_piece(land_chips, kind, rng):
    """A piece of real land clutter (dB above its chip's sea) cut to an island shape: ``isle`` = an
    irregular natural outline (thresholded smooth noise in a disk of radius 40-120 px), ``pier`` = a
    straight-edged elongated block 100-300 px long and 20-60 px wide (a breakwater or an elongated islet:
    the worst case for a shape rule). Cut from a window of a chip's land mask that is >= 90 % land."""
    if kind == "isle":
        r = int(rng.uniform(40.0, 120.0))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        noise = ndi.gaussian_filter(rng.normal(size=yy.shape), r / 4.0)
        m = (np.hypot(yy, xx) <= r) & (noise > np.percentile(noise, 30))
        lab, n = ndi.label(m)
        if n == 0:
            return None
        m = ndi.binary_fill_holes(lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1)
    else:
        L, Wd = rng.uniform(100.0, 300.0), rng.uniform(20.0, 60.0)
        m = np.ones((int(Wd), int(L)), bool)
        m = ndi.rotate(m.astype(np.uint8), rng.uniform(0.0, 180.0), order=0, reshape=True) > 0
    ys, xs = np.nonzero(m)
    m = m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = m.shape
    for _ in range(200):
        chip = land_chips[int(rng.integers(len(land_chips)))]
        H, W = chip["db"].shape
        if h >= H or w >= W:
            continue
        y, x = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
        if chip["land"][y:y + h, x:x + w][m].mean() >= 0.9:
            return m, np.where(m, chip["db"][y:y + h, x:x + w] - chip["sea_db"], 0.0)
    return None


def place(chip, taken, shape, zone, rng, tries=400):
    """Top-left corner for a ``shape`` target in the given zone, clear of ground truth and other targets."""
    H, W = chip["db"].shape
    h, w = shape
    for _ in range(tries):
        y, x = int(rng.integers(0, max(H - h, 1))), int(rng.integers(0, max(W - w, 1)))
        win = (slice(y, y + h), slice(x, x + w))
        if taken[win].any() or chip["land"][win].any():
            continue
        dmin = float(chip["dist"][win].min())
        if (zone == "open" and dmin >= 40) or (zone == "coast" and dmin <= 6):
            return y, x
    return None


def inject(chip, templates, zone, n, rng):
    """The chip with ``n`` pasted targets and their boxes (x0, y0, x1, y1)."""
    db = chip["db"].copy()
    taken = np.zeros(chip["db"].shape, bool)
    for o in chip["objs"]:  # clear of the ground-truth ships' boxes (a diagonal ship's box holds much sea)
        x0, y0, x1, y1 = o["box"]
        taken[max(y0 - 8, 0):y1 + 8, max(x0 - 8, 0):x1 + 8] = True
    boxes = []
    for _ in range(n):
        t = templates(rng)
        if t is None:
            continue
        m, ex = t
        pos = place(chip, taken, m.shape, zone, rng)
        if pos is None:
            continue
        y, x = pos
        win = (slice(y, y + m.shape[0]), slice(x, x + m.shape[1]))
        # the target replaces the sea inside its mask (ship returns are >> the sea clutter), clipped to 8 bit
        db[win] = np.where(m, np.clip(chip["sea_db"] + ex, 0.0, 20 * np.log10(255.0)), db[win])
        taken[win] |= ndi.binary_dilation(m, iterations=10)
        ys, xs = np.nonzero(m)
        boxes.append((x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1))
    return db, np.asarray(boxes, float).reshape(-1, 4)


def predictions(db):
    return np.asarray([c["box"] for c in D.components(D.sar_bright_targets(db))], float).reshape(-1, 4)


def false_alarms(pred, pasted, chip):
    """Predictions overlapping neither a pasted box nor a ground-truth ship's box."""
    others = np.asarray([o["box"] for o in chip["objs"]], float).reshape(-1, 4)
    ref = np.concatenate([pasted, others])
    if len(pred) == 0:
        return 0
    if len(ref) == 0:
        return len(pred)
    return int((box_iou(pred, ref).max(axis=1) <= 0).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=6, help="injected images per chip, kind and zone")
    ap.add_argument("--per", type=int, default=5, help="targets pasted per image")
    ap.add_argument("--large-per", type=int, default=2, help="large ships pasted per image")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = sorted(p for p in DATA.glob("*.png") if "_instance_" not in p.name)
    if len(files) < 2:
        sys.exit(f"need the two HRSID chips in {DATA}")
    chips = [load(p) for p in files]
    rng = np.random.default_rng(args.seed)
    rng_big = np.random.default_rng(args.seed + 1)  # own stream: the small-target draws stay as they were
    t0 = time.perf_counter()
    print(f"{'chip':6s} {'kind':5s} {'zone':5s} {'pasted':>6s} {'recall':>6s} {'prec':>5s} {'FA/img':>6s} {'FA0':>4s}")
    totals = {}
    for ci, chip in enumerate(chips):
        src = chips[1 - ci]
        reals = real_templates(src)
        levels = np.asarray([np.median(e[m]) for m, e in real_templates(chip) + reals])
        fa0 = false_alarms(predictions(chip["db"]), np.zeros((0, 4)), chip)
        longs = [t for t in reals if max(t[0].shape) >= 30]  # hull-shaped ships to blow up
        makers = {"real": lambda r, t=reals: transform(*t[int(r.integers(len(t)))], r),
                  "synth": lambda r, lv=levels: synth_template(lv, r),
                  "bigR": lambda r, t=longs: large_real(*t[int(r.integers(len(t)))], r),
                  "bigS": large_synth}
        for kind, maker in makers.items():
            big = kind.startswith("big")
            for zone in ("open", "coast"):
                n_p = tp = near = near_ok = fa = 0
                for _ in range(args.trials):
                    db, boxes = inject(chip, maker, zone, args.large_per if big else args.per,
                                       rng_big if big else rng)
                    pred = predictions(db)
                    n_p += len(boxes)
                    tp += match_boxes(pred, boxes, 0.5).tp
                    if len(pred) and len(boxes):
                        iou = box_iou(pred, boxes)
                        touch = iou.max(axis=1) > 0
                        near += int(touch.sum())
                        near_ok += int((iou.max(axis=1) >= 0.5).sum())
                    fa += false_alarms(pred, boxes, chip)
                rec = tp / max(n_p, 1)
                prec = near_ok / near if near else float("nan")
                print(f"{chip['name']:6s} {kind:5s} {zone:5s} {n_p:6d} {rec:6.3f} {prec:5.2f} "
                      f"{fa / args.trials:6.2f} {fa0:4d}")
                for key in ((kind, "large " + zone, "large") if big else (kind, zone, "all")):
                    a = totals.setdefault(key, [0, 0, 0, 0])
                    a[0] += n_p; a[1] += tp; a[2] += near; a[3] += near_ok
    # false alarms on pasted pieces of real land clutter (islands, breakwaters): none should be detected
    land_chips = [c for c in chips if c["land"].mean() > 0.2]
    rng_isl = np.random.default_rng(args.seed + 2)
    for ci, chip in enumerate(chips):
        for kind in ("isle", "pier"):
            n_p = on = whole = not_gt = 0
            gt_boxes = np.asarray([o["box"] for o in chip["objs"]], float).reshape(-1, 4)
            for _ in range(args.trials):
                db, boxes = inject(chip, lambda r, k=kind: land_piece(land_chips, k, r), "open", 2, rng_isl)
                pred = predictions(db)
                n_p += len(boxes)
                if len(pred) and len(boxes):
                    iou = box_iou(pred, boxes).max(axis=1)
                    on += int((iou > 0).sum())
                    whole += int((iou >= 0.3).sum())
                    # a ground-truth ship's own box reaching into a piece's box is not a false alarm on it
                    gt = box_iou(pred, gt_boxes).max(axis=1) >= 0.5 if len(gt_boxes) else np.zeros(len(pred), bool)
                    not_gt += int(((iou > 0) & ~gt).sum())
            print(f"{chip['name']:6s} {kind:5s} open  {n_p:6d} land pieces: {on} detections on them "
                  f"({not_gt} not a ground-truth ship), {whole} of them boxing a piece (IoU >= 0.3)")
            a = totals.setdefault("land", [0, 0, 0, 0])
            a[0] += n_p; a[1] += on; a[2] += whole; a[3] += not_gt
    land = totals.pop("land")
    print("totals: " + "; ".join(f"{k} recall {a[1] / max(a[0], 1):.3f} prec {a[3] / max(a[2], 1):.2f} (n {a[0]})"
                                  for k, a in totals.items()))
    print(f"land pieces: {land[1] / max(land[0], 1):.2f} false alarms per piece ({land[3] / max(land[0], 1):.2f} "
          f"without the ground-truth ships' own boxes), {land[2] / max(land[0], 1):.2f} boxing a piece (n {land[0]})")
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
