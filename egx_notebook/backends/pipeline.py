"""The combined ``egx`` backend: unified referring + grounding + pixel perception, as in EarthGPT-X.

EarthGPT-X (arXiv 2504.12795) answers referring and grounding questions on optical, SAR and thermal images with
visual prompts at several scales and returns pixel-level results. It released no weights; this backend realises
the same flow with public models:

- **grounding**: a vision-language model finds boxes (``qwen-vl`` by default, or ``florence2``), then SAM turns
  each box into a pixel mask (kept inside the box, grown by ``mask_margin`` px);
- **referring**: a point or scribble first becomes a region through SAM (pixel perception), and the
  vision-language model describes that region, marked on the image with its exact outline; boxes and
  polygons are described as drawn;
- **zoom-in**: a prompt that is small in the view is cut out at full resolution with ``zoom_context`` times its
  extent around it (at least ``min_zoom_px``) before any model sees it;
- **zoom-out**: a scene question on a window of a larger scene also shows the model the surroundings
  (``scene_context`` times the window) with the window marked, when the model takes several images.

Every step is recorded in the result's ``diagnostics`` (zoom window, SAM prompt and IoU, what the model was given).
"""

from __future__ import annotations

import math

from ..prompts import Region
from ..results import Referring
from .base import Backend
from .hf.backend import crop_mask
from .prompting import _is_scribble


class EgxPipelineBackend(Backend):
    """Vision-language model + SAM (see the module docstring).

    Options: ``model_id`` (of the vision-language model), ``mllm`` (``"qwen-vl"`` or ``"florence2"``),
    ``sam_model_id``, ``device``, ``dtype``, ``colour`` / ``bands`` (rendering, for both models),
    ``mllm_options`` / ``sam_options`` (dicts passed to those backends, e.g. ``{"generation": {...}}``; any other
    keyword, e.g. ``max_pixels=``, goes to the vision-language backend too), ``masks`` (SAM masks for grounding
    boxes), ``mask_margin``, ``zoom_context``, ``min_zoom_px``, ``zoom_below`` (zoom in when the crop would be
    smaller than this fraction of the view's longer side), ``scene_context`` (0 disables the zoom-out context),
    ``min_prompt_cover`` (a SAM segment must cover this fraction of a point / stroke prompt, else the prompt itself
    is described)."""

    name = "egx"
    description = "vision-language grounding -> SAM masks; point/scribble -> SAM region -> referring; zoom in/out"

    def __init__(self, model_id=None, *, mllm: str = "qwen-vl", sam_model_id=None, device=None, dtype=None,
                 mllm_options: dict | None = None, sam_options: dict | None = None, masks: bool = True,
                 mask_margin: int = 2, zoom_context: float = 4.0, min_zoom_px: int = 64, zoom_below: float = 0.5,
                 scene_context: float = 3.0, min_prompt_cover: float = 0.5, colour: str = "auto", bands=None,
                 **more_mllm_options):
        self.mllm_name = mllm
        self.model_id = model_id
        self.sam_model_id = sam_model_id
        self.device, self.dtype = device, dtype
        rendering = {"colour": colour, "bands": bands}
        self.mllm_options = {**rendering, **more_mllm_options, **dict(mllm_options or {})}
        self.sam_options = {**rendering, **dict(sam_options or {})}
        self.min_prompt_cover = float(min_prompt_cover)
        self.masks = masks
        self.mask_margin = int(mask_margin)
        self.zoom_context = float(zoom_context)
        self.min_zoom_px = int(min_zoom_px)
        self.zoom_below = float(zoom_below)
        self.scene_context = float(scene_context)
        self._mllm = self._sam = None

    # -- parts ----------------------------------------------------------------------------------------
    def _options(self, model_id, extra):
        opts = dict(extra)
        if model_id is not None:
            opts.setdefault("model_id", model_id)
        if self.device is not None:
            opts.setdefault("device", self.device)
        if self.dtype is not None:
            opts.setdefault("dtype", self.dtype)
        return opts

    @property
    def mllm(self):
        """The vision-language backend (created on first use; its model loads on first call)."""
        if self._mllm is None:
            from .registry import get_backend

            self._mllm = get_backend(self.mllm_name, **self._options(self.model_id, self.mllm_options))
        return self._mllm

    @property
    def sam(self):
        """The SAM backend."""
        if self._sam is None:
            from .sam import SamBackend

            self._sam = SamBackend(**self._options(self.sam_model_id, self.sam_options))
        return self._sam

    # -- grounding ------------------------------------------------------------------------------------
    def ground(self, view, query):
        return self._with_masks(view, self.mllm.ground(view, query))

    def ground_batch(self, views, query: str, batch_size: int | None = None, progress: bool = True):
        """Ground ``query`` on many views (tiles) with batched generation, then SAM masks per view."""
        views = list(views)
        if hasattr(self.mllm, "ground_batch"):
            results = self.mllm.ground_batch(views, query, batch_size=batch_size, progress=progress)
        else:
            results = [self.mllm.ground(v, query) for v in views]
        return [self._with_masks(v, g) for v, g in zip(views, results)]

    def _with_masks(self, view, g):
        g.backend = self.name
        g.diagnostics["mllm"] = self.mllm.name
        if not (self.masks and len(g)):
            return g
        todo = [i for i, d in enumerate(g.detections) if d.mask is None]
        if not todo:
            return g
        segs = self.sam.segment_boxes(view, [g.detections[i].box for i in todo])
        empty = 0
        for i, (mask, score) in zip(todo, segs):
            det = g.detections[i]
            patch, origin = crop_mask(mask, det.box, self.mask_margin)
            det.attributes["sam_iou"] = score
            if patch is None:
                empty += 1
                continue
            det.mask, det.mask_origin = patch, origin
        g.diagnostics.update(sam=self.sam.model_id, sam_masks=len(todo) - empty, sam_empty=empty)
        return g

    # -- referring ------------------------------------------------------------------------------------
    def refer(self, view, region, instruction=None):
        if region is None:
            return self._describe(view, instruction)
        work, local, zoom = self.zoom_in(view, region)
        diag, stats = {"zoom": zoom}, {}
        target = local
        if local.kind == "point" or _is_scribble(local):
            mask, score, how = self.sam.segment_region(work, local)
            prompt_px = local.mask()
            cover = float((mask & prompt_px).sum()) / max(1, int(prompt_px.sum()))
            patch, origin = crop_mask(mask)
            stats.update(sam_iou=score, sam_prompt_cover=cover)
            if patch is not None and cover >= self.min_prompt_cover:
                target = region_from_mask(patch, origin, (work.height, work.width))
                stats.update(segment_area_px=int(patch.sum()))
                diag.update(sam_prompt=how, sam_region_bounds=target.bounds)
            else:
                diag["sam_prompt"] = (f"{how}: the segment covers {cover:.0%} of the prompt (needs "
                                      f"{self.min_prompt_cover:.0%}), so the prompt itself was described")
        inner = self.mllm.refer(work, target, instruction)
        diag.update(inner.diagnostics, mllm=self.mllm.name)
        if zoom is not None:
            diag["zoom_window"], diag["zoom_scale"] = work.window, work.scale
        stats.update(inner.stats)
        return Referring(inner.text, inner.label, inner.confidence, dict(inner.scores), stats, backend=self.name,
                         crs=view.crs, transform=view.transform, grid_shape=(view.height, view.width),
                         diagnostics=diag)

    def zoom_in(self, view, region):
        """``(view to use, region in it, zoom note)``: a full-resolution crop around a prompt that is small in
        ``view`` (``zoom_context`` times its extent, at least ``min_zoom_px``), else ``view`` itself."""
        x0, y0, x1, y1 = region.bounds
        sx, sy = view.scale
        side_view = max(max(x1 - x0, y1 - y0) * self.zoom_context, self.min_zoom_px / max(sx, sy))
        if side_view >= self.zoom_below * max(view.width, view.height):
            return view, region, None
        t = view.pixel_transform
        scene_region = region.map_pixels(t.a, t.b, t.d, t.e, t.c, t.f, view.scene.shape)
        cx, cy = t @ ((x0 + x1) / 2, (y0 + y1) / 2)
        half = side_view * max(sx, sy) / 2
        sub = view.scene.view((cx - half, cy - half, cx + half, cy + half), max_size=max(view.width, view.height))
        return sub, sub.region(scene_region), f"zoomed in to {sub.window} (scene px) at scale {sub.scale[0]:.3g}"

    def _describe(self, view, instruction):
        context = None
        scene = view.scene
        whole = tuple(view.window) == (0, 0, scene.width, scene.height)
        takes_context = hasattr(self.mllm, "describe")
        if self.scene_context > 1 and not whole and takes_context:
            context = view.zoom_out(self.scene_context, max_size=max(view.width, view.height))
        if takes_context:
            result = self.mllm.describe(view, instruction, context=context)
        else:
            result = self.mllm.refer(view, None, instruction)
        result.backend = self.name
        result.diagnostics.update(mllm=self.mllm.name,
                                  zoom_out=None if context is None else f"context {context.window} (scene px)")
        return result

    def capabilities(self) -> dict:
        return {"modalities": list(self.modalities), "mllm": self.mllm_name, "model_id": self.model_id,
                "sam_model_id": self.sam_model_id or "facebook/sam-vit-base"}


def region_from_mask(patch, origin, grid_shape) -> Region:
    """A free-form :class:`~egx_notebook.prompts.Region` from a boolean mask patch (kept exactly) on a grid."""
    import shapely
    from rasterio import features
    from rasterio.transform import Affine
    from shapely.geometry import shape

    ox, oy = origin
    polys = [shape(g) for g, v in features.shapes(patch.astype("uint8"), mask=patch,
                                                  transform=Affine.translation(ox, oy)) if v == 1]
    geom = shapely.union_all(polys)
    if math.isclose(geom.area, 0.0):
        geom = geom.buffer(0.5)
    return Region("freeform", geom, tuple(grid_shape), None, patch, tuple(origin))
