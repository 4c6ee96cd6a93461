"""Load a ``transformers`` model and its processor once per process, safely and offline-aware.

``model_id`` is a Hugging Face hub id (``"florence-community/Florence-2-base"``) or a local directory holding a
saved checkpoint (``config.json``, ``*.safetensors``, processor files). Rules:

- ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) is respected at call time: only local files are used, and
  a model that is not on disk raises :class:`~egx_notebook.errors.BackendError` saying how to get the weights;
- weights load from safetensors only (``use_safetensors=True``) and ``trust_remote_code`` stays ``False``;
- ``device=None`` / ``"auto"`` places the model with ``device_map="auto"`` (accelerate); ``"cpu"``, ``"cuda:0"``,
  ``"mps"`` pin it to one device;
- ``dtype=None`` picks bfloat16 on GPUs that support it (float16 on older ones) and float32 on CPU;
- the (model, processor) pair is cached by (source, device, dtype): a second backend on the same model reuses it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ...errors import BackendError

_CACHE: dict[tuple, Loaded] = {}
_LOCK = threading.RLock()
_TRUE = ("1", "true", "yes", "on")

#: Weight files that are refused (pickle-based) and accepted.
_PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass
class Loaded:
    """A loaded model with its processor and where it lives."""

    model: object
    processor: object
    source: str
    model_type: str
    device: object  # torch.device that inputs go to
    dtype: object  # torch.dtype of the weights

    @property
    def is_encoder_decoder(self) -> bool:
        return bool(getattr(self.model.config, "is_encoder_decoder", False))


def require_torch():
    """Import torch and transformers, or explain how to install them."""
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError(f"model backends need PyTorch and transformers ({exc}); install them with "
                           "`pip install 'egx-notebook[models]'` (pick the torch build for your platform first: "
                           "https://pytorch.org/get-started/locally/)") from exc
    return torch, transformers


def offline() -> bool:
    """True when the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_like_path(model_id: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else with path syntax is meant as a directory."""
    return model_id.startswith((".", "/", "~")) or "\\" in model_id or model_id.count("/") > 1


def resolve_source(model_id) -> tuple[str, bool]:
    """``(source, is_local)``: an absolute directory for local checkpoints, else the hub id. Checks a local
    directory for ``config.json`` and safetensors weights and says what is wrong when they are missing."""
    if model_id is None or not str(model_id).strip():
        raise BackendError("no model given: pass model_id='<hub id>' or model_id='/path/to/checkpoint'")
    text = str(model_id).strip()
    path = Path(os.path.expanduser(text))
    if path.is_dir():
        check_checkpoint_dir(path)
        return str(path.resolve()), True
    if isinstance(model_id, Path) or _looks_like_path(text) or path.is_file():
        raise BackendError(f"model directory {text!r} does not exist (or is a file); pass the folder that holds "
                           "config.json and the *.safetensors weights, or a Hugging Face hub id such as "
                           "'florence-community/Florence-2-base'")
    return text, False


def check_checkpoint_dir(path: Path) -> None:
    """A local checkpoint needs ``config.json`` and safetensors weights (pickle weights are refused)."""
    files = [p.name for p in path.iterdir() if p.is_file()]
    if "config.json" not in files:
        raise BackendError(f"{path} is not a transformers checkpoint (no config.json); save one with "
                           "model.save_pretrained(dir) and processor.save_pretrained(dir), or download it with "
                           "`hf download <repo id> --local-dir <dir>`")
    if not any(f.endswith(".safetensors") or f.endswith(".safetensors.index.json") for f in files):
        pickles = [f for f in files if f.endswith(_PICKLE_WEIGHTS)]
        if pickles:
            raise BackendError(f"{path} only has pickle weights ({', '.join(sorted(pickles)[:3])}); egx-notebook "
                               "loads safetensors only (pickle files can run code). Convert once with "
                               "`model = AutoModel...from_pretrained(dir); model.save_pretrained(dir, "
                               "safe_serialization=True)` in a trusted environment, or download the safetensors "
                               "revision of the model")
        raise BackendError(f"{path} has no *.safetensors weights; download the complete checkpoint with "
                           "`hf download <repo id> --local-dir <dir>`")


def _missing_message(model_id: str, local: bool, exc: Exception) -> str:
    if local:
        return f"could not load the checkpoint in {model_id!r}: {exc}"
    if offline():
        return (f"model {model_id!r} is not on this machine and HF_HUB_OFFLINE is set, so it cannot be downloaded. "
                f"On a machine with network access run `hf download {model_id} --local-dir <folder>` (or "
                f"`huggingface-cli download {model_id} --local-dir <folder>`), copy the folder here and pass "
                f"model_id='<folder>'; or unset HF_HUB_OFFLINE to download it into the Hugging Face cache. ({exc})")
    return (f"model {model_id!r} could not be fetched from the Hugging Face hub ({exc}). Check the id and your "
            f"network; without network, download it elsewhere with `hf download {model_id} --local-dir <folder>` "
            "and pass model_id='<folder>'")


def pick_dtype(dtype=None, device=None):
    """The torch dtype to load with: explicit ``dtype`` (a torch dtype or a name such as ``"bfloat16"``, ``"fp16"``,
    ``"auto"`` = as stored), else bfloat16 on GPUs that support it, float16 on older GPUs, float32 on CPU."""
    torch, _ = require_torch()
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        key = dtype.strip().lower()
        if key == "auto":
            return "auto"
        key = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}.get(
            key, key)
        value = getattr(torch, key, None)
        if isinstance(value, torch.dtype):
            return value
        raise BackendError(f"unknown dtype {dtype!r}; use 'bfloat16', 'float16', 'float32' or 'auto'")
    if dtype is not None:
        raise BackendError(f"dtype must be a torch dtype or a name, not {type(dtype).__name__}")
    target = str(device or "auto").lower()
    cuda = torch.cuda.is_available() and (target == "auto" or target.startswith("cuda"))
    if cuda:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def pick_device_map(device=None):
    """``device_map`` for ``from_pretrained``: ``"auto"`` (accelerate places the layers) for ``None``/``"auto"``
    when accelerate is installed, else the one device (``{"": device}``); None means plain CPU loading."""
    if device is None or str(device).lower() == "auto":
        try:
            import accelerate  # noqa: F401
        except ImportError:
            return None
        return "auto"
    return {"": str(device)}


def load_model(model_id, kind: str = "image-text-to-text", device=None, dtype=None, model_types=(),
               backend: str = "") -> Loaded:
    """Load (or reuse) the model and processor for ``model_id``.

    ``kind`` is ``"image-text-to-text"`` (``AutoModelForImageTextToText``: Florence-2, Qwen2/2.5/3-VL, ...) or
    ``"mask-generation"`` (``AutoModel``: SAM); ``model_types`` (``config.model_type`` values) restricts the
    families accepted, checked from the config before any weight is read. Raises
    :class:`~egx_notebook.errors.BackendError` with a fix when the model is missing, not safetensors, or not the
    expected kind."""
    _, transformers = require_torch()
    source, local = resolve_source(model_id)
    torch_dtype = pick_dtype(dtype, device)
    device_map = pick_device_map(device)
    key = (source, kind, repr(device_map), str(torch_dtype))
    with _LOCK:
        if key in _CACHE:
            _check_type(model_id, _CACHE[key].model_type, model_types, backend or kind)
            return _CACHE[key]
        local_only = local or offline()
        common = {"trust_remote_code": False, "local_files_only": local_only}
        try:
            config = transformers.AutoConfig.from_pretrained(source, **common)
        except (OSError, ValueError, KeyError) as exc:
            raise BackendError(_missing_message(str(model_id), local, exc)) from exc
        model_type = getattr(config, "model_type", "")
        _check_type(model_id, model_type, model_types, backend or kind)
        if kind == "image-text-to-text":
            model_cls = transformers.AutoModelForImageTextToText
        elif kind == "mask-generation":
            model_cls = transformers.AutoModel
        else:
            raise BackendError(f"unknown model kind {kind!r}")
        kwargs = dict(common, dtype=torch_dtype, use_safetensors=True)
        if device_map is not None:
            kwargs["device_map"] = device_map
        try:
            model = model_cls.from_pretrained(source, **kwargs)
        except ValueError as exc:
            raise BackendError(f"{model_id!r} (model type {model_type!r}) cannot be loaded as {kind}: {exc}") from exc
        except OSError as exc:
            raise BackendError(_missing_message(str(model_id), local, exc)) from exc
        model.eval()
        from .processors import load_processor

        try:
            processor = load_processor(source, model_type, local_only)
        except (OSError, ValueError, TypeError) as exc:
            raise BackendError(f"the processor of {model_id!r} could not be loaded: {exc}") from exc
        loaded = Loaded(model, processor, source, model_type, _input_device(model), model.dtype)
        _CACHE[key] = loaded
        return loaded


def _check_type(model_id, model_type: str, model_types, backend: str) -> None:
    if model_types and model_type not in model_types:
        raise BackendError(f"{str(model_id)!r} is a {model_type!r} model; the {backend!r} backend runs "
                           f"{', '.join(model_types)} checkpoints. Use the backend that matches the model "
                           "(egx.list_backends()) or another model_id")


def _input_device(model):
    """Where inputs go: the device of the input embeddings (the first layer under ``device_map="auto"``)."""
    try:
        return model.get_input_embeddings().weight.device
    except Exception:  # noqa: BLE001
        return model.device


def clear_model_cache() -> None:
    """Forget every loaded model (frees memory once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()


def cached_models() -> list[str]:
    """Sources of the models loaded in this process."""
    return sorted({k[0] for k in _CACHE})
