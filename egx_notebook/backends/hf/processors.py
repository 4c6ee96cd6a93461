"""Processors that work with or without torchvision.

In transformers 5, processors that carry a ``video_processor`` (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) cannot be built
without torchvision: the video processor classes exist only for the torchvision backend, and
``ProcessorMixin`` fails while validating ``video_processor=None``. The backends only send images, so when
torchvision is missing (or broken, as with a CUDA torchvision next to a CPU torch) they use the subclasses here,
which drop the video attribute and keep everything else (tokenizer, image processor, chat template).
Image processors fall back to their PIL implementations on their own.
"""

from __future__ import annotations

from functools import cache, lru_cache

#: model_type -> (module, processor class) of processors that carry a video processor.
_VIDEO_PROCESSORS = {
    "qwen2_vl": ("transformers", "Qwen2VLProcessor"),
    "qwen2_5_vl": ("transformers", "Qwen2_5_VLProcessor"),
    "qwen3_vl": ("transformers", "Qwen3VLProcessor"),
    "qwen3_vl_moe": ("transformers", "Qwen3VLProcessor"),
}


@lru_cache(maxsize=1)
def torchvision_usable() -> bool:
    """True when ``import torchvision`` works (a CUDA-only build next to a CPU torch fails at import)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or RuntimeError from mismatched operators
        return False
    return True


@cache
def image_only_processor_class(model_type: str):
    """A subclass of the family's processor without the video processor (None for families that need none)."""
    if model_type not in _VIDEO_PROCESSORS:
        return None
    import importlib

    module, name = _VIDEO_PROCESSORS[model_type]
    base = getattr(importlib.import_module(module), name)

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        kwargs.pop("video_processor", None)
        base.__init__(self, image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                      chat_template=chat_template, **kwargs)

    return type(f"ImageOnly{name}", (base,), {"__init__": __init__, "__module__": __name__,
                                               "__doc__": f"{name} for images only (no torchvision needed)."})


def load_processor(source: str, model_type: str, local_only: bool = False):
    """The processor for a checkpoint: ``AutoProcessor``, or the image-only subclass when torchvision is unusable."""
    from transformers import AutoProcessor

    kwargs = {"trust_remote_code": False, "local_files_only": local_only}
    cls = image_only_processor_class(model_type)
    if cls is not None and not torchvision_usable():
        processor = cls.from_pretrained(source, **kwargs)
    else:
        processor = AutoProcessor.from_pretrained(source, **kwargs)
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is not None and model_type in _VIDEO_PROCESSORS:
        tokenizer.padding_side = "left"  # decoder-only: batched prompts must end together
    return processor
