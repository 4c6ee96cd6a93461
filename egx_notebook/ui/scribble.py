"""The freehand scribble tool: an anywidget whose front end (``widgets/scribble.js``) draws on a canvas over the
map and sends each finished stroke back as container pixels; :class:`ScribbleTool` hands strokes to callbacks.

The JavaScript and CSS sources live in ``widgets/`` at the top of the repository; ``egx_notebook/ui/static`` is a
link to that folder, packaged into the wheel as package data.
"""

from __future__ import annotations

from importlib import resources

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher


def asset(name: str) -> str:
    """Text of a packaged front-end file (``egx_notebook/ui/static/<name>``)."""
    return resources.files("egx_notebook.ui").joinpath("static", name).read_text(encoding="utf-8")


class ScribbleTool(anywidget.AnyWidget):
    """A toggle + brush width shown on the map; while active, dragging on the map draws a stroke.

    ``on_stroke(callback)`` registers ``callback(points, size, width_px)``: the stroke's points in map-container
    CSS pixels, the container size ``(w, h)`` and the brush width in screen pixels."""

    _esm = asset("scribble.js")
    _css = asset("scribble.css")

    active = traitlets.Bool(False).tag(sync=True)
    width_px = traitlets.Float(8.0).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._stroke_callbacks = CallbackDispatcher()
        self.on_msg(self._handle_message)

    def on_stroke(self, callback, remove: bool = False) -> None:
        self._stroke_callbacks.register_callback(callback, remove=remove)

    def _handle_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "stroke":
            points = [tuple(map(float, p)) for p in content.get("points") or []]
            if points:
                self._stroke_callbacks(points=points, size=tuple(map(float, content["size"])),
                                       width_px=float(content.get("width_px", self.width_px)))
