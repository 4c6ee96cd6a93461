"""Labelled datasets as evaluation items: (scene, query or prompts, ground truth).

Each reader returns a :class:`Dataset`: the files of one split and a loader that turns a file into
:class:`Item` objects. Items open their scene lazily (:meth:`Item.open`), so iterating a large dataset reads
one image at a time.

Splits are deterministic and stable when files are added: a file belongs to ``"held-out"`` when the SHA-1 of
its key (file stem, or image name for multi-file formats) falls in the lowest ``holdout`` fraction of the hash
range, else to ``"dev"`` (:func:`split_of`). Tune on ``dev`` and report both.

Readers: :func:`hrsid` (SAR ships, instance-colour masks), :func:`hit_uav` (UAV thermal, VOC boxes),
:func:`sirst` (infrared small targets, binary masks), :func:`sen1floods11` (water label rasters, SAR or
optical), :func:`deepforest` / :func:`voc` (VOC XML boxes), :func:`coco` (COCO instances JSON),
:func:`dior_rsvg` (VOC XML with one referring expression per object) and :func:`rrsis_d` (refer-style
referring segmentation: ``refs(unc).p`` + COCO ``instances.json`` with RLE masks). :func:`load_dataset` picks one
by name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import readers

SPLITS = ("all", "dev", "held-out")
#: Share of the files held out by default.
DEFAULT_HOLDOUT = 0.5
#: Dataset kinds, which decide the metrics: boxes of countable objects, infrared small targets (masks + Pd/Fa),
#: areas (masks only), referring expressions (one target per query).
KINDS = ("objects", "small_targets", "area", "expressions")


def split_of(key: str, holdout: float = DEFAULT_HOLDOUT) -> str:
    """``"held-out"`` or ``"dev"`` for a file key, from the SHA-1 of the key (independent of other files)."""
    h = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
    return "held-out" if h < holdout else "dev"


def select_split(keys, split: str = "all", holdout: float = DEFAULT_HOLDOUT) -> list[str]:
    """The keys of ``split`` (``all``, ``dev`` or ``held-out``), sorted."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    keys = sorted(keys)
    return keys if split == "all" else [k for k in keys if split_of(k, holdout) == split]


@dataclass
class Item:
    """One evaluation case.

    ``boxes`` (N, 4) half-open pixel boxes of the objects to find, with ``labels`` (canonical class names such
    as ``"ship"``, ``"person"``, ``"vehicle"``); ``ignore`` boxes of annotated objects that are neither to be
    found nor false alarms (other classes, "DontCare"); ``mask`` the ground-truth pixels (all targets, or the
    one target of a referring expression) and ``valid`` the labelled pixels (None = all). ``query`` is the
    grounding query or referring expression; ``single`` marks one-target-per-query items. ``skip`` holds the
    reason when the item cannot be scored (e.g. a mask whose size differs from its image)."""

    id: str
    image: Path
    query: str | None = None
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    labels: list[str] = field(default_factory=list)
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    mask: np.ndarray | None = None
    valid: np.ndarray | None = None
    single: bool = False
    open_kwargs: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    skip: str | None = None

    def open(self):
        """The item's :class:`~egx_notebook.imagery.Scene` (lazy)."""
        from ..imagery.open import open as open_scene

        return open_scene(self.image, **self.open_kwargs)

    @property
    def prompts(self) -> list:
        """One :class:`~egx_notebook.prompts.Box` prompt per ground-truth box (for referring)."""
        from ..prompts import Box

        return [Box(*map(float, b)) for b in self.boxes]


@dataclass
class Dataset:
    """The files of one split of a labelled dataset and how to turn each into items.

    Iterate it for :class:`Item` objects; ``len()`` is the number of files (keys). ``query`` is the default
    grounding query, ``iou`` the default box-matching threshold, ``classes`` the canonical classes named in
    referring."""

    name: str
    keys: list[str]
    load: Callable[[str], list[Item]] = field(repr=False)
    kind: str = "objects"
    query: str | None = None
    iou: float = 0.5
    classes: tuple[str, ...] = ()
    split: str = "all"
    root: Path | None = None
    notes: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self):
        for key in self.keys:
            yield from self.load(key)

    def items(self, key: str) -> list[Item]:
        """The items of one file."""
        return self.load(key)


def _need_dir(path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        from ..errors import RasterReadError

        raise RasterReadError(f"{what} not found at {path}; pass the dataset's folder (root=...)")
    return path


def _boxes(seq) -> np.ndarray:
    return np.asarray(list(seq), dtype=float).reshape(-1, 4)


def _component_boxes(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    lab, _ = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    out = []
    for sl in ndi.find_objects(lab):
        ys, xs = sl
        out.append((xs.start, ys.start, xs.stop, ys.stop))
    return _boxes(out)


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file without decoding it."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size


# -- the shared development datasets ---------------------------------------------------------------------------
def hrsid(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT, largest: bool = False) -> Dataset:
    """HRSID SAR ship chips (Wei et al. 2020): ``<root>/<chip>.png`` with ``<chip>_instance_id_RGB.png``
    (one flat colour per ship). Grounding query "ships", box IoU 0.5. With ``largest=True`` each chip is one
    single-target query instead, "the largest ship", whose answer is the ship with the most mask pixels."""
    root = _need_dir(root, "HRSID folder")
    keys = [p.stem for p in root.glob("*.png") if "_instance_" not in p.name
            and (root / f"{p.stem}_instance_id_RGB.png").exists()]

    def load(key):
        objs = readers.instance_colour_boxes(root / f"{key}_instance_id_RGB.png")
        mask = np.zeros_like(objs[0]["mask"]) if objs else None
        for o in objs:
            mask |= o["mask"]
        if mask is None:
            w, h = _image_size(root / f"{key}.png")
            mask = np.zeros((h, w), dtype=bool)
        if largest:
            if not objs:
                return []
            big = max(objs, key=lambda o: o["area"])
            return [Item(key, root / f"{key}.png", "the largest ship", _boxes([big["box"]]), ["ship"],
                         mask=big["mask"], single=True, open_kwargs={"modality": "sar"})]
        return [Item(key, root / f"{key}.png", "ships", _boxes(o["box"] for o in objs), ["ship"] * len(objs),
                     mask=mask, open_kwargs={"modality": "sar"})]

    if largest:
        return Dataset("hrsid-largest", select_split(keys, split, holdout), load, "expressions", "the largest ship",
                       0.5, ("ship",), split, root)
    return Dataset("hrsid", select_split(keys, split, holdout), load, "objects", "ships", 0.5, ("ship",), split, root)


#: HIT-UAV classes -> canonical names.
HIT_UAV_CLASSES = {"Person": "person", "Car": "vehicle", "Bicycle": "vehicle", "OtherVehicle": "vehicle"}


def hit_uav(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT, classes=("Person", "Car"),
            query: str = "people and vehicles", pixel_size_m: float | None = None) -> Dataset:
    """HIT-UAV thermal UAV frames (Suo et al. 2023): ``<root>/images/*.jpg`` and VOC ``<root>/annotations/*.xml``.
    ``classes`` are the annotated classes to find (others, "DontCare" included, are ignored: neither to find nor
    false alarms). File names are ``daynight_altitude_angle_0_frame`` (0 = day), kept in ``meta``.
    ``pixel_size_m`` (ground sampling distance) is passed to ``egx.open`` when given."""
    root = _need_dir(root, "HIT-UAV folder")
    images = _need_dir(root / "images", "HIT-UAV images folder")
    keys = [p.stem for p in images.glob("*.jpg") if (root / "annotations" / f"{p.stem}.xml").exists()]
    wanted = set(classes)
    kwargs = {"modality": "infrared"} | ({"pixel_size_m": pixel_size_m} if pixel_size_m else {})

    def load(key):
        objs = readers.voc_records(root / "annotations" / f"{key}.xml")["objects"]
        keep = [o for o in objs if o["name"] in wanted]
        meta = {}
        parts = key.split("_")
        if len(parts) >= 3 and all(p.isdigit() for p in parts[:3]):
            meta = {"time": "day" if parts[0] == "0" else "night", "altitude_m": int(parts[1]),
                    "angle_deg": int(parts[2])}
        return [Item(key, images / f"{key}.jpg", query, _boxes(o["box"] for o in keep),
                     [HIT_UAV_CLASSES.get(o["name"], o["name"].lower()) for o in keep],
                     ignore=_boxes(o["box"] for o in objs if o["name"] not in wanted),
                     open_kwargs=dict(kwargs), meta=meta)]

    canon = tuple(sorted({HIT_UAV_CLASSES.get(c, c.lower()) for c in classes}))
    return Dataset("hit-uav", select_split(keys, split, holdout), load, "objects", query, 0.3, canon, split, root,
                   notes=f"classes {', '.join(classes)}; others ignored")


def sirst(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT) -> Dataset:
    """SIRST infrared small targets (Dai et al. 2021): ``<root>/images/<id>.png`` and binary masks
    ``<root>/masks/<id>_pixels0.png`` (the XML boxes hold one box even for several targets, so boxes come from
    the mask's 8-connected components). A mask whose size differs from its image is skipped with a reason."""
    root = _need_dir(root, "SIRST folder")
    images = _need_dir(root / "images", "SIRST images folder")
    keys = [p.stem for p in images.glob("*.png") if (root / "masks" / f"{p.stem}_pixels0.png").exists()]

    def load(key):
        mask = readers.binary_mask(root / "masks" / f"{key}_pixels0.png")
        w, h = _image_size(images / f"{key}.png")
        item = Item(key, images / f"{key}.png", "small targets", open_kwargs={"modality": "infrared"})
        if mask.shape != (h, w):
            item.skip = f"mask {mask.shape[1]}x{mask.shape[0]} differs from image {w}x{h}"
            return [item]
        item.mask = mask
        item.boxes = _component_boxes(mask)
        item.labels = ["small target"] * len(item.boxes)
        return [item]

    return Dataset("sirst", select_split(keys, split, holdout), load, "small_targets", "small targets", 0.5,
                   ("small target",), split, root)


def sen1floods11(root, sensor: str = "sar", split: str = "all", holdout: float = DEFAULT_HOLDOUT) -> Dataset:
    """Sen1Floods11 hand-labelled chips (Bonafilia et al. 2020): ``<root>/S1/<chip>_S1Hand.tif`` (Sentinel-1 VV,
    VH in dB) or ``<root>/S2/<chip>_S2Hand.tif`` (Sentinel-2), with ``<root>/Labels/<chip>_LabelHand.tif``
    (1 water, 0 land, -1 no data). Query "water"; scored on labelled pixels only."""
    if sensor not in ("sar", "optical"):
        raise ValueError("sensor must be 'sar' or 'optical'")
    root = _need_dir(root, "Sen1Floods11 folder")
    sub, tag = ("S1", "S1Hand") if sensor == "sar" else ("S2", "S2Hand")
    keys = [p.name[: -len("_LabelHand.tif")] for p in (root / "Labels").glob("*_LabelHand.tif")
            if (root / sub / p.name.replace("LabelHand", tag)).exists()]

    def load(key):
        label = readers.label_raster(root / "Labels" / f"{key}_LabelHand.tif")
        return [Item(key, root / sub / f"{key}_{tag}.tif", "water", mask=label == 1, valid=label >= 0,
                     labels=["water"])]

    return Dataset(f"sen1floods11-{sensor}", select_split(keys, split, holdout), load, "area", "water", 0.5,
                   ("water",), split, root)


def voc(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT, *, images=None, annotations=None,
        query: str | None = None, classes=None, class_map: dict | None = None, modality: str | None = None,
        iou: float = 0.5, name: str = "voc") -> Dataset:
    """Pascal VOC XML boxes: ``annotations`` (default ``<root>/Annotations`` or ``<root>``) holds ``*.xml``;
    each file's ``<filename>`` is looked up in ``images`` (default ``<root>/JPEGImages`` or ``<root>``).
    ``classes`` restricts the objects to find (others are ignored); ``class_map`` renames classes; ``query``
    (default: the class names) is the grounding query for every image."""
    root = _need_dir(root, "VOC folder")
    ann_dir = Path(annotations) if annotations else (root / "Annotations" if (root / "Annotations").is_dir() else root)
    img_dir = Path(images) if images else (root / "JPEGImages" if (root / "JPEGImages").is_dir() else root)
    keys = [p.stem for p in ann_dir.glob("*.xml")]
    wanted = set(classes) if classes else None
    class_map = class_map or {}
    kwargs = {"modality": modality} if modality else {}

    def load(key):
        rec = readers.voc_records(ann_dir / f"{key}.xml")
        fname = rec["filename"] or key
        path = img_dir / fname
        if not path.exists():
            hits = sorted(img_dir.glob(f"{Path(fname).stem}.*"))
            hits = [h for h in hits if h.suffix.lower() != ".xml"]
            path = hits[0] if hits else path
        keep = [o for o in rec["objects"] if (wanted is None or o["name"] in wanted) and not o["difficult"]]
        drop = [o for o in rec["objects"] if o not in keep]
        labels = [class_map.get(o["name"], o["name"].lower()) for o in keep]
        q = query or " and ".join(sorted(set(labels))) or None
        return [Item(key, path, q, _boxes(o["box"] for o in keep), labels, ignore=_boxes(o["box"] for o in drop),
                     open_kwargs=dict(kwargs))]

    canon = tuple(sorted({class_map.get(c, c.lower()) for c in classes})) if classes else ()
    return Dataset(name, select_split(keys, split, holdout), load, "objects", query, iou, canon, split, root)


def deepforest(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT) -> Dataset:
    """DeepForest NEON tree-crown boxes (Weinstein et al. 2019): ``<root>/*.xml`` beside ``*.tif``. Query "trees"."""
    return voc(root, split, holdout, query="trees", classes=("Tree",), class_map={"Tree": "tree"}, name="deepforest")


def coco(annotations, images=None, split: str = "all", holdout: float = DEFAULT_HOLDOUT, *, queries: dict | None = None,
         categories=None, modality: str | None = None, iou: float = 0.5, masks: bool = True) -> Dataset:
    """A COCO instances JSON: one grounding item per (image, category present), the query being
    ``queries[category]`` or the category name; crowd regions are ignored. ``images`` defaults to the JSON's
    folder. With ``masks`` the item's ``mask`` is the union of the category's segmentations."""
    annotations = _need_dir(annotations, "COCO annotation file")
    img_dir = Path(images) if images else annotations.parent
    records = {Path(im["file_name"]).stem: im for im in readers.coco_images(annotations)}
    queries = queries or {}
    wanted = set(categories) if categories else None
    kwargs = {"modality": modality} if modality else {}

    def load(key):
        im = records[key]
        shape = (int(im["height"]), int(im["width"])) if im.get("height") and im.get("width") else None
        out = []
        cats = sorted({o["category"] for o in im["objects"] if wanted is None or o["category"] in wanted})
        for cat in cats:
            objs = [o for o in im["objects"] if o["category"] == cat]
            keep = [o for o in objs if not o["iscrowd"]]
            mask = None
            if masks and shape is not None:
                parts = [readers.coco_segmentation_mask(o["segmentation"], shape) for o in keep]
                if parts and all(p is not None for p in parts):
                    mask = np.logical_or.reduce(parts)
            out.append(Item(f"{key}:{cat}", img_dir / im["file_name"], queries.get(cat, cat),
                            _boxes(o["box"] for o in keep), [cat] * len(keep),
                            ignore=_boxes(o["box"] for o in objs if o["iscrowd"]), mask=mask,
                            open_kwargs=dict(kwargs), meta={"image_id": im["id"], "category": cat}))
        return out

    classes = tuple(sorted(wanted)) if wanted else ()
    return Dataset("coco", select_split(records, split, holdout), load, "objects", None, iou, classes, split,
                   annotations.parent)


def dior_rsvg(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT, *, images=None, annotations=None,
              index_file=None, modality: str | None = "optical") -> Dataset:
    """DIOR-RSVG visual grounding (Zhan et al., IEEE TGRS 2023): VOC-like XML (``<root>/Annotations``) with one
    ``<description>`` (the referring expression) per object and images in ``<root>/JPEGImages``. One item per
    object: query = its description, one target box (Acc@0.5 / mean IoU).

    ``index_file`` (the dataset's ``train.txt`` / ``val.txt`` / ``test.txt``) keeps the objects whose running
    index, counting objects over the annotation files in name order, is listed: the official split files
    index objects that way (the reference loader walks the folder; name order is its usual listing)."""
    root = _need_dir(root, "DIOR-RSVG folder")
    ann_dir = Path(annotations) if annotations else (root / "Annotations" if (root / "Annotations").is_dir() else root)
    img_dir = Path(images) if images else (root / "JPEGImages" if (root / "JPEGImages").is_dir() else root)
    files = sorted(ann_dir.glob("*.xml"))
    keep_index = None
    offsets = {}
    if index_file is not None:
        keep_index = {int(t) for t in Path(index_file).read_text().split() if t.strip().isdigit()}
        running = 0
        for p in files:
            offsets[p.stem] = running
            running += len(readers.voc_records(p)["objects"])
    kwargs = {"modality": modality} if modality else {}

    def load(key):
        rec = readers.voc_records(ann_dir / f"{key}.xml")
        path = img_dir / (rec["filename"] or f"{key}.jpg")
        out = []
        for k, o in enumerate(rec["objects"]):
            if keep_index is not None and offsets[key] + k not in keep_index:
                continue
            if not o["description"]:
                continue
            out.append(Item(f"{key}:{k}", path, o["description"], _boxes([o["box"]]), [o["name"]], single=True,
                            open_kwargs=dict(kwargs), meta={"object": k, "class": o["name"]}))
        return out

    keys = [p.stem for p in files]
    return Dataset("dior-rsvg", select_split(keys, split, holdout), load, "expressions", None, 0.5, (), split, root)


def rrsis_d(root, split: str = "all", holdout: float = DEFAULT_HOLDOUT, *, refs=None, instances=None, images=None,
            ref_split: str | None = None, modality: str | None = "optical") -> Dataset:
    """RRSIS-D referring segmentation (Liu et al., CVPR 2024; refer/RefCOCO layout): ``refs(unc).p`` (refs with
    ``sentences``, ``ann_id``, ``image_id``, ``split``), ``instances.json`` (COCO, masks as RLE) and images
    (``<root>/JPEGImages`` or ``<root>/images``). One item per sentence: one target box and mask (Acc@0.5,
    mean IoU, cIoU). ``ref_split`` keeps the dataset's own split (``"train"``, ``"val"``, ``"test"``); the hash
    ``split`` works on image names, so all sentences of an image fall on the same side."""
    root = _need_dir(root, "RRSIS-D folder")

    def find(explicit, names):
        if explicit:
            return _need_dir(explicit, names[0])
        for n in names:
            hits = sorted(root.rglob(n))
            if hits:
                return hits[0]
        return _need_dir(root / names[0], names[0])

    refs_path = find(refs, ["refs(unc).p", "refs.p", "refs.json"])
    inst_path = find(instances, ["instances.json"])
    if images:
        img_dir = Path(images)
    else:
        cands = [root / "JPEGImages", root / "images" / "rrsisd" / "JPEGImages", root / "images"]
        img_dir = next((c for c in cands if c.is_dir()), root)
    ims = {im["id"]: im for im in readers.coco_images(inst_path)}
    anns = {o["id"]: (im_id, o) for im_id, im in ims.items() for o in im["objects"]}
    by_image: dict[str, list[dict]] = {}
    for ref in readers.refer_refs(refs_path):
        if ref_split is not None and ref.get("split") != ref_split:
            continue
        im = ims.get(ref.get("image_id"))
        if im is None or ref.get("ann_id") not in anns:
            continue
        by_image.setdefault(Path(ref.get("file_name") or im["file_name"]).stem, []).append(ref)
    kwargs = {"modality": modality} if modality else {}

    def load(key):
        out = []
        for ref in sorted(by_image[key], key=lambda r: r.get("ref_id", 0)):
            _, obj = anns[ref["ann_id"]]
            im = ims[ref["image_id"]]
            shape = (int(im["height"]), int(im["width"]))
            mask = readers.coco_segmentation_mask(obj["segmentation"], shape)
            path = img_dir / im["file_name"]
            for s_i, sent in enumerate(ref.get("sentences", [])):
                text = (sent.get("sent") or sent.get("raw") or "").strip() if isinstance(sent, dict) else str(sent)
                if not text:
                    continue
                out.append(Item(f"{key}:{ref.get('ref_id')}:{s_i}", path, text, _boxes([obj["box"]]),
                                [obj["category"]], mask=mask, single=True, open_kwargs=dict(kwargs),
                                meta={"ref_id": ref.get("ref_id"), "split": ref.get("split")}))
        return out

    return Dataset("rrsis-d", select_split(by_image, split, holdout), load, "expressions", None, 0.5, (), split, root)


# -- by name ------------------------------------------------------------------------------------------------------
#: Known datasets: name -> (reader, sub-folder of a data folder such as ../shared/data, fixed reader options).
KNOWN = {
    "hrsid": (hrsid, "hrsid/data", {}),
    "hrsid-largest": (hrsid, "hrsid/data", {"largest": True}),
    "hit-uav": (hit_uav, "hit_uav", {}),
    "sirst": (sirst, "sirst", {}),
    "sen1floods11-sar": (sen1floods11, "sen1floods11/sample", {"sensor": "sar"}),
    "sen1floods11-optical": (sen1floods11, "sen1floods11/sample", {"sensor": "optical"}),
    "deepforest": (deepforest, "deepforest/deepforest/data", {}),
}
#: Formats users bring: name -> reader (the first argument is the dataset root, or the JSON file for COCO).
FORMATS = {"voc": voc, "coco": coco, "dior-rsvg": dior_rsvg, "rrsis-d": rrsis_d}


def load_dataset(name: str, root=None, *, data=None, split: str = "all", holdout: float = DEFAULT_HOLDOUT,
                 **options) -> Dataset:
    """A dataset by name: one of :data:`KNOWN` (``root`` = its folder, or ``data`` = a folder holding it at the
    usual place, e.g. ``../shared/data``) or a format of :data:`FORMATS` (``root`` = dataset folder; for ``coco``
    the JSON file). ``options`` go to the reader (e.g. ``classes=``, ``query=``, ``modality=``)."""
    key = re.sub(r"[_\s]+", "-", name.strip().lower())
    if key in KNOWN:
        reader, sub, fixed = KNOWN[key]
        if root is None:
            if data is None:
                raise ValueError(f"{name}: pass root=<its folder> or data=<folder holding {sub}>")
            root = Path(data) / sub
        return reader(root, split=split, holdout=holdout, **fixed, **options)
    if key in FORMATS:
        if root is None:
            raise ValueError(f"{name}: pass root=<dataset folder>" + (" (the instances JSON)" if key == "coco" else ""))
        return FORMATS[key](root, split=split, holdout=holdout, **options)
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(KNOWN))}; "
                     f"formats: {', '.join(sorted(FORMATS))}")
