"""The Explorer: a map of a scene with drawn prompts, actions and result layers, inside Jupyter.

    from egx_notebook.ui import Explorer
    ex = Explorer(scene)          # or scene.explore()
    ex                            # shows the map and the panel

Draw a point, box, polygon (draw control) or a freehand scribble (the Scribble tool) on the map, type an
instruction or query, and click Describe (referring) or Find (grounding). Everything the buttons do is also a
method (:meth:`Explorer.describe`, :meth:`Explorer.find`, :meth:`Explorer.analyze_view`, ...), so a notebook
can drive the same session from code. This module only wires widgets to the library: the analysis is
``scene.refer`` / ``scene.ground`` (or the same on a :class:`~egx_notebook.imagery.View`).
"""

from __future__ import annotations

import html
import os
import warnings

from ..backends.base import Backend
from ..backends.registry import DEFAULT_BACKEND, list_backends
from ..errors import EgxError, PromptError, PromptOutsideImageError
from .drawing import PromptBook, PromptEntry
from .frame import MapFrame
from .layers import OVERLAY_MAX_SIZE, SceneLayer, prompt_features
from .panel import Panel
from .results import ResultEntry, ResultShelf
from .style import SceneStyle, display_choices
from .tasks import Busy, Runner

#: Find around a selected prompt looks at its extent times this (and at least FIND_MIN_WINDOW px).
FIND_CONTEXT = 1.5
FIND_MIN_WINDOW = 256
#: Zoom in to a prompt or result shows its extent times this.
ZOOM_CONTEXT = 3.0
#: A transparent 1 x 1 PNG: the default basemap (works offline, shows nothing).
BLANK_TILE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8"
              "AAAAASUVORK5CYII=")


class Explorer:
    """Interactive map of ``scene`` (a Scene, or a View to start zoomed to its window) with prompts and results.

    Parameters: ``backend`` (a registered name or a Backend instance; default ``EGX_BACKEND`` or ``analytic``),
    ``height`` of the map, ``basemap`` (None: a blank one, works offline; or an xyzservices name such as
    ``"OpenStreetMap.Mapnik"`` when online, georeferenced scenes only), ``threaded`` (run the buttons' calls in a
    worker thread so the map stays responsive), ``overlay_max_size`` (larger scenes are served as tiles from a
    local server on 127.0.0.1; the browser must run on the same machine as the kernel; ``tile_server=False`` shows
    a downsampled overview instead, e.g. on a remote JupyterHub) and ``export_path`` (default file of Export).

    Attributes: ``map`` (leafmap / ipyleaflet Map), ``panel`` (:class:`~egx_notebook.ui.panel.Panel`),
    ``book`` (the prompts), ``results`` (list of :class:`ResultEntry`), ``widget`` (what is displayed).
    """

    def __init__(self, scene, backend=None, *, height: str = "600px", basemap=None, threaded: bool = True,
                 overlay_max_size: int = OVERLAY_MAX_SIZE, tile_server: bool = True,
                 export_path: str = "egx_explorer.gpkg"):
        start_window = None
        if hasattr(scene, "scene") and hasattr(scene, "window"):  # a View
            scene, start_window = scene.scene, scene.window
        self.scene = scene
        self.frame = MapFrame(scene)
        self.book = PromptBook(self.frame, scene)
        self.last_error: BaseException | None = None
        self.last_traceback = ""
        self._quiet = False
        self._custom_backend = backend if isinstance(backend, Backend) else None

        names = list(list_backends())
        if self._custom_backend is not None:
            default = f"{self._custom_backend.name} (instance)"
            names.append(default)
        else:
            default = (backend or os.environ.get("EGX_BACKEND") or DEFAULT_BACKEND).lower()
            if default not in names:
                names.append(default)  # shown; an error at first use says why it cannot load
        self.style = SceneStyle.from_scene(scene)
        self._display = dict(display_choices(scene))
        self.panel = Panel(self._title(), names, default, list(self._display), export_path)
        self.map = self._make_map(height, basemap)
        self.scene_layer = SceneLayer(scene, self.frame, self.style, overlay_max_size=overlay_max_size,
                                      tile_server=tile_server)
        self.map.add(self.scene_layer.layer)
        self.panel.set_notice(self.scene_layer.notice)
        self._add_vector_layers()
        self._add_controls()
        self.shelf = ResultShelf(self.map, self.panel, self.frame,
                                 on_pick=lambda name, index: self._guard(lambda: self.select_result(name, index,
                                                                                                    zoom=False)))
        self.runner = Runner(threaded=threaded, on_start=self._job_started, on_progress=self.panel.set_progress,
                             on_done=self._job_done, on_error=self._job_failed)
        self._wire()
        self.shelf.refresh_legend(self.style)
        self.zoom_to_window(start_window)

    # -- construction ---------------------------------------------------------------------------------
    def _title(self) -> str:
        s = self.scene
        crs = str(s.crs) if s.crs is not None else "pixels (no CRS)"
        return (f"<b>{html.escape(s.name)}</b><br><small>{html.escape(s.modality)} &middot; {html.escape(s.units)} "
                f"&middot; {s.width} x {s.height} px &middot; {html.escape(crs)}</small>")

    def _make_map(self, height: str, basemap):
        import ipyleaflet

        base = self._basemap(basemap)
        kwargs = {"crs": self.frame.leaflet_crs(), "center": [0, 0], "zoom": 2, "scroll_wheel_zoom": True,
                  "basemap": base, "attribution_control": False, "zoom_snap": 0.25, "zoom_delta": 0.5,
                  "max_zoom": 24 if self.frame.geographic else 10, "min_zoom": 0 if self.frame.geographic else -10}
        try:
            from leafmap import leafmap

            with warnings.catch_warnings():  # leafmap passes its own options on to ipyleaflet (traitlets warns)
                warnings.simplefilter("ignore", DeprecationWarning)
                m = leafmap.Map(draw_control=False, toolbar_control=False, fullscreen_control=False,
                                layers_control=False, search_control=False, measure_control=False,
                                scale_control=self.frame.geographic, height=height, **kwargs)
            m.layers[0].name = base.name  # leafmap renames the first layer "OpenStreetMap"
        except ImportError:
            m = ipyleaflet.Map(**kwargs)
        m.layout.height = height
        m.layout.flex = "1 1 auto"
        m.add_class("egx-map")
        return m

    def _basemap(self, basemap):
        import ipyleaflet

        if basemap is None or not self.frame.geographic:
            return ipyleaflet.TileLayer(url=BLANK_TILE, name="no basemap", attribution="", base=True,
                                        min_zoom=-12, max_zoom=30)
        if isinstance(basemap, str):
            import xyzservices

            return ipyleaflet.basemap_to_tiles(xyzservices.providers.query_name(basemap))
        return basemap

    def _add_vector_layers(self) -> None:
        import ipyleaflet

        empty = {"type": "FeatureCollection", "features": []}
        self.prompt_layer = ipyleaflet.GeoJSON(data=empty, name="prompts (scribbles, code)",
                                               point_style={"radius": 6, "color": "#33aaff", "fillOpacity": 0.8})
        self.selection_layer = ipyleaflet.GeoJSON(data=empty, name="selected prompt",
                                                  point_style={"radius": 8, "color": "#ff9500", "fillOpacity": 0.9})
        self.map.add(self.prompt_layer)
        self.map.add(self.selection_layer)

    def _add_controls(self) -> None:
        import ipyleaflet

        from .scribble import ScribbleTool

        shape = {"shapeOptions": {"color": "#33aaff", "weight": 2, "fillOpacity": 0.1}}
        # an empty dict switches a tool off; marker needs a non-empty one to be offered
        self.draw_control = ipyleaflet.DrawControl(position="topleft", marker={"repeatMode": False}, rectangle=shape,
                                                   polygon={**shape, "allowIntersection": False},
                                                   polyline={}, circle={}, circlemarker={}, edit=True, remove=True)
        self.map.add(self.draw_control)
        self.scribble = ScribbleTool()
        self.map.add(ipyleaflet.WidgetControl(widget=self.scribble, position="topleft", transparent_bg=True))
        self.layers_control = ipyleaflet.LayersControl(position="topright", collapsed=True)
        self.map.add(self.layers_control)

    def _wire(self) -> None:
        p = self.panel
        self.draw_control.on_draw(self._on_draw)
        self.draw_control.observe(self._on_draw_data, names="data")
        self.scribble.on_stroke(self._on_stroke)
        p.prompts.observe(self._on_prompt_selected, names="value")
        p.results.observe(self._on_result_selected, names="value")
        p.display.observe(self._on_display, names="value")
        p.backend.observe(lambda ch: p.set_status(f"Backend: {ch['new']} (loaded at first use)."), names="value")
        p.describe.on_click(lambda _: self._click("Describe", lambda: self._describe_job("selected", p.text.value)))
        p.find.on_click(lambda _: self._click("Find", lambda: self._find_job(p.text.value, "selected")))
        p.analyze.on_click(lambda _: self._click("Analyze view", lambda: self._analyze_job(p.text.value)))
        p.zoom_in.on_click(lambda _: self._guard(self.zoom_in))
        p.zoom_out.on_click(lambda _: self._guard(self.zoom_out))
        p.clear.on_click(lambda _: self._guard(self.clear))
        p.export.on_click(lambda _: self._click("Export", lambda: self._export_job(p.export_path.value), threaded=False))
        p.remove_prompt.on_click(lambda _: self._guard(self.remove_prompt))

    # -- display -----------------------------------------------------------------------------------------
    @property
    def widget(self):
        import ipywidgets as W

        if not hasattr(self, "_widget"):
            self._widget = W.HBox([self.map, self.panel.widget], layout=W.Layout(width="100%"))
            self._widget.add_class("egx-explorer")
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (f"Explorer({self.scene.name!r}, prompts={len(self.book)}, results={len(self.results)}, "
                f"scene layer={self.scene_layer.mode!r})")

    # -- prompts ---------------------------------------------------------------------------------------------
    @property
    def prompts(self) -> list:
        """The prompts in the order they were made (egx Point / Box / FreeForm)."""
        return self.book.prompts

    @property
    def selected_prompt(self):
        entry = self.book.selected
        return None if entry is None else entry.prompt

    def add_prompt(self, prompt) -> PromptEntry:
        """Add an egx prompt made in code (shown on the map and selected)."""
        entry = self.book.add(prompt, "code")
        self._prompts_changed(f"P{entry.id} added", entry)
        return entry

    def select_prompt(self, entry_id: int | None) -> None:
        """Select prompt ``entry_id`` (None: no prompt, i.e. the whole scene)."""
        if entry_id is not None:
            self.book.get(entry_id)
        self.book.selected_id = entry_id
        self._refresh_prompts()

    def remove_prompt(self, entry_id: int | None = None) -> None:
        """Remove a prompt (default: the selected one), from the map too."""
        entry_id = self.book.selected_id if entry_id is None else entry_id
        if entry_id is None:
            raise PromptError("no prompt selected: select one in the prompt list first")
        entry = self.book.get(entry_id)
        if entry.source == "draw":
            self._set_draw_data(self.book.draw_data_without(entry_id))
        self.book.remove(entry_id)
        self._prompts_changed(f"P{entry_id} removed")

    def _on_draw(self, _target, action, geo_json) -> None:
        try:
            entry = self.book.handle_draw(action, geo_json)
        except Exception as exc:  # noqa: BLE001 (a malformed event must not break the widget)
            self._report_error(exc)
            return
        if entry is not None:
            verb = {"created": "added", "edited": "updated", "deleted": "removed"}[action]
            self._prompts_changed(f"P{entry.id} {verb}", entry if action != "deleted" else None)

    def _on_draw_data(self, change) -> None:
        if self._quiet:
            return
        try:
            if self.book.sync(list(change["new"] or [])):
                self._refresh_prompts()
        except Exception as exc:  # noqa: BLE001 (shown in the status line; the widget keeps working)
            self._report_error(exc)

    def _set_draw_data(self, features) -> None:
        self._quiet = True
        try:
            self.draw_control.data = [f for f in features if f is not None]
        finally:
            self._quiet = False

    def _on_stroke(self, points, size, width_px) -> None:
        from ..prompts import FreeForm

        try:
            bounds = self.frame.viewport(self.map, size)
            coords, crs, per_px = self.frame.screen_to_prompt_coords(points, size, bounds)
            entry = self.book.add(FreeForm.scribble(coords, width=width_px * per_px, crs=crs), "scribble")
        except Exception as exc:  # noqa: BLE001 (shown in the status line; the widget keeps working)
            self._report_error(exc)
            return
        self._prompts_changed(f"P{entry.id} scribble added", entry)

    def _prompts_changed(self, message: str, entry: PromptEntry | None = None) -> None:
        self._refresh_prompts()
        if entry is not None and entry.problem:
            self.panel.set_status(f"{message}, but it cannot be used: {entry.problem}", "error")
        else:
            self.panel.set_status(message + ".")

    def _refresh_prompts(self) -> None:
        p = self.panel
        options = [("(none: whole scene)", None)] + [(e.label, e.id) for e in self.book]
        self._quiet = True
        try:
            p.prompts.options = options
            p.prompts.value = self.book.selected_id
        finally:
            self._quiet = False
        usable = [e for e in self.book if e.source != "draw" and e.prompt is not None and not e.problem]
        self.prompt_layer.data = prompt_features(usable, self.frame, self.scene)
        sel = self.book.selected
        shown = [sel] if sel is not None and sel.prompt is not None and not sel.problem else []
        self.selection_layer.data = prompt_features(shown, self.frame, self.scene, selected_id=sel.id if sel else None)

    def _on_prompt_selected(self, change) -> None:
        if not self._quiet:
            self.book.selected_id = change["new"]
            self._refresh_prompts()

    # -- actions (also callable from code) --------------------------------------------------------------------
    def describe(self, prompt="selected", instruction: str | None = None):
        """Referring on ``prompt`` ("selected": the selected prompt, or the whole scene when none; None: the whole
        scene; a prompt id or an egx prompt, which is added). Returns the Referring; also drawn on the map."""
        return self.runner.submit("Describe", self._describe_job(prompt, instruction), threaded=False, reraise=True)

    def find(self, query: str, prompt="selected"):
        """Grounding of ``query`` around ``prompt`` (as in :meth:`describe`; the whole scene when none)."""
        return self.runner.submit("Find", self._find_job(query, prompt), threaded=False, reraise=True)

    def analyze_view(self, query: str | None = None):
        """Describe (and find ``query``) in the current map view, read at the map's zoom level. Returns the
        Referring, or ``(Referring, Grounding)`` with a query."""
        return self.runner.submit("Analyze view", self._analyze_job(query), threaded=False, reraise=True)

    def export(self, path=None):
        """Write prompts and results to ``path`` (.gpkg or .geojson; default: the panel's file name)."""
        return self.runner.submit("Export", self._export_job(path or self.panel.export_path.value), threaded=False,
                                  reraise=True)

    def wait(self, timeout: float | None = 120):
        """Wait for a button's background job to finish (returns its value)."""
        return self.runner.wait(timeout)

    def clear(self) -> None:
        """Remove every prompt and result (from the map too)."""
        self.book.clear()
        self._set_draw_data([])
        self.draw_control.clear()
        self.shelf.clear(self.style)
        self._refresh_prompts()
        self.panel.set_status("Cleared prompts and results.")

    def _resolve_prompt(self, prompt) -> PromptEntry | None:
        if isinstance(prompt, str) and prompt == "selected":
            entry = self.book.selected
        elif prompt is None:
            entry = None
        elif isinstance(prompt, int):
            entry = self.book.get(prompt)
        else:
            entry = self.add_prompt(prompt)
        if entry is not None and (entry.problem or entry.prompt is None):
            raise PromptOutsideImageError(f"P{entry.id} cannot be analysed: {entry.problem}; draw it on the image")
        return entry

    def _backend(self):
        name = self.panel.backend.value
        if self._custom_backend is not None and name.endswith("(instance)"):
            return self._custom_backend
        return name

    def _describe_job(self, prompt, instruction):
        entry = self._resolve_prompt(prompt)
        backend = self._backend()

        def job(progress):
            where = f"P{entry.id}" if entry else "the whole scene"
            progress(1, 3, f"Describing {where} ...")
            result = self.scene.refer(entry.prompt if entry else None, instruction=(instruction or "").strip() or None,
                                      backend=backend)
            progress(2, 3, "Drawing the result ...")
            made = self._make_result("describe", result, entry)
            return lambda: self._add_result(made)

        return job

    def _find_job(self, query, prompt):
        entry = self._resolve_prompt(prompt)
        backend = self._backend()

        def job(progress):
            if entry is None:
                progress(1, 3, f"Finding {query!r} in the whole scene ...")
                result = self.scene.ground(query, backend=backend)
            else:
                progress(1, 3, f"Finding {query!r} around P{entry.id} ...")
                view = self.scene.zoom_in(entry.prompt, context=FIND_CONTEXT, min_size=FIND_MIN_WINDOW)
                result = view.ground(query, backend=backend)
            progress(2, 3, "Drawing the results ...")
            made = self._make_result("find", result, entry)
            return lambda: self._add_result(made)

        return job

    def view_of_map(self):
        """The scene :class:`~egx_notebook.imagery.View` the map shows now, sampled at the map's screen resolution."""
        size = self.frame.viewport_size(self.map, (800, self._height_px()))
        window = self.frame.window_of_latlng_bounds(self.frame.viewport(self.map, size))
        if window is None:
            raise PromptOutsideImageError("the map view does not show the scene; zoom out or click Zoom out")
        return self.scene.view(window, max_size=int(max(size)))

    def _analyze_job(self, query):
        backend = self._backend()
        query = (query or "").strip()

        def job(progress):
            total = 4 if query else 3
            progress(1, total, "Reading the map view ...")
            view = self.view_of_map()
            progress(2, total, f"Describing the view {view.window} at scale {view.scale[0]:.3g} ...")
            described = view.refer(None, backend=backend)
            found = None
            if query:
                progress(3, total, f"Finding {query!r} in the view ...")
                found = view.ground(query, backend=backend)
            made = [self._make_result("describe", described, None)]
            if found is not None:
                made.append(self._make_result("find", found, None))

            def apply():
                for m in made:
                    self._add_result(m)
                return described if found is None else (described, found)

            return apply

        return job

    def _export_job(self, path):
        from .export import export_session

        def job(progress):
            out = export_session(path, list(self.book), list(self.results), self.scene)
            n_res = len(self.results)
            return lambda: (self.panel.set_status(f"Exported {len(self.book)} prompts and {n_res} results to {out}.",
                                                  "ok"), out)[1]

        return job

    # -- results ---------------------------------------------------------------------------------------------
    @property
    def results(self) -> list[ResultEntry]:
        """The results shown, in order (each with ``name``, ``result`` and its map ``layer``)."""
        return self.shelf.entries

    @property
    def legend_control(self):
        return self.shelf.legend_control

    @property
    def popup(self):
        return self.shelf.popup

    def result(self, name: str) -> ResultEntry:
        return self.shelf.get(name)

    def _make_result(self, kind: str, result, entry: PromptEntry | None) -> ResultEntry:
        return self.shelf.make(kind, result, entry.id if entry else None)

    def _add_result(self, made: ResultEntry):
        self.shelf.add(made, self.style)
        return made.result

    def select_result(self, name: str, index: int | None = None, zoom: bool = True) -> None:
        """Select result ``name`` (detection ``index`` of a Find result): highlight it and zoom the map to it."""
        entry = self.shelf.select(name, index)
        if zoom:
            self.zoom_to_window(entry.window(index), context=ZOOM_CONTEXT if index is not None else 1.2)

    def _on_result_selected(self, change) -> None:
        if self.shelf.quiet or change["new"] is None:
            return
        self._guard(lambda: self.select_result(*change["new"]))

    # -- navigation ---------------------------------------------------------------------------------------------
    def _height_px(self) -> int:
        try:
            return int(str(self.map.layout.height).replace("px", ""))
        except ValueError:
            return 600

    def zoom_to_window(self, window=None, context: float = 1.0) -> None:
        """Fit the map to a scene pixel ``window`` (x0, y0, x1, y1) grown ``context`` times (default: the scene)."""
        if window is not None:
            x0, y0, x1, y1 = window
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            w, h = max(x1 - x0, 4.0) * context, max(y1 - y0, 4.0) * context
            window = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        size = self.frame.viewport_size(self.map, (800, self._height_px()))
        center, zoom = self.frame.fit(self.frame.latlng_bounds(window), size, max_zoom=self.map.max_zoom or 22,
                                      min_zoom=self.map.min_zoom if self.map.min_zoom is not None else -10,
                                      snap=self.map.zoom_snap or 1.0)
        with self.map.hold_sync():
            self.map.center = list(center)
            self.map.zoom = zoom

    def zoom_in(self) -> None:
        """Zoom to the selected result, else the selected prompt, else one level in."""
        if self.shelf.selected is not None and self.shelf.selected[0] in [r.name for r in self.results]:
            name, index = self.shelf.selected
            self.select_result(name, index, zoom=True)
            return
        entry = self.book.selected
        if entry is not None and entry.prompt is not None and not entry.problem:
            bounds = entry.prompt.to_pixels(self.scene).bounds
            self.zoom_to_window(bounds, context=ZOOM_CONTEXT)
            self.panel.set_status(f"Zoomed to P{entry.id}.")
            return
        self.map.zoom = min(float(self.map.max_zoom or 22), float(self.map.zoom) + 1)

    def zoom_out(self) -> None:
        """One level out, down to the zoom that shows the whole scene."""
        size = self.frame.viewport_size(self.map, (800, self._height_px()))
        center, whole = self.frame.fit(self.frame.latlng_bounds(), size, snap=self.map.zoom_snap or 1.0)
        if float(self.map.zoom) - 1 <= whole:
            with self.map.hold_sync():
                self.map.center = list(center)
                self.map.zoom = whole
        else:
            self.map.zoom = float(self.map.zoom) - 1

    # -- display choice ------------------------------------------------------------------------------------------
    def _on_display(self, change) -> None:
        def restyle():
            self.style = SceneStyle.from_scene(self.scene, bands=self._display[change["new"]])
            self.scene_layer.restyle(self.style)
            self.shelf.refresh_legend(self.style)
            self.panel.set_status(f"Display: {self.style.describe()}.")

        self._guard(restyle)

    # -- job plumbing -----------------------------------------------------------------------------------------
    def _click(self, name: str, make_job, threaded: bool | None = None) -> None:
        """A button: build the job (which checks the inputs) and run it; problems go to the status line."""
        try:
            self.runner.submit(name, make_job(), threaded=threaded)
        except Busy as exc:
            self.panel.set_status(str(exc), "error")
        except Exception as exc:  # noqa: BLE001 (shown in the status line; the widget keeps working)
            self._report_error(exc, prefix=f"{name}: ")

    def _guard(self, fn) -> None:
        """Run a quick UI action; errors go to the status line."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 (shown in the status line; the widget keeps working)
            self._report_error(exc)

    def _job_started(self, name: str) -> None:
        self.panel.set_busy(True)
        self.panel.set_progress(0, 3, f"{name} ...")

    def _job_done(self, name: str, value) -> None:
        self.panel.set_busy(False)
        if name != "Export":
            self.panel.set_status(f"{name} done.", "ok")

    def _job_failed(self, name: str, exc: BaseException, tb: str) -> None:
        self.panel.set_busy(False)
        self.last_traceback = tb
        self._report_error(exc, prefix=f"{name} failed: ")

    def _report_error(self, exc: BaseException, prefix: str = "") -> None:
        self.last_error = exc
        text = str(exc) if isinstance(exc, EgxError) else f"{type(exc).__name__}: {exc}"
        self.panel.set_status(prefix + text, "error")

    def close(self) -> None:
        """Stop the tile server (if any) and the worker thread, and close the widgets."""
        self.scene_layer.close()
        self.runner.close()
        self.widget.close()
        self.map.close()
