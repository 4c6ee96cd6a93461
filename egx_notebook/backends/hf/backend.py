"""The base class of the ``transformers`` backends: options, lazy loading, rendering, result helpers."""

from __future__ import annotations

import math

import numpy as np

from ..base import Backend
from ..prompting import ModelImage, render_for_model
from .loading import Loaded, load_model


class HFBackend(Backend):
    """A backend that runs a ``transformers`` model.

    Options shared by every model backend:

    - ``model_id``: hub id or local checkpoint directory (default: :attr:`default_model_id`);
    - ``device``: ``None``/``"auto"`` (``device_map="auto"``), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``;
    - ``dtype``: ``None`` (bfloat16 on recent GPUs, float32 on CPU), ``"float16"``, ``"bfloat16"``, ``"float32"``;
    - ``colour`` / ``bands``: how multi-band optical data is rendered for the model (``"auto"``, ``"true"``,
      ``"false"`` colour, or explicit band names); SAR and thermal always use their modality rendering;
    - ``generation``: extra ``generate`` keyword arguments (e.g. ``{"num_beams": 3}``, ``logits_processor``);
    - ``batch_size``: views per ``generate`` call in :meth:`ground_batch`.

    The model loads on first use (or with :meth:`load`) and is shared by every backend on the same model.
    """

    #: ``"image-text-to-text"`` or ``"mask-generation"`` (see :func:`~.loading.load_model`).
    kind = "image-text-to-text"
    #: ``config.model_type`` values this backend can run (empty: any).
    model_types: tuple[str, ...] = ()
    default_model_id = ""
    default_max_new_tokens = 256

    def __init__(self, model_id=None, *, device=None, dtype=None, colour: str = "auto", bands=None,
                 max_new_tokens: int | None = None, generation: dict | None = None, batch_size: int = 4):
        self.model_id = str(model_id) if model_id is not None else self.default_model_id
        self.device = device
        self.dtype = dtype
        self.colour = colour
        self.bands = bands
        self.max_new_tokens = int(max_new_tokens or self.default_max_new_tokens)
        self.generation = dict(generation or {})
        self.batch_size = int(batch_size)
        self._loaded: Loaded | None = None

    @property
    def loaded(self) -> Loaded:
        """The model and processor (loaded on first access)."""
        if self._loaded is None:
            self._loaded = load_model(self.model_id, self.kind, self.device, self.dtype, self.model_types,
                                      backend=self.name)
        return self._loaded

    def load(self) -> HFBackend:
        """Load the model now (otherwise it loads on the first call); returns the backend."""
        _ = self.loaded
        return self

    def image(self, view) -> ModelImage:
        """``view`` rendered for the model, with its modality brief."""
        return render_for_model(view, self.colour, self.bands)

    def base_diagnostics(self) -> dict:
        loaded = self._loaded
        return {"model_id": self.model_id, "model_type": loaded.model_type if loaded else "",
                "device": str(loaded.device) if loaded else "", "dtype": str(loaded.dtype) if loaded else ""}

    def capabilities(self) -> dict:
        return {"modalities": list(self.modalities), "model_id": self.model_id, "kind": self.kind}

    def __repr__(self) -> str:
        state = "loaded" if self._loaded is not None else "not loaded"
        return f"<{type(self).__name__} {self.name!r} model_id={self.model_id!r} ({state})>"


def to_pil(rgb: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(rgb[..., :3]))


def polygon_mask(points, grid_shape) -> tuple[np.ndarray, tuple[int, int]] | tuple[None, None]:
    """Boolean mask (pixel centres inside; ``all_touched`` for slivers) of a pixel polygon on a grid of
    ``grid_shape = (h, w)``, cropped to its bounding window: ``(mask, (col, row) origin)``."""
    from rasterio import features
    from rasterio.transform import Affine
    from shapely.geometry import Polygon

    poly = Polygon(points)
    if not poly.is_valid:
        poly = poly.buffer(0)
    if poly.is_empty or poly.area <= 0:
        return None, None
    h, w = grid_shape
    x0, y0, x1, y1 = poly.bounds
    c0, r0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    c1, r1 = min(w, max(c0 + 1, math.ceil(x1))), min(h, max(r0 + 1, math.ceil(y1)))
    if c1 <= c0 or r1 <= r0:
        return None, None
    thin = poly.area < poly.length
    mask = features.rasterize([(poly, 1)], out_shape=(r1 - r0, c1 - c0), transform=Affine.translation(c0, r0),
                              fill=0, all_touched=thin, dtype="uint8").astype(bool)
    if not mask.any():
        return None, None
    return mask, (c0, r0)


def crop_mask(mask: np.ndarray, window=None, margin: int = 0):
    """``(patch, (col, row))`` of a full-grid boolean mask: its True pixels' bounding window (optionally limited
    to ``window = (x0, y0, x1, y1)`` grown by ``margin`` px); ``(None, None)`` when empty."""
    m = mask
    if window is not None:
        h, w = mask.shape
        x0, y0, x1, y1 = window
        c0, r0 = max(0, math.floor(x0) - margin), max(0, math.floor(y0) - margin)
        c1, r1 = min(w, math.ceil(x1) + margin), min(h, math.ceil(y1) + margin)
        m = np.zeros_like(mask)
        m[r0:r1, c0:c1] = mask[r0:r1, c0:c1]
    rows, cols = np.nonzero(m)
    if rows.size == 0:
        return None, None
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    return m[r0:r1, c0:c1].copy(), (int(c0), int(r0))
