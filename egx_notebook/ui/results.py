"""The Explorer's results: one map layer per Describe / Find result, the results list, the legend, the answer
area and the feature popup. Selecting a result (in the list or on the map) highlights it."""

from __future__ import annotations

import html
from dataclasses import dataclass

from .layers import popup_html, result_features, result_style
from .style import Colours


@dataclass
class ResultEntry:
    """A result shown on the map: ``name`` (``R1`` describe, ``F1`` find), the library result and its layer."""

    name: str
    kind: str  # "describe" | "find"
    result: object
    layer: object
    features: dict
    prompt_id: int | None = None

    @property
    def title(self) -> str:
        r = self.result
        if self.kind == "describe":
            return f"{self.name} {r.label} ({r.confidence:.2f}) - {r.level}"
        return f"{self.name} {r.query!r}: {len(r)} found"

    def window(self, index: int | None = None):
        """Scene pixel bounds of the result (of detection ``index``); None for an empty Find."""
        r = self.result
        if self.kind == "describe":
            return r.pixel_geometry().bounds
        boxes = [r[index].box] if index is not None else [d.box for d in r]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))


class ResultShelf:
    """Results of one Explorer and their widgets. ``on_pick(name, index)`` is called when a feature is clicked."""

    def __init__(self, map_widget, panel, frame, on_pick):
        import ipywidgets as W

        self.map, self.panel, self.frame, self.on_pick = map_widget, panel, frame, on_pick
        self.entries: list[ResultEntry] = []
        self.colours = Colours()
        self.counts = {"describe": 0, "find": 0}
        self.selected: tuple | None = None
        self.popup = W.HTML("")
        self.legend_control = None
        self.quiet = False  # True while the list is changed from code (not a user's pick)

    def get(self, name: str) -> ResultEntry:
        for r in self.entries:
            if r.name == name:
                return r
        raise KeyError(f"no result {name!r}; results: {[r.name for r in self.entries]}")

    def make(self, kind: str, result, prompt_id: int | None) -> ResultEntry:
        """Build the layer of a result (nothing is shown or recorded yet, so a later failure changes nothing)."""
        import ipyleaflet

        name = ("R" if kind == "describe" else "F") + str(self.counts[kind] + 1)
        features = result_features(result, self.frame, self.colours)
        title = (f"{name} describe: {result.label}" if kind == "describe"
                 else f"{name} find {result.query!r} ({len(result)})")
        layer = ipyleaflet.GeoJSON(data=features, name=title, hover_style={"weight": 4, "fillOpacity": 0.5},
                                   point_style={"radius": 7, "fillOpacity": 0.8})
        layer.popup = self.popup
        made = ResultEntry(name, kind, result, layer, features, prompt_id)
        layer.on_click(lambda **event: self._clicked(made, event))
        return made

    def add(self, made: ResultEntry, style) -> None:
        self.counts[made.kind] += 1
        self.map.add(made.layer)
        self.entries.append(made)
        self.refresh_list(select=(made.name, None))
        self.refresh_legend(style)
        self.show_answer(made)

    def clear(self, style) -> None:
        for r in self.entries:
            if r.layer in self.map.layers:
                self.map.remove(r.layer)
        self.entries.clear()
        self.colours = Colours()
        self.selected = None
        self.refresh_list()
        self.panel.answer.value = ""
        self.refresh_legend(style)

    def select(self, name: str, index: int | None = None) -> ResultEntry:
        """Highlight result ``name`` (or its detection ``index``) and show its answer."""
        entry = self.get(name)
        self.selected = (name, index)
        for r in self.entries:
            feats = []
            for f in r.features["features"]:
                props = dict(f["properties"])
                chosen = r is entry and (index is None or props.get("egx_index") == index)
                props["style"] = result_style(self.colours(str(props.get("label", "result"))),
                                              referring=r.kind == "describe", selected=chosen)
                feats.append({**f, "properties": props})
            r.layer.data = {**r.features, "features": feats}
        self.show_answer(entry)
        return entry

    # -- widgets -------------------------------------------------------------------------------------------
    def show_answer(self, made: ResultEntry) -> None:
        r = made.result
        if made.kind == "describe":
            body = f"<b>{made.name}</b> {html.escape(r.label)} ({r.confidence:.2f})<br>{html.escape(r.text)}"
        else:
            labels = ", ".join(f"{html.escape(d.label)} {d.score:.2f}" for d in list(r)[:8])
            note = html.escape(str(r.diagnostics.get("note", ""))) if r.diagnostics else ""
            body = (f"<b>{made.name}</b> {html.escape(repr(r.query))}: {len(r)} found"
                    + (f"<br><small>{labels}</small>" if labels else "")
                    + (f"<br><small>{note}</small>" if note else ""))
        self.panel.answer.value = body

    def refresh_list(self, select=None) -> None:
        options = []
        for r in self.entries:
            options.append((r.title, (r.name, None)))
            if r.kind == "find":
                options += [(f"    {r.name}.{i + 1} {d.label} {d.score:.2f}", (r.name, i))
                            for i, d in enumerate(r.result)]
        self.quiet = True
        try:
            self.panel.results.options = options
            self.panel.results.value = select if select in [v for _, v in options] else None
        finally:
            self.quiet = False

    def refresh_legend(self, style) -> None:
        """The panel legend (scene value scale + result labels) and the map's legend control."""
        import ipyleaflet

        labels = dict(self.colours.assigned)
        self.panel.set_legend(style.describe(), style.colorbar_css(), labels)
        if labels and self.legend_control is None:
            self.legend_control = ipyleaflet.LegendControl(labels, title="Results", position="bottomright")
            self.map.add(self.legend_control)
        elif labels:
            self.legend_control.legend = labels
        elif self.legend_control is not None:
            self.map.remove(self.legend_control)
            self.legend_control = None

    def _clicked(self, entry: ResultEntry, event: dict) -> None:
        props = event.get("properties") or (event.get("feature") or {}).get("properties") or {}
        self.popup.value = popup_html(props)
        index = props.get("egx_index") if entry.kind == "find" else None
        self.quiet = True
        try:
            self.panel.results.value = (entry.name, index)
        finally:
            self.quiet = False
        self.on_pick(entry.name, index)
