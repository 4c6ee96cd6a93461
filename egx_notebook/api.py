"""High-level calls: choose the view, run the backend, return results in scene pixels and map coordinates.

``scene.refer`` / ``scene.ground`` / ``scene.describe`` (and the same on a View) land here. Views are how
the multi-scale behaviour works: a prompt is analysed in a full-resolution zoom-in window around it with
context, a scene question on a zoomed-out overview, and the answer is mapped back exactly.
"""

from __future__ import annotations

from .backends.registry import get_backend
from .errors import EmptyQueryError, PromptOutsideImageError
from .imagery.scene import DEFAULT_VIEW_SIZE, Scene
from .imagery.view import View
from .prompts import Region

#: How much context around a prompt the backend sees (the prompt's extent times this, per side).
DEFAULT_CONTEXT = 4.0
#: Smallest zoom-in window (px): a point prompt still gets neighbours to compare with.
MIN_WINDOW = 96


def _scene_and_view(target) -> tuple[Scene, View | None]:
    if isinstance(target, View):
        return target.scene, target
    if isinstance(target, Scene):
        return target, None
    raise TypeError(f"expected a Scene or View, got {type(target).__name__}; open imagery with egx.open(...)")


def refer(target, prompt=None, instruction: str | None = None, backend=None, *, context: float = DEFAULT_CONTEXT,
          max_size: int = DEFAULT_VIEW_SIZE, **backend_options):
    """Referring: describe what is inside ``prompt`` on ``target`` (a Scene or a View).

    With ``prompt=None`` the whole view (or the scene's overview) is described. On a Scene the backend sees a
    full-resolution window around the prompt, ``context`` times its extent (at least ``MIN_WINDOW`` px).
    Returns a :class:`~egx_notebook.results.Referring` in scene pixels and map coordinates."""
    scene, view = _scene_and_view(target)
    engine = get_backend(backend, **backend_options)
    region = None
    if prompt is not None:
        region = prompt if isinstance(prompt, Region) else prompt.to_pixels(scene)
        if view is None:
            view = scene.zoom_in(region, context=context, min_size=MIN_WINDOW, max_size=max_size)
    elif view is None:
        view = scene.overview(max_size)
    local = None if region is None else _region_in_view(region, view)
    result = engine.refer(view, local, instruction)
    out = result.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    out.region = region  # keep the exact scene-pixel region, not its round trip through the view
    out.level = "scene" if region is None else ("point" if region.kind == "point" else "region")
    out.instruction = instruction
    out.diagnostics.setdefault("view_window", view.window)
    out.diagnostics.setdefault("view_scale", view.scale)
    return out


def describe(target, backend=None, **kwargs):
    """Scene-level referring on a Scene or View."""
    return refer(target, None, backend=backend, **kwargs)


def ground(target, query: str, backend=None, *, max_size: int = DEFAULT_VIEW_SIZE, tiled: bool = False,
           tile_size: int = 1024, overlap: int = 128, client=None, progress: bool = True, **backend_options):
    """Grounding: find what ``query`` names (e.g. ``"the two largest ships"``) in ``target``.

    On a Scene the backend sees the whole scene, decimated to ``max_size`` px on its longer side when larger.
    With ``tiled=True`` it sees the scene at full resolution instead, tile by tile (``tile_size`` px tiles
    overlapping by ``overlap`` px, with a progress bar), and the tiles' answers are merged so an object cut by
    a seam is found once; ``client`` (a ``dask.distributed.Client`` or scheduler address) runs the tiles on a
    cluster. See :mod:`egx_notebook.batch`.
    Returns a :class:`~egx_notebook.results.Grounding` in scene pixels and map coordinates."""
    if not isinstance(query, str) or not query.strip():
        raise EmptyQueryError("the grounding query is empty; say what to find, e.g. 'ships' or 'the largest water body'")
    scene, view = _scene_and_view(target)
    if tiled:
        if view is not None:
            raise ValueError("tiled grounding covers a whole Scene at full resolution; call it on the scene "
                             "(view.scene.ground(..., tiled=True)) or ground this view without tiled=True")
        from .batch import ground_tiled

        return ground_tiled(scene, query.strip(), backend, tile_size=tile_size, overlap=overlap, client=client,
                            progress=progress, **backend_options)
    engine = get_backend(backend, **backend_options)
    view = view or scene.overview(max_size)
    result = engine.ground(view, query.strip())
    out = result.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    out.diagnostics.setdefault("view_window", view.window)
    out.diagnostics.setdefault("view_scale", view.scale)
    return out


def _region_in_view(region: Region, view: View) -> Region:
    local = view.region(region)
    from shapely.geometry import box

    if local.kind != "point" and not local.geometry.intersects(box(0, 0, view.width, view.height)):
        raise PromptOutsideImageError(f"the prompt lies outside this view {view.window}; zoom out or use the scene")
    if local.kind == "point" and not (0 <= local.geometry.x < view.width and 0 <= local.geometry.y < view.height):
        raise PromptOutsideImageError(f"the point lies outside this view {view.window}; zoom out or use the scene")
    return local
