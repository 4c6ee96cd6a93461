"""The Explorer's side panel (ipywidgets): controls, prompt and result lists, status line, progress and legend.

Only widgets and their layout live here; :mod:`egx_notebook.ui.explorer` wires them to actions.
"""

from __future__ import annotations

import html

import ipywidgets as W

PANEL_WIDTH = "370px"

_CSS = """
<style>
.egx-panel { font-size: 12px; }
.egx-panel .egx-title { font-weight: 600; }
.egx-status { min-height: 1.4em; }
.egx-status .egx-error { color: #b00020; font-weight: 600; }
.egx-status .egx-ok { color: #1b5e20; }
.egx-notice { color: #8a4b00; background: #fff4e0; padding: 2px 4px; border-radius: 3px; }
.egx-answer { background: #f6f8fa; border-left: 3px solid #33aaff; padding: 2px 6px; max-height: 160px;
              overflow-y: auto; }
.egx-legend .egx-swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
                          border: 1px solid #333; }
.egx-legend .egx-bar { height: 10px; border: 1px solid #333; }
</style>
"""


def _button(description: str, tooltip: str, icon: str = "", style: str = "") -> W.Button:
    b = W.Button(description=description, tooltip=tooltip, icon=icon, button_style=style,
                 layout=W.Layout(width="auto", min_width="82px"))
    b.add_class("egx-btn")
    b.add_class("egx-btn-" + description.lower().replace(" ", "-"))
    return b


class Panel:
    """All panel widgets as attributes, and ``widget`` (the assembled VBox)."""

    def __init__(self, title: str, backends: list[str], backend: str, display_options, export_path: str):
        self.css = W.HTML(_CSS)
        self.title = W.HTML(title)
        self.title.add_class("egx-title")
        self.notice = W.HTML("", layout=W.Layout(display="none"))
        self.notice.add_class("egx-notice")
        self.backend = W.Dropdown(options=backends, value=backend, description="Backend",
                                  layout=W.Layout(width="98%"))
        self.display = W.Dropdown(options=display_options, value=display_options[0], description="Display",
                                  layout=W.Layout(width="98%"))
        self.prompts = W.Select(options=[], rows=4, description="", layout=W.Layout(width="98%"))
        self.prompts.add_class("egx-prompt-list")
        self.remove_prompt = _button("Remove", "remove the selected prompt", "trash")
        self.text = W.Text(placeholder="instruction or query, e.g. 'ships' or 'the largest water body'",
                           layout=W.Layout(width="98%"))
        self.text.add_class("egx-query")
        self.describe = _button("Describe", "referring: what is inside the selected prompt (or the whole scene)?",
                                "comment", "primary")
        self.find = _button("Find", "grounding: find what the text names (around the selected prompt, or in the "
                            "whole scene)", "search", "primary")
        self.zoom_in = _button("Zoom in", "zoom the map to the selected result or prompt", "search-plus")
        self.zoom_out = _button("Zoom out", "zoom the map out (down to the whole scene)", "search-minus")
        self.analyze = _button("Analyze view", "describe (and find the text, if any) in the current map view, "
                               "read at the map's zoom level", "crosshairs")
        self.clear = _button("Clear", "remove all prompts and results", "eraser", "warning")
        self.export_path = W.Text(value=export_path, layout=W.Layout(width="62%"))
        self.export = _button("Export", "write prompts and results (.gpkg GeoPackage or .geojson)", "download")
        self.progress = W.IntProgress(value=0, min=0, max=3, layout=W.Layout(width="98%", visibility="hidden"))
        self.progress.add_class("egx-progress")
        self.status = W.HTML("Draw a point, box, polygon or scribble on the map, then Describe or Find.")
        self.status.add_class("egx-status")
        self.answer = W.HTML("")
        self.answer.add_class("egx-answer")
        self.results = W.Select(options=[], rows=7, layout=W.Layout(width="98%"))
        self.results.add_class("egx-result-list")
        self.legend = W.HTML("")
        self.legend.add_class("egx-legend")
        self.actions = [self.describe, self.find, self.analyze, self.export, self.clear, self.remove_prompt]
        box = W.Layout(flex_flow="row wrap", width="100%")
        self.widget = W.VBox([
            self.css, self.title, self.notice, self.backend, self.display,
            W.HTML("<b>Prompts</b> <small>(select one; none = whole scene)</small>"),
            self.prompts, W.HBox([self.remove_prompt]), self.text,
            W.HBox([self.describe, self.find, self.analyze], layout=box),
            W.HBox([self.zoom_in, self.zoom_out, self.clear], layout=box),
            W.HBox([self.export_path, self.export], layout=box),
            self.progress, self.status, self.answer,
            W.HTML("<b>Results</b> <small>(select to zoom)</small>"), self.results, self.legend,
        ], layout=W.Layout(width=PANEL_WIDTH, min_width=PANEL_WIDTH, padding="0 0 0 8px"))
        self.widget.add_class("egx-panel")

    # -- status --------------------------------------------------------------------------------------
    def set_status(self, message: str, kind: str = "info") -> None:
        cls = {"error": "egx-error", "ok": "egx-ok"}.get(kind, "egx-info")
        prefix = "\u26a0 " if kind == "error" else ""
        self.status.value = f"<span class='{cls}'>{prefix}{html.escape(message)}</span>"

    def set_notice(self, message: str) -> None:
        self.notice.value = html.escape(message)
        self.notice.layout.display = "" if message else "none"

    def set_busy(self, busy: bool) -> None:
        for b in self.actions:
            b.disabled = busy
        self.progress.layout.visibility = "visible" if busy else "hidden"
        self.progress.bar_style = "info" if busy else ""
        if not busy:
            self.progress.value = 0

    def set_progress(self, step: int, total: int, message: str) -> None:
        self.progress.max = max(1, total)
        self.progress.value = min(step, self.progress.max)
        self.set_status(message)

    def set_legend(self, style_description: str, colorbar_css: str | None, labels: dict) -> None:
        parts = [f"<div><b>Legend</b> <small>{html.escape(style_description)}</small></div>"]
        if colorbar_css:
            parts.append(f"<div class='egx-bar' style='background:{colorbar_css}'></div>")
        parts += [f"<span class='egx-swatch' style='background:{c}'></span>{html.escape(label)}&nbsp; "
                  for label, c in labels.items()]
        self.legend.value = "".join(parts)
