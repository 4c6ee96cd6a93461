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
