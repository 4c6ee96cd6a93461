"""Backends by name. Built-ins register here; third-party packages can register through the
``egx_notebook.backends`` entry-point group (``name = "package.module:BackendClass"``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from ..errors import BackendError
from .base import Backend

#: Name of the backend used when none is given (override with the EGX_BACKEND environment variable).
DEFAULT_BACKEND = "analytic"


@dataclass
class _Entry:
    factory: Callable[..., Backend] | str  # a callable, or "module:attr" imported on first use
    description: str


_REGISTRY: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}
_INSTANCES: dict[tuple, Backend] = {}
_ENTRY_POINTS_LOADED = False


def register_backend(name: str, factory, description: str = "", aliases=()) -> None:
    """Register ``factory`` (a Backend subclass, a callable returning one, or ``"module:attr"``) as ``name``."""
    key = name.lower()
    _REGISTRY[key] = _Entry(factory, description)
    for alias in aliases:
        _ALIASES[alias.lower()] = key
    for cached in [k for k in _INSTANCES if k[0] == key]:
        del _INSTANCES[cached]


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="egx_notebook.backends"):
        if ep.name.lower() not in _REGISTRY:
            _REGISTRY[ep.name.lower()] = _Entry(ep.value, f"plugin from {ep.value}")


def list_backends() -> dict[str, str]:
    """``{name: description}`` of every registered backend."""
    _load_entry_points()
    return {name: entry.description for name, entry in sorted(_REGISTRY.items())}


def get_backend(backend=None, **options) -> Backend:
    """The backend named ``backend`` (default: ``EGX_BACKEND`` or ``"analytic"``), built once per process
    and set of ``options``; a :class:`Backend` instance is returned unchanged."""
    if isinstance(backend, Backend):
        return backend
    _load_entry_points()
    name = (backend or os.environ.get("EGX_BACKEND") or DEFAULT_BACKEND).lower()
    name = _ALIASES.get(name, name)
    if name not in _REGISTRY:
        raise BackendError(f"unknown backend {backend!r}; registered backends: {', '.join(sorted(_REGISTRY))}")
    key = (name, tuple(sorted((k, repr(v)) for k, v in options.items())))
    if key not in _INSTANCES:
        factory = _REGISTRY[name].factory
        if isinstance(factory, str):
            import importlib

            module, _, attr = factory.partition(":")
            try:
                factory = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise BackendError(f"backend {name!r} cannot be loaded ({exc}); is its package installed? "
                                   "Model backends need `pip install egx-notebook[models]`") from exc
        _INSTANCES[key] = factory(**options)
    return _INSTANCES[key]


register_backend("analytic", "egx_notebook.backends.analytic.backend:AnalyticBackend",
                 "offline, no weights: backscatter/CFAR (SAR), temperature and local contrast (thermal), "
                 "spectral indices (optical)", aliases=("default", "offline"))
register_backend("florence2", "egx_notebook.backends.florence2:Florence2Backend",
                 "Florence-2 (transformers, needs weights): region captions, phrase grounding, referring "
                 "segmentation", aliases=("florence-2", "florence"))
register_backend("qwen-vl", "egx_notebook.backends.qwen_vl:QwenVLBackend",
                 "Qwen2.5-VL / Qwen3-VL (transformers, needs weights): referring with visual markers, JSON grounding, "
                 "scene questions", aliases=("qwen", "qwen2.5-vl", "qwen3-vl"))
register_backend("sam", "egx_notebook.backends.sam:SamBackend",
                 "SAM (transformers, needs weights): box / point / scribble / mask prompt -> pixel mask")
register_backend("egx", "egx_notebook.backends.pipeline:EgxPipelineBackend",
                 "combined (needs weights): vision-language grounding -> SAM masks; point/scribble -> SAM region -> "
                 "referring; zoom-in crops, zoom-out context", aliases=("pipeline", "earthgpt-x"))
