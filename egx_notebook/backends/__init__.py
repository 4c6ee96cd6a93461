"""Backends: the engines behind referring and grounding, plugged in by name."""

from .base import Backend
from .registry import get_backend, list_backends, register_backend

__all__ = ["Backend", "get_backend", "list_backends", "register_backend"]
