"""The result of grounding: "where is X?" as boxes, optional pixel masks, labels and scores.

One object with many exporters and filters (in the spirit of ``supervision.Detections``): pixel boxes
and masks are the truth; map geometry, GeoDataFrames, GeoJSON/GeoPackage and GeoTIFF masks derive from them.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from affine import Affine

from ..errors import ExportError
from .geometry import box_polygon, mask_polygon, reproject_gdf, to_map, write_vector


def remap_mask(mask: np.ndarray, origin: tuple[int, int], t: Affine) -> tuple[np.ndarray, tuple[int, int]]:
    """A mask patch on another pixel grid related by the scale+translation affine ``t`` (exact shift when the
    scale is 1 and the offset whole; nearest-neighbour by pixel centres otherwise)."""
    from ..prompts.region import _resample_patch

    if (t.a, t.e) == (1.0, 1.0) and float(t.c).is_integer() and float(t.f).is_integer():
        return mask, (origin[0] + int(t.c), origin[1] + int(t.f))
    return _resample_patch(mask, origin, t.a, t.e, t.c, t.f, None)


@dataclass
class Detection:
    """One grounded object. ``box = (x0, y0, x1, y1)`` in pixels (half-open, floats); ``mask`` (optional) is a
    boolean array whose top-left pixel is at integer pixel ``mask_origin``; ``attributes`` holds measurements."""

    box: tuple[float, float, float, float]
    label: str
    score: float
    mask: np.ndarray | None = field(default=None, repr=False)
    mask_origin: tuple[int, int] = (0, 0)
    attributes: dict = field(default_factory=dict)

    @property
    def area_px(self) -> float:
        if self.mask is not None:
            return float(self.mask.sum())
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    def pixel_geometry(self, prefer_mask: bool = True):
        if prefer_mask and self.mask is not None and self.mask.any():
            return mask_polygon(self.mask, self.mask_origin)
        return box_polygon(self.box)

    def remap(self, t: Affine) -> "Detection":
        """This detection on another pixel grid related by the scale+translation affine ``t``."""
        xs, ys = zip(*(t @ c for c in ((self.box[0], self.box[1]), (self.box[2], self.box[3]))))
        box = (min(xs), min(ys), max(xs), max(ys))
        mask, origin = (None, self.mask_origin) if self.mask is None else remap_mask(self.mask, self.mask_origin, t)
        return replace(self, box=box, mask=mask, mask_origin=origin, attributes=dict(self.attributes))


@dataclass
class Grounding:
    """Objects found for ``query``: a list of :class:`Detection` plus the grid they live on.

    Index, iterate and filter it like a list (``g[0]``, ``len(g)``, ``g.filter(min_score=.5)``, ``g.top(3)``);
    export with :meth:`to_geodataframe`, :meth:`to_file`, :meth:`save_masks`; draw with :meth:`plot`.
    """

    query: str
    detections: list[Detection] = field(default_factory=list)
    backend: str = ""
    crs: object = None
    transform: Affine = Affine.identity()
    grid_shape: tuple[int, int] = (0, 0)
    parsed: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)

    # -- list-like -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.detections)

    def __iter__(self):
        return iter(self.detections)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return replace(self, detections=self.detections[i])
        return self.detections[i]

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) float array of pixel boxes ``x0, y0, x1, y1``."""
        return np.array([d.box for d in self.detections], dtype=float).reshape(-1, 4)

    @property
    def scores(self) -> np.ndarray:
        return np.array([d.score for d in self.detections], dtype=float)

    @property
    def labels(self) -> list[str]:
        return [d.label for d in self.detections]

    @property
    def boxes_map(self) -> np.ndarray:
        """(N, 4) map-coordinate bounds (minx, miny, maxx, maxy) of each box."""
        return np.array([to_map(box_polygon(d.box), self.transform).bounds for d in self.detections],
                        dtype=float).reshape(-1, 4)

    def filter(self, min_score: float | None = None, labels=None, min_area_px: float | None = None) -> "Grounding":
        """The detections with ``score >= min_score``, a label in ``labels`` and at least ``min_area_px`` pixels."""
        keep = [d for d in self.detections
                if (min_score is None or d.score >= min_score)
                and (labels is None or d.label in ([labels] if isinstance(labels, str) else labels))
                and (min_area_px is None or d.area_px >= min_area_px)]
        return replace(self, detections=keep)

    def top(self, k: int, by: str = "score") -> "Grounding":
        """The ``k`` best detections by ``score`` or ``area``."""
        key = (lambda d: d.score) if by == "score" else (lambda d: d.area_px)
        return replace(self, detections=sorted(self.detections, key=key, reverse=True)[:k])

    def remap(self, pixel_transform: Affine, grid_shape, transform: Affine, crs) -> "Grounding":
        """The same result on the parent grid (a view's result in scene pixels and map coordinates)."""
        return replace(self, detections=[d.remap(pixel_transform) for d in self.detections], crs=crs,
                       transform=transform, grid_shape=tuple(grid_shape))

    # -- exports ---------------------------------------------------------------------------------
    def to_geodataframe(self, crs=None, geometry: str = "mask"):
        """One row per detection in map coordinates (scene CRS, or ``crs``). ``geometry="mask"`` uses the
        vectorized mask where there is one (else the box); ``"box"`` always the box. Columns: label, score,
        pixel box (``px_x0`` ...), area and the detection's attributes."""
        import geopandas as gpd

        if geometry not in ("mask", "box"):
            raise ValueError("geometry must be 'mask' or 'box'")
        rows, geoms = [], []
        for i, d in enumerate(self.detections):
            row = {"id": i + 1, "label": d.label, "score": float(d.score), "query": self.query,
                   "backend": self.backend, "px_x0": d.box[0], "px_y0": d.box[1], "px_x1": d.box[2],
                   "px_y1": d.box[3], "area_px": d.area_px}
            row.update({k: v for k, v in d.attributes.items() if isinstance(v, (int, float, str, np.number))})
            rows.append(row)
            geoms.append(to_map(d.pixel_geometry(prefer_mask=geometry == "mask"), self.transform))
        columns = ["id", "label", "score", "query", "backend", "px_x0", "px_y0", "px_x1", "px_y1", "area_px"]
        gdf = gpd.GeoDataFrame(rows or None, columns=None if rows else columns, geometry=geoms, crs=self.crs)
        return reproject_gdf(gdf, crs)

    def to_file(self, path, driver: str | None = None, crs=None, geometry: str = "mask"):
        """Write GeoJSON / GeoPackage / FlatGeobuf (format from the extension) through geopandas."""
        return write_vector(self.to_geodataframe(crs, geometry), path, driver, layer="grounding")

    def label_mask(self, window=None) -> np.ndarray:
        """uint16 raster of detection ids (1..N, 0 = background) over ``window`` (default: the whole grid).
        Detections without a mask are filled as boxes (the pixels whose centres are inside, half-open)."""
        from ..prompts.region import box_mask

        h, w = self.grid_shape
        x0, y0, x1, y1 = window or (0, 0, w, h)
        out = np.zeros((y1 - y0, x1 - x0), dtype="uint16")
        for i, d in enumerate(self.detections, start=1):
            if d.mask is not None:
                ox, oy = d.mask_origin
                mh, mw = d.mask.shape
                sx0, sy0, sx1, sy1 = max(x0, ox), max(y0, oy), min(x1, ox + mw), min(y1, oy + mh)
                if sx1 > sx0 and sy1 > sy0:
                    sub = d.mask[sy0 - oy:sy1 - oy, sx0 - ox:sx1 - ox]
                    out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0][sub] = i
            else:
                out[box_mask(d.box, (x0, y0, x1, y1))] = i
        return out

    def save_masks(self, path, compress: str = "deflate"):
        """Write :meth:`label_mask` as a single-band GeoTIFF aligned with the scene (same grid, CRS, transform)."""
        import rasterio

        h, w = self.grid_shape
        if h == 0 or w == 0:
            raise ExportError("this result has no grid to write masks on")
        profile = {"driver": "GTiff", "height": h, "width": w, "count": 1, "dtype": "uint16", "nodata": 0,
                   "transform": self.transform, "compress": compress}
        if self.crs is not None:
            profile["crs"] = self.crs
        with warnings.catch_warnings():
            # Pixel-CRS results (e.g. from a PNG) have the identity transform on purpose: no warning noise.
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(self.label_mask(), 1)
                dst.set_band_description(1, f"egx grounding ids for {self.query!r}")
                dst.update_tags(query=self.query, backend=self.backend,
                                labels=";".join(f"{i}={d.label}" for i, d in enumerate(self.detections, 1)))
        return path

    # -- display ---------------------------------------------------------------------------------
    def plot(self, ax=None, scene=None, color: str = "yellow", masks: bool = True):
        """Draw boxes (and masks) with labels and scores; on ``scene``'s image when given."""
        from .plotting import draw_geometry, new_axes

        ax = new_axes(ax, scene)
        for d in self.detections:
            if masks and d.mask is not None:
                draw_geometry(ax, d.pixel_geometry(), color, fill=True, alpha=0.35, linewidth=0.5)
            draw_geometry(ax, box_polygon(d.box), color, fill=False, linewidth=1.2)
            ax.text(d.box[0], d.box[1], f"{d.label} {d.score:.2f}", color="black", fontsize=7, va="bottom",
                    bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "edgecolor": "none"})
        ax.set_title(f"{self.query!r}: {len(self)} found ({self.backend})", fontsize=9)
        return ax

    def __repr__(self) -> str:
        return f"Grounding(query={self.query!r}, n={len(self)}, labels={sorted(set(self.labels))}, backend={self.backend!r})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(d.label)}</td><td>{d.score:.2f}</td>"
            f"<td>{', '.join(f'{v:.1f}' for v in d.box)}</td><td>{d.area_px:.0f}</td></tr>"
            for i, d in enumerate(self.detections[:50], start=1))
        more = f"<p>... {len(self) - 50} more</p>" if len(self) > 50 else ""
        note = html.escape(self.diagnostics.get("note", "")) if self.diagnostics else ""
        return (f"<div><b>Grounding</b> {html.escape(repr(self.query))}: {len(self)} found "
                f"(backend {html.escape(self.backend)})<br><small>{note}</small>"
                f"<table><tr><th>#</th><th>label</th><th>score</th><th>box (px)</th><th>area (px)</th></tr>{rows}</table>{more}</div>")
