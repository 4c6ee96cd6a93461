"""The result of referring: "what is inside my prompt?" (scene, region or point level)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
from affine import Affine

from .geometry import reproject_gdf, to_map, write_vector


@dataclass
class Referring:
    """A description of a prompted region (or of the whole view when ``region`` is None).

    Attributes: ``text`` (a plain-English sentence), ``label`` (the class named, e.g. ``"water"``),
    ``confidence`` (0-1), ``scores`` (per candidate label), ``stats`` (the numbers the text was built from),
    ``region`` (the prompt resolved to scene pixels), ``level`` (``scene`` / ``region`` / ``point``),
    and the scene's ``crs`` and ``transform`` for map coordinates.
    """

    text: str
    label: str
    confidence: float
    scores: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    region: object = None  # prompts.Region in scene pixels, or None for the whole view
    level: str = "scene"
    instruction: str | None = None
    backend: str = ""
    crs: object = None
    transform: Affine = Affine.identity()
    grid_shape: tuple[int, int] = (0, 0)
    extent: tuple[float, float, float, float] | None = None  # scene pixel window looked at, for scene level
    diagnostics: dict = field(default_factory=dict)
    #: Optional pixel mask of what the backend found the prompt to select (e.g. a SAM segment), placed at
    #: integer pixel ``mask_origin``; it follows the result through :meth:`remap`.
    mask: np.ndarray | None = field(default=None, repr=False)
    mask_origin: tuple[int, int] = (0, 0)

    @property
    def prompt(self):
        return None if self.region is None else self.region.prompt

    def remap(self, pixel_transform: Affine, grid_shape, transform: Affine, crs) -> "Referring":
        """The same result on the parent grid (e.g. a view's result in scene pixels)."""
        t = pixel_transform
        region = None if self.region is None else self.region.map_pixels(t.a, t.b, t.d, t.e, t.c, t.f, grid_shape)
        extent = None
        if self.extent is not None:
            xs, ys = zip(*(t @ c for c in ((self.extent[0], self.extent[1]), (self.extent[2], self.extent[3]))))
            extent = (min(xs), min(ys), max(xs), max(ys))
        mask, origin = self.mask, self.mask_origin
        if mask is not None:
            from .grounding import remap_mask

            mask, origin = remap_mask(mask, origin, t)
        return Referring(self.text, self.label, self.confidence, dict(self.scores), dict(self.stats), region,
                         self.level, self.instruction, self.backend, crs, transform, tuple(grid_shape), extent,
                         dict(self.diagnostics), mask, origin)

    def pixel_geometry(self):
        from shapely.geometry import box

        if self.region is not None:
            return self.region.geometry
        return box(*self.extent) if self.extent else box(0, 0, self.grid_shape[1], self.grid_shape[0])

    def to_geodataframe(self, crs=None):
        """One row: the prompted region in map coordinates (scene CRS, or ``crs``) with text, label, scores
        and the statistics as columns."""
        import geopandas as gpd

        row = {"label": self.label, "text": self.text, "confidence": float(self.confidence), "level": self.level,
               "backend": self.backend, "instruction": self.instruction or "",
               "prompt": self.region.kind if self.region is not None else "scene"}
        row.update({f"stat_{k}": v for k, v in self.stats.items() if isinstance(v, (int, float, str, np.number))})
        gdf = gpd.GeoDataFrame([row], geometry=[to_map(self.pixel_geometry(), self.transform)], crs=self.crs)
        return reproject_gdf(gdf, crs)

    def to_file(self, path, driver: str | None = None, crs=None):
        """Write as GeoJSON / GeoPackage (format from the extension)."""
        return write_vector(self.to_geodataframe(crs), path, driver, layer="referring")

    def to_dict(self) -> dict:
        return {"text": self.text, "label": self.label, "confidence": self.confidence, "scores": self.scores,
                "stats": self.stats, "level": self.level, "backend": self.backend}

    def plot(self, ax=None, scene=None, color: str = "cyan"):
        """Outline the prompt (or the described extent) and print the label; on ``scene``'s image when given."""
        from .plotting import draw_geometry, new_axes

        ax = new_axes(ax, scene)
        if self.mask is not None and self.mask.any():
            from .geometry import mask_polygon

            draw_geometry(ax, mask_polygon(self.mask, self.mask_origin), color, fill=True, linewidth=0.5)
        draw_geometry(ax, self.pixel_geometry(), color, fill=False)
        x0, y0, _, _ = self.pixel_geometry().bounds
        ax.text(x0, y0, f"{self.label} ({self.confidence:.2f})", color="black", fontsize=8,
                bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "edgecolor": "none"}, va="bottom")
        ax.set_title(self.text, fontsize=8, wrap=True)
        return ax

    def __repr__(self) -> str:
        return f"Referring(label={self.label!r}, confidence={self.confidence:.2f}, text={self.text!r})"

    def _repr_html_(self) -> str:
        scores = ", ".join(f"{html.escape(k)}: {v:.2f}" for k, v in sorted(self.scores.items(), key=lambda kv: -kv[1])[:5])
        stats = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                        for k, v in self.stats.items())
        return (f"<div><b>Referring</b> ({html.escape(self.level)}, backend {html.escape(self.backend)})<br>"
                f"<p>{html.escape(self.text)}</p><b>label</b>: {html.escape(self.label)} "
                f"({self.confidence:.2f})<br><small>{scores}</small>"
                f"<details><summary>statistics</summary><table>{stats}</table></details></div>")


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
