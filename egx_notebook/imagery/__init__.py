"""Imagery: scenes, views, calibration to physical units and modality-aware rendering."""

from .open import open  # noqa: A004
from .scene import Scene
from .view import View

__all__ = ["open", "Scene", "View"]
