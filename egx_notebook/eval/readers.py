"""Readers for the label formats of the shared development data."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def instance_colour_boxes(path: str | Path, min_area: int = 1) -> list[dict]:
    """Instances of an instance-colour mask PNG (one flat colour per object, black background), e.g. HRSID
    ``*_instance_id_RGB.png``: ``[{"box": (x0, y0, x1, y1), "mask": bool HxW, "area": int}, ...]``."""
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    out = []
    for value in np.unique(code):
        if value == 0:
            continue
        mask = code == value
        area = int(mask.sum())
        if area < min_area:
            continue
        ys, xs = np.nonzero(mask)
        out.append({"box": (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), "mask": mask,
                    "area": area})
    return out


def voc_objects(path: str | Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Objects of a Pascal VOC XML file as ``(name, (x0, y0, x1, y1))`` half-open pixel boxes.

    VOC stores inclusive pixel indices (``xmax`` is the last column), so one is added to the maxima."""
    import xml.etree.ElementTree as ET

    out = []
    for obj in ET.parse(path).getroot().iter("object"):
        box = obj.find("bndbox")
        x0, y0, x1, y1 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((obj.find("name").text.strip(), (x0, y0, x1 + 1, y1 + 1)))
    return out


def binary_mask(path: str | Path, threshold: int = 127) -> np.ndarray:
    """A binary mask image (e.g. SIRST ``masks/<id>_pixels0.png``, 0 / 255) as a boolean array: grey > ``threshold``."""
    from PIL import Image

    return np.asarray(Image.open(path).convert("L")) > threshold


def label_raster(path: str | Path, band: int = 1) -> np.ndarray:
    """One band of a label GeoTIFF as integers (e.g. Sen1Floods11 ``LabelHand``: 1 water, 0 land, -1 no data)."""
    import rasterio

    with rasterio.open(path) as src:
        return src.read(band)


def voc_records(path: str | Path) -> dict:
    """A Pascal VOC-style XML file in full: ``{"filename", "size": (w, h) or None, "objects": [{"name",
    "box" (half-open), "difficult", "description" or None}]}``. ``description`` is the referring expression of
    DIOR-RSVG-style files (one ``<description>`` per object). Maxima are inclusive in VOC, so one is added."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    size = root.find("size")
    wh = None
    if size is not None and size.find("width") is not None:
        wh = (int(float(size.find("width").text)), int(float(size.find("height").text)))
    objects = []
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        if box is None:
            continue
        x0, y0, x1, y1 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
        desc = obj.find("description")
        diff = obj.find("difficult")
        objects.append({"name": obj.find("name").text.strip(), "box": (x0, y0, x1 + 1, y1 + 1),
                        "difficult": bool(int(diff.text)) if diff is not None and diff.text else False,
                        "description": desc.text.strip() if desc is not None and desc.text else None})
    fn = root.find("filename")
    return {"filename": fn.text.strip() if fn is not None and fn.text else None, "size": wh, "objects": objects}


# -- COCO run-length encoding ------------------------------------------------------------------------------
# COCO stores masks column-major as alternating run lengths (background first). The compact string form
# writes each run in 5-bit groups, least significant first, as characters from chr(48); bit 0x20 of a group
# says "more groups follow" and bit 0x10 of the last group is the sign; from the third run on, the value
# stored is the difference to the run two places earlier (pycocotools' maskApi.c, rleToString/rleFrString).

def rle_counts_from_string(s: str) -> list[int]:
    """Decode the compact COCO RLE string into run lengths."""
    counts: list[int] = []
    pos = 0
    while pos < len(s):
        value, shift, more = 0, 0, True
        while more:
            c = ord(s[pos]) - 48
            value |= (c & 0x1F) << (5 * shift)
            more = bool(c & 0x20)
            pos += 1
            shift += 1
            if not more and (c & 0x10):
                value |= -1 << (5 * shift)
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def rle_counts_to_string(counts) -> str:
    """Encode run lengths as the compact COCO RLE string (inverse of :func:`rle_counts_from_string`)."""
    out = []
    counts = [int(c) for c in counts]
    for i, value in enumerate(counts):
        if i > 2:
            value -= counts[i - 2]
        more = True
        while more:
            c = value & 0x1F
            value >>= 5
            more = (value != -1) if (c & 0x10) else (value != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def rle_decode(rle: dict) -> np.ndarray:
    """A COCO RLE ``{"size": [h, w], "counts": str | bytes | list}`` as a boolean (h, w) mask."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        counts = rle_counts_from_string(counts)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"RLE runs cover {int(counts.sum())} pixels, not {h} x {w}")
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape(w, h).T


def rle_encode(mask: np.ndarray) -> dict:
    """A boolean mask as a compact COCO RLE dict (``counts`` a str, as in COCO JSON files)."""
    mask = np.asarray(mask, bool)
    flat = mask.T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(edges).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle_counts_to_string(runs)}


def polygons_mask(polygons, shape) -> np.ndarray:
    """COCO polygon segmentation (``[[x0, y0, x1, y1, ...], ...]`` in pixel coordinates) rasterised on ``shape``:
    the pixels whose centres are inside (rasterio's rule, as everywhere in egx)."""
    from rasterio.features import rasterize
    from shapely.geometry import Polygon

    geoms = [Polygon(np.asarray(p, dtype=float).reshape(-1, 2)) for p in polygons if len(p) >= 6]
    if not geoms:
        return np.zeros(shape, dtype=bool)
    return rasterize([(g, 1) for g in geoms], out_shape=shape, dtype="uint8").astype(bool)


def coco_segmentation_mask(segmentation, shape) -> np.ndarray | None:
    """The mask of a COCO ``segmentation`` field (polygons, an RLE dict, or a list holding RLE dicts)."""
    if segmentation is None or (isinstance(segmentation, list) and not segmentation):
        return None
    if isinstance(segmentation, dict):
        if isinstance(segmentation.get("counts"), list) and "size" not in segmentation:
            return None
        return rle_decode(segmentation)
    if isinstance(segmentation, list) and isinstance(segmentation[0], dict):
        out = np.zeros(shape, dtype=bool)
        for part in segmentation:
            out |= rle_decode(part)
        return out
    return polygons_mask(segmentation, shape)


def coco_images(path: str | Path) -> list[dict]:
    """Images of a COCO instances JSON with their objects: ``[{"id", "file_name", "width", "height",
    "objects": [{"id", "category", "box" (x0, y0, x1, y1 from COCO's x, y, w, h), "segmentation", "iscrowd"}]}]``,
    sorted by file name. Segmentations stay undecoded; :func:`coco_segmentation_mask` decodes one."""
    import json

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cats = {c["id"]: c.get("name", str(c["id"])) for c in data.get("categories", [])}
    images = {im["id"]: {"id": im["id"], "file_name": im["file_name"], "width": im.get("width"),
                         "height": im.get("height"), "objects": []} for im in data.get("images", [])}
    for ann in data.get("annotations", []):
        im = images.get(ann["image_id"])
        if im is None:
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        cat = ann.get("category_id", ann.get("categories_id"))
        im["objects"].append({"id": ann.get("id"), "category": cats.get(cat, str(cat)), "box": (x, y, x + w, y + h),
                              "segmentation": ann.get("segmentation"), "iscrowd": bool(ann.get("iscrowd", 0))})
    return sorted(images.values(), key=lambda im: im["file_name"])


def _load_plain_pickle(path: str | Path):
    """Load a pickle made only of plain containers and scalars (refer-style ``refs(*).p`` files), refusing any
    class or function reference, so a crafted file cannot run code on load."""
    import pickle

    class PlainOnly(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(
                f"{path}: refusing to load {module}.{name} from a pickle; refs files hold only lists, dicts, "
                "strings and numbers (convert it to JSON if it holds more)")

    with open(path, "rb") as fh:
        return PlainOnly(fh, encoding="latin1").load()


def refer_refs(path: str | Path) -> list[dict]:
    """Referring expressions of a refer-style annotation file (RRSIS-D ``refs(unc).p``, RefCOCO-like): a list of
    ``{"ref_id", "ann_id", "image_id", "split", "sentences": [{"sent": ...}], ...}``. ``.json`` files are read as
    JSON; pickles are read with a loader that accepts plain data only."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    return _load_plain_pickle(path)
