"""Qwen2.5-VL and Qwen3-VL (``AutoModelForImageTextToText``, native in transformers 5; also Qwen2-VL).

- **grounding**: the model is told what it is looking at (:func:`~egx_notebook.backends.prompting.modality_brief`)
  and asked for a JSON list of ``bbox_2d`` boxes, parsed tolerantly
  (:func:`~egx_notebook.backends.parsing.parse_boxes_json`) in the family's coordinates: Qwen2.5-VL absolute
  pixels of the *resized* image (:class:`~egx_notebook.backends.codecs.Qwen25Codec`, from ``image_grid_thw``),
  Qwen2-VL / Qwen3-VL 0-1000 (:class:`~egx_notebook.backends.codecs.Relative1000Codec`);
- **referring**: the prompt is given twice, as coordinates in the model's convention and as a visual marker drawn
  on the rendered image (box outline, point dot, scribble stroke, shape contour), so points and free-form shapes
  work as well as boxes; ``instruction`` asks a free question about the region;
- **scene level**: a description or a free question; :meth:`QwenVLBackend.describe` can add a zoomed-out context
  image with the view's extent marked on it.
"""

from __future__ import annotations

from shapely.geometry import box as shapely_box

from ..prompts import Region
from ..results import Detection, Grounding, Referring
from .codecs import Qwen25Codec, Relative1000Codec
from .hf.backend import HFBackend, to_pil
from .hf.generation import batches, generate
from .parsing import parse_boxes_json, parse_referring
from .prompting import draw_marker, grounding_instruction, referring_instruction, scene_instruction

#: model_type -> coordinate convention.
ABSOLUTE_TYPES = ("qwen2_5_vl",)
RELATIVE_TYPES = ("qwen2_vl", "qwen3_vl", "qwen3_vl_moe")


class QwenVLBackend(HFBackend):
    """Qwen2.5-VL / Qwen3-VL referring, grounding and scene questions (see the module docstring).

    Options (besides those of :class:`~egx_notebook.backends.hf.backend.HFBackend`): ``coordinates`` forces the
    convention (``"absolute"`` or ``"relative-1000"``; default from the checkpoint's model type), ``system`` an
    optional system message, ``max_pixels`` the largest image area given to the model (fewer visual tokens, less
    memory; default: the checkpoint's processor setting)."""

    name = "qwen-vl"
    description = "Qwen2.5-VL / Qwen3-VL (transformers native): marked-region referring, JSON grounding"
    default_model_id = "Qwen/Qwen2.5-VL-3B-Instruct"
    model_types = ABSOLUTE_TYPES + RELATIVE_TYPES
    default_max_new_tokens = 512

    def __init__(self, model_id=None, *, coordinates: str | None = None, system: str | None = None,
                 max_pixels: int | None = None, **options):
        super().__init__(model_id, **options)
        self.max_pixels = None if max_pixels is None else int(max_pixels)
        if coordinates not in (None, "absolute", "relative-1000"):
            raise ValueError("coordinates must be None, 'absolute' (Qwen2.5-VL) or 'relative-1000' (Qwen2/3-VL)")
        self.coordinates = coordinates
        self.system = system

    # -- coordinates ----------------------------------------------------------------------------------
    @property
    def convention(self) -> str:
        if self.coordinates:
            return self.coordinates
        model_type = self.loaded.model_type
        return "absolute" if model_type in ABSOLUTE_TYPES else "relative-1000"

    def pixel_limits(self) -> tuple[int, int]:
        """(min_pixels, max_pixels) of the images given to the model."""
        ip = self.loaded.processor.image_processor
        size = getattr(ip, "size", None) or {}
        min_px = int(size.get("shortest_edge") or getattr(ip, "min_pixels", None) or 56 * 56)
        max_px = int(size.get("longest_edge") or getattr(ip, "max_pixels", None) or 28 * 28 * 1280)
        if self.max_pixels is not None:
            max_px = max(self.max_pixels, min_px)
        return min_px, max_px

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """(W', H') the processor resizes a ``width x height`` image to (``smart_resize`` with its settings)."""
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

        ip = self.loaded.processor.image_processor
        min_px, max_px = self.pixel_limits()
        factor = int(ip.patch_size) * int(ip.merge_size)
        h, w = smart_resize(int(height), int(width), factor=factor, min_pixels=min_px, max_pixels=max_px)
        return int(w), int(h)

    def codec(self, width: int, height: int, resized=None):
        """The coordinate codec for an image of ``width x height`` view pixels."""
        if self.convention == "absolute":
            resized = tuple(resized or self.resized_size(width, height))
            return Qwen25Codec((float(width), float(height)), resized=resized)
        return Relative1000Codec((float(width), float(height)))

    # -- model calls ----------------------------------------------------------------------------------
    def _chat(self, n_images: int, text: str) -> str:
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": text}]
        messages = ([{"role": "system", "content": [{"type": "text", "text": self.system}]}] if self.system else [])
        messages.append({"role": "user", "content": content})
        return self.loaded.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _run(self, requests):
        """``requests``: list of (list of RGB arrays, instruction). Returns [(Generation, [resized (W', H') per
        image])]."""
        loaded = self.loaded
        images = [to_pil(rgb) for imgs, _ in requests for rgb in imgs]
        texts = [self._chat(len(imgs), text) for imgs, text in requests]
        extra = {}
        if self.max_pixels is not None:
            min_px, max_px = self.pixel_limits()
            extra["size"] = {"shortest_edge": min_px, "longest_edge": max_px}
        inputs = loaded.processor(images=images, text=texts, return_tensors="pt", padding=True, **extra)
        patch = int(loaded.processor.image_processor.patch_size)
        grids = inputs["image_grid_thw"].tolist()
        gens = generate(loaded, inputs, max_new_tokens=self.max_new_tokens, skip_special_tokens=True,
                        options=self.generation)
        out, k = [], 0
        for (imgs, _), gen in zip(requests, gens):
            sizes = [(int(g[2]) * patch, int(g[1]) * patch) for g in grids[k:k + len(imgs)]]
            k += len(imgs)
            out.append((gen, sizes))
        return out

    # -- grounding ------------------------------------------------------------------------------------
    def ground(self, view, query):
        return self.ground_batch([view], query)[0]

    def ground_batch(self, views, query: str, batch_size: int | None = None, progress: bool = True):
        """Ground ``query`` on each view (e.g. tiles), ``batch_size`` views per ``generate`` call; each result in
        its view's pixels."""
        from tqdm.auto import tqdm

        views = list(views)
        chunks = list(batches(views, batch_size or self.batch_size))
        bar = tqdm(total=len(views), desc=f"qwen-vl {query!r}", disable=not progress or len(chunks) < 2)
        out = []
        for chunk in chunks:
            prepared = []
            for view in chunk:
                mi = self.image(view)
                codec = self.codec(view.width, view.height)
                prepared.append((view, mi, codec, grounding_instruction(mi.brief, query, codec.describe())))
            answers = self._run([([mi.rgb], text) for _, mi, _, text in prepared])
            for (view, mi, codec, text), (gen, sizes) in zip(prepared, answers):
                out.append(self._grounding(view, query, mi, codec, text, gen, sizes[0]))
            bar.update(len(chunk))
        bar.close()
        return out

    def _checked_codec(self, codec, actual, diag):
        """The codec for the size the processor really used (they differ only for unusual processors)."""
        if isinstance(codec, Qwen25Codec) and tuple(codec.resized) != tuple(actual):
            diag["resized_mismatch"] = {"predicted": codec.resized, "actual": actual}
            return Qwen25Codec(codec.size, resized=tuple(actual))
        return codec

    def _grounding(self, view, query, mi, codec, text, gen, actual) -> Grounding:
        diag = {}
        codec = self._checked_codec(codec, actual, diag)
        parsed = parse_boxes_json(gen.text, codec, default_label=query)
        dets = []
        for item in parsed.items:
            attrs = {"score_source": "model score" if item.score is not None else "answer probability"}
            if item.point is not None:
                attrs["point_x"], attrs["point_y"] = item.point
            score = item.score if item.score is not None else gen.confidence
            dets.append(Detection(item.box, item.label or query, float(score), None, (0, 0), attrs))
        diag.update(parsed.diagnostics())
        diag.update(self.base_diagnostics(), coordinates=codec.name, resized=list(actual), prompt=text,
                    confidence=gen.confidence, rendering=mi.colour, answer_tokens=gen.tokens)
        return Grounding(query, dets, self.name, view.crs, view.transform, (view.height, view.width),
                         {"query": query, "coordinates": codec.name}, diag)

    # -- referring ------------------------------------------------------------------------------------
    def region_words(self, region, codec) -> str:
        """The prompt's coordinates in the model's convention, as words for the instruction."""
        if region.kind == "point":
            return (f"it is at the point {codec.format_point(codec.point_to_model(region.center))} "
                    f"({codec.describe()})")
        words = f"its bounding box is {codec.format_box(codec.box_to_model(region.bounds))} ({codec.describe()})"
        if region.kind == "freeform":
            words += "; the marking follows the exact shape, which matters more than the box"
        return words

    def refer(self, view, region, instruction=None):
        if region is None:
            return self.describe(view, instruction)
        mi = self.image(view)
        codec = self.codec(view.width, view.height)
        rgb, marker = draw_marker(mi.rgb, region, mi.marker)
        text = referring_instruction(mi.brief, marker, self.region_words(region, codec), instruction)
        (gen, sizes), = self._run([([rgb], text)])
        diag = {"marker": marker}
        self._checked_codec(codec, sizes[0], diag)
        return self._referring(view, gen, text, mi, diag, extent=None)

    def describe(self, view, instruction=None, context=None):
        """Scene-level description (or ``instruction``, a free question) of ``view``; ``context`` (a larger view of
        the same scene, e.g. ``view.zoom_out(3)``) is shown as a second image with the view's extent marked."""
        mi = self.image(view)
        images, ctx_words, diag = [mi.rgb], None, {}
        if context is not None:
            cmi = self.image(context)
            x0, y0, x1, y1 = view.window
            (cx0, cy0), (cx1, cy1) = context.from_scene_pixels(x0, y0), context.from_scene_pixels(x1, y1)
            extent = Region("box", shapely_box(cx0, cy0, cx1, cy1), (context.height, context.width))
            crgb, cmarker = draw_marker(cmi.rgb, extent, cmi.marker)
            images.append(crgb)
            ctx_words = (f"The second image shows the wider surroundings at lower resolution; the area of the first "
                         f"image is marked on it with {cmarker}.")
            diag.update(context_window=context.window, context_scale=context.scale)
        text = scene_instruction(mi.brief, instruction, ctx_words)
        (gen, _), = self._run([(images, text)])
        return self._referring(view, gen, text, mi, diag, extent=(0.0, 0.0, float(view.width), float(view.height)))

    def _referring(self, view, gen, text, mi, diag, extent) -> Referring:
        answer = parse_referring(gen.text)
        diag.update(answer.diagnostics)
        diag.update(self.base_diagnostics(), prompt=text, rendering=mi.colour, confidence=gen.confidence,
                    coordinates=self.convention, answer_tokens=gen.tokens)
        return Referring(answer.text, answer.label, gen.confidence, {answer.label: gen.confidence}, {},
                         backend=self.name, crs=view.crs, transform=view.transform,
                         grid_shape=(view.height, view.width), extent=extent, diagnostics=diag)
