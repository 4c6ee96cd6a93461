"""How well can ANY per-pixel rule on Sentinel-1 backscatter map the Sen1Floods11 water label?

Dev script (not part of the product). For the shared Sen1Floods11 tile it prints the IoU of
(1) the best single threshold on multilooked (VV + VH) / 2 dB and (2) a label-fitted "oracle":
the best set of cells of a 60 x 60 (VV, VH) histogram, chosen with the labels themselves
(cells ranked by their share of water pixels, the prefix with the highest IoU kept). No
detector that looks at one date's backscatter of a pixel and its neighbourhood at that scale
can beat (2) on this tile, so it bounds what thresholds, Otsu or a per-pixel classifier can do.

    python scripts/sar_water_ceiling.py [--data ../shared/data]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
TILE = "sen1floods11/sample/{}/Spain_7370579_{}.tif"


def multilook_db(db: np.ndarray, size: int) -> np.ndarray:
    """Boxcar mean of the linear power over ``size`` x ``size`` pixels, back in dB."""
    return 10 * np.log10(ndi.uniform_filter(10 ** (db / 10), size))


def iou(pred: np.ndarray, water: np.ndarray, labelled: np.ndarray) -> float:
    inter = (pred & water & labelled).sum()
    return float(inter / ((pred | water) & labelled).sum())


def histogram_oracle(vv: np.ndarray, vh: np.ndarray, water: np.ndarray, bins: int = 60) -> float:
    """Highest IoU of any union of (VV, VH) histogram cells, picked with the labels."""
    rng = [[-30, 5], [-40, -5]]
    allpx, xe, ye = np.histogram2d(vv, vh, bins=bins, range=rng)
    wet, _, _ = np.histogram2d(vv[water], vh[water], bins=[xe, ye])
    order = np.argsort(-(wet / np.maximum(allpx, 1)).ravel())
    tp, npred = np.cumsum(wet.ravel()[order]), np.cumsum(allpx.ravel()[order])
    return float((tp / (npred + water.sum() - tp)).max())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    with rasterio.open(args.data / TILE.format("S1", "S1Hand")) as src:
        vv, vh = src.read().astype(np.float64)
    with rasterio.open(args.data / TILE.format("Labels", "LabelHand")) as src:
        label = src.read(1)
    labelled, water = label >= 0, label == 1
    print(f"labelled water share {water[labelled].mean():.3f} (= the IoU of calling every pixel water)")
    for size in (1, 5, 9, 15):
        a, b = multilook_db(vv, size), multilook_db(vh, size)
        mean = (a + b) / 2
        best = max((iou(mean < t, water, labelled), t) for t in np.arange(-25, -8, 0.25))
        oracle = histogram_oracle(a[labelled], b[labelled], water[labelled])
        print(f"multilook {size:2d} px: best threshold IoU {best[0]:.3f} at {best[1]:.2f} dB; "
              f"label-fitted (VV, VH) oracle IoU {oracle:.3f}")


if __name__ == "__main__":
    main()
