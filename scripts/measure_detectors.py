"""Measure the analytic detectors on the real data in ../shared/data.

Dev script (not part of the product). Prints per-dataset scores for two
halves of the files (sorted by name: even indices = "tune", odd = "check")
so that overfitting to the tuning half is visible, plus 2000x2000 timings
(best of 3). Sen1Floods11 is one scene, so it has no held-out half: its
settings were chosen on the whole scene (see ``sar_water``). ``refer``
names ground-truth boxes through the library (``scene.refer(egx.Box)``).

    python scripts/measure_detectors.py [--only sar,water,thermal,sirst,refer,timing]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from egx_notebook.backends.analytic import detectors as D  # noqa: E402
from egx_notebook.eval.metrics import MatchCounts, mask_iou, match_boxes  # noqa: E402
from egx_notebook.eval.readers import instance_colour_boxes, voc_objects  # noqa: E402


# ----------------------------------------------------------------- helpers
def greedy_match(pred, gt, thr):
    """Number of true positives of a greedy one-to-one matching at IoU ``thr``."""
    return match_boxes(pred, gt, thr).tp


def prf(tp, npred, ngt):
    c = MatchCounts(tp, npred - tp, ngt - tp)
    return c.precision, c.recall, c.f1


def halves(files):
    files = sorted(files)
    return {"tune(even)": files[0::2], "check(odd)": files[1::2]}


def gray(path):
    im = Image.open(path)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA"):
        im = im.convert("RGB")
    return np.asarray(im.convert("F"), dtype=np.float64)


# ----------------------------------------------------------------- HRSID
def hrsid_gt(path):
    return [o["box"] for o in instance_colour_boxes(path)]


def hrsid_db(path):
    a = np.asarray(Image.open(path))[..., 0].astype(np.float64)
    return 20 * np.log10(np.maximum(a, 1))


def eval_hrsid(files, verbose=False, **kw):
    tp = npred = ngt = 0
    for f in files:
        db = hrsid_db(f)
        gt = hrsid_gt(f.with_name(f.stem + "_instance_id_RGB.png"))
        pred = [c["box"] for c in D.components(D.sar_bright_targets(db, **kw))]
        t = greedy_match(pred, gt, 0.5)
        if verbose:
            pp, rr, ff = prf(t, len(pred), len(gt))
            print(f"    {f.name}: F1 {ff:.3f}  P {pp:.3f}  R {rr:.3f}  (tp {t}, pred {len(pred)}, gt {len(gt)})")
        tp, npred, ngt = tp + t, npred + len(pred), ngt + len(gt)
    return prf(tp, npred, ngt) + (tp, npred, ngt)


def hrsid_files():
    return [p for p in sorted((DATA / "hrsid" / "data").glob("*.png")) if "_instance_" not in p.name]


# ----------------------------------------------------------------- Sen1Floods11
def read_tif(path):
    import rasterio
    with rasterio.open(path) as ds:
        return ds.read().astype(np.float64), ds.nodata


def iou(pred, gt, valid):
    return mask_iou(pred, gt, valid)


def eval_water():
    base = DATA / "sen1floods11" / "sample"
    lab, _ = read_tif(base / "Labels" / "Spain_7370579_LabelHand.tif")
    lab = lab[0]
    s1, _ = read_tif(base / "S1" / "Spain_7370579_S1Hand.tif")
    s2, _ = read_tif(base / "S2" / "Spain_7370579_S2Hand.tif")
    labelled = lab >= 0
    gt = lab == 1
    res = {}
    res["sar VV"] = iou(D.sar_water(s1[0]), gt, labelled)
    res["sar VH"] = iou(D.sar_water(s1[1], bounds=(-30.0, -18.0)), gt, labelled)
    res["sar VV+VH"] = iou(D.sar_water(s1[0], cross=s1[1]), gt, labelled)
    names = ["coastal", "blue", "green", "red", "re1", "re2", "re3", "nir", "nir2",
             "wv", "cirrus", "swir1", "swir2"]
    bands = {n: s2[i] / 10000.0 for i, n in enumerate(names) if n not in ("re1", "re2", "re3", "nir2", "wv")}
    res["optical (all bands)"] = iou(D.optical_water(bands), gt, labelled)
    no_swir = {k: v for k, v in bands.items() if k not in ("swir1", "swir2")}
    res["optical (no swir)"] = iou(D.optical_water(no_swir), gt, labelled)
    rgb = {k: bands[k] for k in ("blue", "green", "red")}
    res["optical (rgb only)"] = iou(D.optical_water(rgb), gt, labelled)
    return res, float(gt[labelled].mean())


# ----------------------------------------------------------------- HIT-UAV
def voc_boxes(path, keep=("Person", "Car")):
    out = voc_objects(path)
    return [b for n, b in out if n in keep], out


def eval_hit(files, verbose=False, **kw):
    tp = npred = ngt = 0
    per = {}
    for f in files:
        img = gray(f)
        gt, allgt = voc_boxes(DATA / "hit_uav" / "annotations" / (f.stem + ".xml"))
        fn = kw.pop("fn", D.thermal_objects)
        pred = [c["box"] for c in D.components(fn(img, **kw))]
        kw["fn"] = fn
        t = greedy_match(pred, gt, 0.3)
        # precision counts a prediction as correct when it matches any annotated object
        tp_any = greedy_match(pred, [b for _, b in allgt], 0.3)
        per.setdefault(f.name[0], [0, 0, 0, 0])
        for i, val in enumerate((t, len(gt), tp_any, len(pred))):
            per[f.name[0]][i] += val
        if verbose:
            pp, rr, ff = prf(t, len(pred), len(gt))
            print(f"    {f.name}: F1 {ff:.3f}  P {pp:.3f}  R {rr:.3f}  (tp {t}, pred {len(pred)}, gt {len(gt)})")
        tp, ngt, npred = tp + t, ngt + len(gt), npred + len(pred)
    tp_any = sum(p[2] for p in per.values())
    return tp / max(ngt, 1), tp_any / max(npred, 1), tp, ngt, npred, per


# ----------------------------------------------------------------- SIRST
def eval_sirst(files, verbose=False, **kw):
    inter = union = 0
    ious, hits, ngt_obj = [], 0, 0
    for f in files:
        mpath = DATA / "sirst" / "masks" / (f.stem + "_pixels0.png")
        img = gray(f)
        gt = np.asarray(Image.open(mpath).convert("L")) > 127
        if gt.shape != img.shape:
            print(f"    note: skip {f.name}: mask {gt.shape} != image {img.shape}")
            continue
        pred = D.thermal_hot_targets(img, small=True, **kw)
        i, u = (pred & gt).sum(), (pred | gt).sum()
        inter, union = inter + i, union + u
        ious.append(i / u if u else 1.0)
        gcomps = D.components(gt)
        ngt_obj += len(gcomps)
        for c in gcomps:
            x0, y0, x1, y1 = c["box"]
            hits += bool((pred[y0:y1, x0:x1] & c["mask"]).any())
        if verbose:
            print(f"    {f.name}: iou {ious[-1]:.2f} pred px {pred.sum()} gt px {gt.sum()}")
    return (inter / union if union else 0.0), (float(np.mean(ious)) if ious else 0.0), hits, ngt_obj, len(ious)


# ----------------------------------------------------------------- referring (through the library)
HIT_CLASSES = {"Person": "person", "Car": "vehicle", "Bicycle": "vehicle", "OtherVehicle": "vehicle"}


def eval_refer_hit(files, seed=0):
    """Referring on HIT-UAV ground-truth boxes (no pixel size): (correct, total, confusion, background boxes
    named as an object, background boxes). Background boxes: one box of each object's size at a random spot
    that overlaps no annotation."""
    import warnings
    from collections import Counter

    import egx_notebook as egx
    from egx_notebook.eval.metrics import box_iou

    rng = np.random.default_rng(seed)
    right = total = fp = nbg = 0
    confusion = Counter()
    for f in files:
        scene = egx.open(f, modality="infrared")
        objs = [(n, b) for n, b in voc_objects(DATA / "hit_uav" / "annotations" / (f.stem + ".xml"))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, box in objs:
                if name not in HIT_CLASSES:
                    continue
                label = scene.refer(egx.Box(*box)).label
                confusion[(HIT_CLASSES[name], label)] += 1
                right += label == HIT_CLASSES[name]
                total += 1
                w, h = box[2] - box[0], box[3] - box[1]
                for _ in range(50):
                    x0, y0 = int(rng.integers(0, scene.width - w + 1)), int(rng.integers(0, scene.height - h + 1))
                    bg = (x0, y0, x0 + w, y0 + h)
                    if all(float(np.max(box_iou(bg, b))) == 0 for _, b in objs):
                        nbg += 1
                        fp += scene.refer(egx.Box(*bg)).label in ("person", "vehicle")
                        break
    return right, total, confusion, fp, nbg


def eval_refer_hrsid(files):
    import egx_notebook as egx

    right = total = 0
    for f in files:
        scene = egx.open(f, modality="sar")
        for box in hrsid_gt(f.with_name(f.stem + "_instance_id_RGB.png")):
            right += scene.refer(egx.Box(*box)).label == "ship"
            total += 1
    return right, total


# ----------------------------------------------------------------- timing
def timing():
    rng = np.random.default_rng(0)
    n = 2000
    sar = 10 * np.log10(rng.gamma(1.0, 0.01, (n, n)))
    sar[500:520, 600:700] = 10.0
    sar[:, :700] += 8
    temp = 290 + rng.normal(0, 0.5, (n, n))
    temp[1000:1010, 1000:1010] += 10
    bands = {k: rng.uniform(0.0, 0.4, (n, n)) for k in ("blue", "green", "red", "nir", "swir1", "swir2")}
    jobs = [
        ("sar_bright_targets", lambda: D.sar_bright_targets(sar)),
        ("sar_water", lambda: D.sar_water(sar)),
        ("sar_water(VV+VH)", lambda: D.sar_water(sar, cross=sar - 7.0)),
        ("thermal_hot_targets", lambda: D.thermal_hot_targets(temp)),
        ("thermal_hot_targets(small)", lambda: D.thermal_hot_targets(temp, small=True)),
        ("thermal_objects", lambda: D.thermal_objects(temp)),
        ("thermal_hot_regions", lambda: D.thermal_hot_regions(temp)),
        ("optical_water", lambda: D.optical_water(bands)),
        ("optical_vegetation", lambda: D.optical_vegetation(bands)),
        ("optical_cloud", lambda: D.optical_cloud(bands)),
        ("optical_built_up", lambda: D.optical_built_up(bands)),
        ("optical_bare_soil", lambda: D.optical_bare_soil(bands)),
        ("spectral_indices", lambda: D.spectral_indices(bands)),
    ]
    fn = jobs[0][1]
    fn()  # warm-up (imports, caches)
    for name, fn in jobs:
        best = float("inf")
        for _ in range(3):  # best of 3: the machine may be shared
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        print(f"  {name:28s} {best:6.3f} s (best of 3)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="sar,water,thermal,sirst,refer,timing")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not DATA.is_dir():
        print(f"no data folder at {DATA}; nothing to measure")
        return
    if "sar" in only:
        # moored-ship rescue (land-adjacent bright, elongated, compact bodies):
        # P0094 tp 2/9 pred -> 4/16, P0123 unchanged 6/8; overall R 0.44 -> 0.56.
        print("HRSID ships (sar_bright_targets, box IoU >= 0.5):")
        for name, fs in halves(hrsid_files()).items():
            p, r, f, tp, npred, ngt = eval_hrsid(fs, True)  # per chip: few chips, each a scene type
            print(f"  {name:11s} F1 {f:.3f}  P {p:.3f}  R {r:.3f}  (tp {tp}, pred {npred}, gt {ngt})")
    if "water" in only:
        print("Sen1Floods11 Spain_7370579 water IoU over labelled pixels:")
        res, frac = eval_water()
        print(f"  (water fraction of labelled pixels: {frac:.3f})")
        for k, val in res.items():
            print(f"  {k:22s} IoU {val:.3f}")
    if "thermal" in only:
        print("HIT-UAV (thermal_objects, Person+Car recall at box IoU >= 0.3):")
        files = sorted((DATA / "hit_uav" / "images").glob("*.jpg"))
        for name, fs in halves(files).items():
            r, p, tp, ngt, npred, per = eval_hit(fs, args.verbose)
            extra = "  ".join(f"{'day' if k == '0' else 'night'}: R {v[0] / max(v[1], 1):.2f} "
                              f"P {v[2] / max(v[3], 1):.2f}" for k, v in sorted(per.items()))
            print(f"  {name:11s} recall {r:.3f}  precision(any class) {p:.3f}  "
                  f"(tp {tp}/{ngt}, pred {npred})  [{extra}]")
    if "sirst" in only:
        print("SIRST (thermal_hot_targets small=True, pixel IoU):")
        files = sorted((DATA / "sirst" / "images").glob("*.png"))
        for name, fs in halves(files).items():
            tot, mean, hits, nobj, nimg = eval_sirst(fs, args.verbose)
            print(f"  {name:11s} overall IoU {tot:.3f}  mean per-image IoU {mean:.3f}  "
                  f"targets hit {hits}/{nobj}  ({nimg} images)")
    if "refer" in only:
        print("Referring on ground-truth boxes (scene.refer(egx.Box(...)).label):")
        for name, fs in halves(hrsid_files()).items():
            right, total = eval_refer_hrsid(fs)
            print(f"  HRSID {name:11s} 'ship' {right}/{total}")
        files = sorted((DATA / "hit_uav" / "images").glob("*.jpg"))
        for name, fs in halves(files).items():
            right, total, conf, fp, nbg = eval_refer_hit(fs)
            top = ", ".join(f"{t}->{p}: {n}" for (t, p), n in sorted(conf.items(), key=lambda kv: -kv[1]))
            print(f"  HIT-UAV {name:11s} person/vehicle accuracy {right / max(total, 1):.3f} ({right}/{total}); "
                  f"background boxes named an object {fp}/{nbg}\n    [{top}]")
    if "timing" in only:
        print("Timing on 2000x2000 float arrays (this machine):")
        timing()


if __name__ == "__main__":
    main()
