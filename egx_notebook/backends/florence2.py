"""Florence-2 (``Florence2ForConditionalGeneration``, native in transformers 5; converted checkpoints such as
``florence-community/Florence-2-base`` / ``-large``).

- **referring**: ``<REGION_TO_CATEGORY>`` (label) and ``<REGION_TO_DESCRIPTION>`` (text) in one batched call, the
  prompt's box as ``<loc_..>`` tokens (:class:`~egx_notebook.backends.codecs.Florence2Codec`). Florence-2 reads
  boxes only, so a point becomes a small box around it and a free-form prompt its bounding box *plus* the image
  with the pixels outside the shape (inside that box) dimmed; both are stated in ``diagnostics["prompt_encoding"]``.
  Scene level: ``<CAPTION>`` (label) and ``<MORE_DETAILED_CAPTION>`` (text).
- **grounding**: ``<CAPTION_TO_PHRASE_GROUNDING>`` (default), ``<OPEN_VOCABULARY_DETECTION>``, or
  ``<REFERRING_EXPRESSION_SEGMENTATION>`` (polygons -> pixel masks), chosen with ``ground_task=``;
  :meth:`Florence2Backend.segment` always segments.

Florence-2 takes task tokens, not free instructions: the modality brief and ``instruction`` cannot be passed to it
(``diagnostics["instruction"]`` says so when one was given). Scores are the answer's token probability.
"""

from __future__ import annotations

import math

from ..results import Detection, Grounding, Referring
from .codecs import Florence2Codec
from .hf.backend import HFBackend, polygon_mask, to_pil
from .hf.generation import batches, generate
from .parsing import florence_text, parse_florence
from .prompting import dim_outside

PHRASE_GROUNDING = "<CAPTION_TO_PHRASE_GROUNDING>"
OPEN_VOCABULARY = "<OPEN_VOCABULARY_DETECTION>"
SEGMENTATION = "<REFERRING_EXPRESSION_SEGMENTATION>"
GROUND_TASKS = (PHRASE_GROUNDING, OPEN_VOCABULARY, SEGMENTATION)


class Florence2Backend(HFBackend):
    """Florence-2 referring (region -> category + description) and grounding (phrase -> boxes or masks).

    Options (besides those of :class:`~egx_notebook.backends.hf.backend.HFBackend`): ``ground_task`` (one of
    ``GROUND_TASKS``), ``caption_task`` for scene descriptions, ``point_box_px`` (side of the box a point prompt
    becomes; default 1/16 of the view's shorter side, at least 8 px)."""

    name = "florence2"
    description = "Florence-2 (transformers native): region captions, phrase grounding, referring segmentation"
    default_model_id = "florence-community/Florence-2-base"
    model_types = ("florence2",)
    default_max_new_tokens = 256

    def __init__(self, model_id=None, *, ground_task: str = PHRASE_GROUNDING,
                 caption_task: str = "<MORE_DETAILED_CAPTION>", point_box_px: float | None = None, **options):
        super().__init__(model_id, **options)
        if ground_task not in GROUND_TASKS:
            raise ValueError(f"ground_task must be one of {GROUND_TASKS}, not {ground_task!r}")
        self.ground_task = ground_task
        self.caption_task = caption_task
        self.point_box_px = point_box_px

    # -- model calls ---------------------------------------------------------------------------------
    def _run(self, images, prompts):
        loaded = self.loaded
        inputs = loaded.processor(text=list(prompts), images=list(images), return_tensors="pt", padding=True)
        return generate(loaded, inputs, max_new_tokens=self.max_new_tokens, skip_special_tokens=False,
                        options=self.generation)

    # -- referring -----------------------------------------------------------------------------------
    def region_box(self, view, region) -> tuple[tuple[float, float, float, float], str]:
        """The box Florence-2 is given for ``region`` (view pixels) and how the prompt was encoded."""
        if region.kind == "point":
            side = self.point_box_px or max(8.0, min(view.width, view.height) / 16)
            x, y = region.center
            box = (max(0.0, x - side / 2), max(0.0, y - side / 2), min(view.width, x + side / 2),
                   min(view.height, y + side / 2))
            return box, f"point given as a {side:g} px box around it (Florence-2 reads boxes only)"
        if region.kind == "box":
            return region.bounds, "box as location tokens"
        return region.bounds, ("free-form shape given as its bounding box in location tokens, with the pixels "
                               "outside the shape inside that box dimmed on the image")

    def refer(self, view, region, instruction=None):
        mi = self.image(view)
        rgb = mi.rgb
        diag = {}
        if region is None:
            prompts = ["<CAPTION>", self.caption_task]
            diag["prompt_encoding"] = "whole view"
        else:
            codec = Florence2Codec((view.width, view.height))
            box, how = self.region_box(view, region)
            if region.kind == "freeform":
                rgb = dim_outside(rgb, region.mask(), region.window)
            locs = codec.format_box(codec.box_to_model(box))
            prompts = ["<REGION_TO_CATEGORY>" + locs, "<REGION_TO_DESCRIPTION>" + locs]
            diag.update(prompt_encoding=how, region_box=box, region_tokens=locs)
        if instruction:
            diag["instruction"] = "not passed: Florence-2 answers fixed tasks only; use backend='qwen-vl' for questions"
        image = to_pil(rgb)
        category, description = self._run([image, image], prompts)
        label = florence_text(category.text) or "unknown"
        text = florence_text(description.text) or label
        diag.update(self.base_diagnostics(), raw=[category.text, description.text], prompts=prompts,
                    rendering=mi.colour, modality_brief=mi.brief, confidence_text=description.confidence)
        extent = (0.0, 0.0, float(view.width), float(view.height)) if region is None else None
        return Referring(text, label, category.confidence, {label: category.confidence}, {}, backend=self.name,
                         crs=view.crs, transform=view.transform, grid_shape=(view.height, view.width), extent=extent,
                         diagnostics=diag)

    # -- grounding -----------------------------------------------------------------------------------
    def ground(self, view, query):
        return self.ground_batch([view], query)[0]

    def segment(self, view, query):
        """Referring segmentation: pixel masks (from Florence-2 polygons) of what ``query`` names."""
        return self.ground_batch([view], query, task=SEGMENTATION)[0]

    def ground_batch(self, views, query: str, task: str | None = None, batch_size: int | None = None,
                     progress: bool = True) -> list[Grounding]:
        """Ground ``query`` on each view (e.g. tiles), ``batch_size`` views per ``generate`` call; results in each
        view's pixels."""
        from tqdm.auto import tqdm

        task = task or self.ground_task
        views = list(views)
        out = []
        chunks = list(batches(views, batch_size or self.batch_size))
        bar = tqdm(total=len(views), desc=f"florence2 {query!r}", disable=not progress or len(chunks) < 2)
        for chunk in chunks:
            images = [self.image(v) for v in chunk]
            gens = self._run([to_pil(m.rgb) for m in images], [task + query] * len(chunk))
            for view, mi, gen in zip(chunk, images, gens):
                out.append(self._grounding(view, query, task, gen, mi))
            bar.update(len(chunk))
        bar.close()
        return out

    def _grounding(self, view, query, task, gen, mi) -> Grounding:
        codec = Florence2Codec((view.width, view.height))
        parsed = parse_florence(gen.text, codec, default_label=query, polygons=task == SEGMENTATION)
        dets = []
        for item in parsed.items:
            attrs = {"score_source": "answer probability"}
            mask = origin = None
            if item.polygon is not None:
                mask, origin = polygon_mask(item.polygon, (view.height, view.width))
                if mask is None:
                    parsed.dropped["empty_polygon"] += 1
                    continue
                attrs["polygon_vertices"] = len(item.polygon)
            dets.append(Detection(item.box, item.label or query, gen.confidence, mask, origin or (0, 0), attrs))
        diag = parsed.diagnostics()
        diag.update(self.base_diagnostics(), task=task, confidence=gen.confidence, rendering=mi.colour,
                    answer_tokens=gen.tokens)
        if not math.isfinite(gen.confidence):
            diag["confidence"] = 0.0
        return Grounding(query, dets, self.name, view.crs, view.transform, (view.height, view.width),
                         {"task": task, "phrase": query}, diag)
