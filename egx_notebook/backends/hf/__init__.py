"""Running Hugging Face ``transformers`` models for the model backends.

- :mod:`.loading`: ``model_id`` (hub id or local directory) -> model + processor, once per process; offline-aware,
  safetensors only, ``trust_remote_code=False``, ``device_map="auto"`` and a dtype chosen for the device;
- :mod:`.processors`: processors that work without torchvision (image-only Qwen-VL processors);
- :mod:`.generation`: batched ``generate`` with decoded text and a per-answer confidence;
- :mod:`.backend`: the base class the Florence-2, Qwen-VL and SAM backends share.

Nothing here imports torch or transformers at import time; they are imported when a model is loaded.
"""

from .loading import Loaded, clear_model_cache, load_model, pick_device_map, pick_dtype

__all__ = ["Loaded", "load_model", "clear_model_cache", "pick_dtype", "pick_device_map"]
