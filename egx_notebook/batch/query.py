"""Splitting a grounding query for tiling: what each tile is asked, and what is applied after the merge.

"The two largest ships in the north-west" cannot be answered tile by tile: the largest ship of a tile is not
the largest of the scene and "north-west" means the scene's north-west. So every tile is asked for *all*
candidates of the class (``"ships"``) and the count, ordering and position are applied once, on the merged
detections, with the same rules as an untiled run of the offline backend
(:mod:`egx_notebook.backends.analytic.grounding`).

How the query is split, in order:

1. a backend may implement ``tile_query(query, modality) -> TiledQuery`` (optional hook) to split it itself;
2. otherwise the query is read with the analytic grammar ``[count] [qualifier] <class> [in the <position>]``
   (:mod:`egx_notebook.backends.analytic.query`): for the analytic backend within the scene's modality (so an
   unsupported query fails before any tile is read, with the same error as an untiled run), for other
   backends with any modality;
3. a query the grammar does not understand (a model backend's open vocabulary) is sent to every tile
   unchanged and all merged detections are returned, best first; ``note`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnsupportedQueryError


@dataclass(frozen=True)
class TiledQuery:
    """``tile_query`` goes to every tile; ``selection`` (a parsed analytic ``Query`` or None) is applied to the
    merged detections by :meth:`finalize`."""

    text: str
    tile_query: str
    selection: object = None
    note: str = ""
    parsed: dict = field(default_factory=dict)

    def finalize(self, detections: list, scene) -> list:
        """Position filter (in the scene's frame), ordering and count of the merged ``detections``."""
        if self.selection is None:
            return sorted(detections, key=lambda d: (d.score, d.area_px), reverse=True)
        from ..backends.analytic.grounding import by_position, ordered

        q = self.selection
        dets = ordered(by_position(list(detections), q, scene), q)
        return dets if q.count is None else dets[:q.count]


def _class_phrase(target) -> str:
    """The plain class query that asks for every candidate: 'ships', 'water', 'hot spots'."""
    return target.plurals[0] if target.kind == "object" and target.plurals else target.words[0]


def plan_query(engine, query: str, modality: str) -> TiledQuery:
    """Split ``query`` for tiled grounding with ``engine`` (see the module docstring)."""
    query = query.strip()
    hook = getattr(engine, "tile_query", None)
    if callable(hook):
        planned = hook(query, modality)
        if planned is not None:
            return planned
    from ..backends.analytic.backend import AnalyticBackend
    from ..backends.analytic.query import parse_query

    analytic = isinstance(engine, AnalyticBackend)
    try:
        q = parse_query(query, modality if analytic else None)
    except UnsupportedQueryError:
        if analytic:
            raise
        return TiledQuery(query, query, None,
                          "the query was sent to every tile as is; counts, qualifiers and positions in it "
                          "(if any) were applied per tile, not to the whole scene")
    return TiledQuery(query, _class_phrase(q.target), q, "", q.as_dict())
