"""SAM (``SamModel``, native in transformers) as the pixel-perception step: prompt -> mask.

- a **box** prompt -> ``input_boxes`` (many boxes in one forward pass: grounding boxes -> masks);
- a **point** -> one positive ``input_points`` with SAM's three candidate masks, the best by predicted IoU kept;
- a **scribble** -> positive points spread along the stroke, its bounding box and the stroke as a mask prompt;
- a **polygon or mask** -> its bounding box plus the shape itself as a mask prompt (low-resolution logits), so the
  shape is used, not only its box.

The image embedding of a view is computed once and reused for every prompt on that view. SAM reads no text:
:meth:`SamBackend.ground` explains that and points to the combined ``egx`` backend. :meth:`SamBackend.segment`
returns a :class:`~egx_notebook.results.Grounding` of masks (remapped to scene pixels like any result).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedQueryError
from ..results import Detection, Grounding, Referring
from .hf.backend import HFBackend, crop_mask, to_pil
from .prompting import _is_scribble

#: Largest number of prompts decoded in one forward pass.
MAX_PROMPTS = 32


class SamBackend(HFBackend):
    """SAM box / point / scribble / mask prompts -> masks (see the module docstring).

    Options (besides ``model_id``, ``device``, ``dtype``, ``colour``, ``bands``): ``mask_logit`` (the logit given
    to inside / outside pixels of a mask prompt), ``stroke_points`` (positive points sampled along a scribble)."""

    name = "sam"
    kind = "mask-generation"
    description = "SAM (transformers native): box / point / scribble / mask prompt -> pixel mask"
    default_model_id = "facebook/sam-vit-base"
    model_types = ("sam",)

    def __init__(self, model_id=None, *, mask_logit: float = 6.0, stroke_points: int = 6, **options):
        options.pop("max_new_tokens", None)
        super().__init__(model_id, **options)
        self.mask_logit = float(mask_logit)
        self.stroke_points = int(stroke_points)
        self._embedded = None  # (key, embedding, original (h, w), reshaped (h, w))

    # -- image embedding ------------------------------------------------------------------------------
    def _embed(self, view):
        import torch

        key = (id(view.scene), tuple(view.window), tuple(view.shape), self.colour, repr(self.bands))
        if self._embedded is not None and self._embedded[0] == key:
            return self._embedded
        loaded = self.loaded
        inputs = loaded.processor(images=to_pil(self.image(view).rgb), return_tensors="pt")
        pixels = inputs["pixel_values"].to(loaded.device, loaded.dtype)
        with torch.inference_mode():
            emb = loaded.model.get_image_embeddings(pixels)
        original = tuple(int(v) for v in inputs["original_sizes"][0].tolist())
        reshaped = tuple(int(v) for v in inputs["reshaped_input_sizes"][0].tolist())
        self._embedded = (key, emb, original, reshaped)
        return self._embedded

    def _decode(self, view, *, points=None, labels=None, boxes=None, masks=None, multimask=False):
        """Masks (n, k, h, w) bool on the view grid and IoU predictions (n, k) for n prompts."""
        import torch

        loaded = self.loaded
        _, emb, (oh, ow), (rh, rw) = self._embed(view)
        sx, sy = rw / ow, rh / oh  # SAM's coordinate normalisation: original image -> resized input
        kw = {}
        if boxes is not None:
            b = np.asarray(boxes, dtype=np.float32).reshape(1, -1, 4) * np.array([sx, sy, sx, sy], np.float32)
            kw["input_boxes"] = torch.from_numpy(b).to(loaded.device, loaded.dtype)
        if points is not None:
            p = np.asarray(points, dtype=np.float32) * np.array([sx, sy], np.float32)
            kw["input_points"] = torch.from_numpy(p).to(loaded.device, loaded.dtype)
            kw["input_labels"] = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=loaded.device)
        if masks is not None:
            kw["input_masks"] = torch.from_numpy(masks).to(loaded.device, loaded.dtype)
        with torch.inference_mode():
            out = loaded.model(image_embeddings=emb, multimask_output=multimask, **kw)
        full = loaded.processor.post_process_masks(out.pred_masks.float().cpu(), [[oh, ow]], [[rh, rw]])[0]
        return full.numpy().astype(bool), out.iou_scores[0].float().cpu().numpy()

    def _mask_prompt(self, view, mask: np.ndarray) -> np.ndarray:
        """A view-grid boolean mask as SAM's low-resolution mask input (1, 1, m, m) of logits."""
        from PIL import Image

        _, emb, _, (rh, rw) = self._embed(view)
        pad = getattr(self.loaded.processor.image_processor, "pad_size", None) or {}
        side = int(pad.get("height") or self.loaded.model.config.vision_config.image_size)  # padded model input
        m = 4 * int(emb.shape[-1])  # mask input size = 4 x embedding size
        resized = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((rw, rh), Image.NEAREST)) > 127
        padded = np.zeros((side, side), dtype=np.float32)
        padded[:rh, :rw] = resized
        f = side // m
        low = padded[:m * f, :m * f].reshape(m, f, m, f).mean(axis=(1, 3))
        logits = np.where(low >= 0.5, self.mask_logit, -self.mask_logit).astype(np.float32)
        return logits[None, None]

    # -- public ---------------------------------------------------------------------------------------
    def segment_boxes(self, view, boxes) -> list[tuple[np.ndarray, float]]:
        """One ``(mask, predicted IoU)`` per box ``(x0, y0, x1, y1)`` (view pixels); masks cover the view grid."""
        boxes = [tuple(float(v) for v in b) for b in boxes]
        out = []
        for i in range(0, len(boxes), MAX_PROMPTS):
            masks, scores = self._decode(view, boxes=boxes[i:i + MAX_PROMPTS])
            out.extend((masks[j, 0], float(scores[j, 0])) for j in range(masks.shape[0]))
        return out

    def segment_region(self, view, region) -> tuple[np.ndarray, float, str]:
        """``(mask, predicted IoU, how)`` for a :class:`~egx_notebook.prompts.Region` in view pixels; ``how`` says
        which SAM prompts were used."""
        if region.kind == "point":
            x, y = region.center
            masks, scores = self._decode(view, points=[[[[x, y]]]], labels=[[[1]]], multimask=True)
            best = int(np.argmax(scores[0]))
            return masks[0, best], float(scores[0, best]), "point (best of 3 candidate masks)"
        if region.kind == "box":
            (mask, score), = self.segment_boxes(view, [region.bounds])
            return mask, score, "box"
        shape = region.mask()
        kw = {"boxes": [region.bounds], "masks": self._mask_prompt(view, shape)}
        how = "bounding box + shape as mask prompt"
        if _is_scribble(region):
            pts = stroke_points(shape, self.stroke_points)
            if pts:
                kw.update(points=[[pts]], labels=[[[1] * len(pts)]])
                how = f"{len(pts)} points along the stroke + bounding box + stroke as mask prompt"
        masks, scores = self._decode(view, **kw)
        return masks[0, 0], float(scores[0, 0]), how

    def segment(self, view, prompts, label: str = "segment") -> Grounding:
        """Masks for ``prompts`` (Regions in view pixels, or boxes) as a Grounding in view pixels."""
        dets, hows = [], []
        for p in prompts:
            if isinstance(p, (tuple, list)):
                (mask, score), = self.segment_boxes(view, [p])
                how = "box"
            else:
                mask, score, how = self.segment_region(view, p)
            hows.append(how)
            patch, origin = crop_mask(mask)
            if patch is None:
                continue
            c0, r0 = origin
            box = (float(c0), float(r0), float(c0 + patch.shape[1]), float(r0 + patch.shape[0]))
            dets.append(Detection(box, label, score, patch, origin, {"sam_iou": score, "prompt": how}))
        diag = dict(self.base_diagnostics(), prompts=hows, empty=len(hows) - len(dets))
        return Grounding(label, dets, self.name, view.crs, view.transform, (view.height, view.width), {}, diag)

    def refer(self, view, region, instruction=None):
        """The SAM segment selected by the prompt, measured (SAM names nothing: the label is ``"segment"``).
        The segment is the result's ``mask`` (placed at ``mask_origin``), mapped to scene pixels by the API."""
        if region is None:
            raise UnsupportedQueryError("sam segments what a prompt selects; give a point, box or free-form prompt "
                                        "(or use backend='egx' to describe a scene)")
        mask, score, how = self.segment_region(view, region)
        area = int(mask.sum())
        prompt = region.mask()
        inside = int((mask & prompt).sum())
        patch, origin = crop_mask(mask)
        stats = {"segment_area_px": area, "segment_fraction_of_view": area / float(mask.size),
                 "sam_iou": score, "prompt_area_px": float(region.area_px),
                 "prompt_covered": inside / max(1, int(prompt.sum()))}
        text = (f"The {region.kind} prompt selects a segment of {area} px ({stats['segment_fraction_of_view']:.1%} of "
                f"the view); SAM's predicted IoU is {score:.2f}.")
        diag = dict(self.base_diagnostics(), how=how)
        if instruction:
            diag["instruction"] = "not passed: SAM reads no text"
        return Referring(text, "segment", score, {"segment": score}, stats, backend=self.name, crs=view.crs,
                         transform=view.transform, grid_shape=(view.height, view.width), diagnostics=diag,
                         mask=patch, mask_origin=origin or (0, 0))

    def ground(self, view, query):
        raise UnsupportedQueryError(f"sam turns prompts into masks but reads no text, so it cannot find {query!r}; "
                                    "use backend='egx' (vision-language grounding -> SAM masks) or "
                                    "SamBackend.segment(view, boxes)")


def stroke_points(mask: np.ndarray, n: int) -> list[list[float]]:
    """Up to ``n`` pixel centres of ``mask`` spread along its main axis (for a stroke: along the stroke)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0 or n <= 0:
        return []
    xy = np.stack([cols + 0.5, rows + 0.5], axis=1)
    centred = xy - xy.mean(axis=0)
    if len(xy) > 1:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        order = np.argsort(centred @ vt[0])
    else:
        order = np.arange(len(xy))
    picks = order[np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int)]
    return [[float(x), float(y)] for x, y in xy[np.unique(picks)]]
