"""Tile-by-tile grounding of a whole scene: the tile plan, the per-tile task and the job.

The scene is covered by full-resolution tiles of ``tile_size`` px overlapping by ``overlap`` px (the same
windows as :meth:`Scene.tiles <egx_notebook.imagery.scene.Scene.tiles>`). Each tile also gets a **core**: the
cores cut the scene into disjoint rectangles, the boundary between two neighbouring tiles lying in the middle
of their overlap. The merge (:mod:`.merge`) keeps an object from the tile whose core holds its centre, which is
why every object narrower than the overlap is found exactly once (see :func:`egx_notebook.batch.merge.merge_tiles`).

Only one tile's pixels are in memory at a time (per worker): tiles are read window by window through the
scene's source, the backend answers in tile pixels, and only the detections (boxes and small masks) are kept.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..backends.registry import get_backend
from ..results import Detection, Grounding
from .merge import merge_tiles
from .query import plan_query

#: Default tile side and overlap (px). Objects narrower than the overlap are merged exactly.
TILE_SIZE = 1024
OVERLAP = 128


@dataclass(frozen=True)
class Tile:
    """One tile: ``window = (x0, y0, x1, y1)`` in scene pixels (half-open) and its ``core`` (floats), the part
    of the scene this tile answers for; ``index`` is its rank in row-major order."""

    index: int
    window: tuple[int, int, int, int]
    core: tuple[float, float, float, float]
    scene_shape: tuple[int, int]

    def owns(self, x: float, y: float) -> bool:
        """True when scene pixel position (x, y) lies in this tile's core (half-open; the scene's far edges
        belong to the last tiles)."""
        cx0, cy0, cx1, cy1 = self.core
        h, w = self.scene_shape
        return cx0 <= x and (x < cx1 or cx1 == w) and cy0 <= y and (y < cy1 or cy1 == h)

    def cuts(self, box, margin: float = 1.0) -> bool:
        """True when ``box`` reaches (within ``margin`` px) an edge of this tile that is *inside* the scene:
        the object may continue in the neighbouring tile. Edges on the scene border cut nothing."""
        x0, y0, x1, y1 = self.window
        h, w = self.scene_shape
        return ((x0 > 0 and box[0] <= x0 + margin) or (y0 > 0 and box[1] <= y0 + margin)
                or (x1 < w and box[2] >= x1 - margin) or (y1 < h and box[3] >= y1 - margin))


def _starts(n: int, size: int, step: int) -> list[int]:
    # Same rule as Scene.tiles: regular steps, the last tile shifted inwards so that it is whole.
    if n <= size:
        return [0]
    return list(range(0, n - size, step)) + [n - size]


def _cores(starts: list[int], size: int, n: int) -> list[tuple[float, float]]:
    """Per-axis cores: boundaries in the middle of each overlap, the scene edges at both ends."""
    ends = [min(s + size, n) for s in starts]
    cuts = [0.0] + [(starts[i] + ends[i - 1]) / 2 for i in range(1, len(starts))] + [float(n)]
    return [(cuts[i], cuts[i + 1]) for i in range(len(starts))]


def plan_tiles(width: int, height: int, size: int = TILE_SIZE, overlap: int = OVERLAP) -> list[Tile]:
    """The tiles covering a ``width`` x ``height`` scene, row-major, with their cores."""
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError(f"need tile_size > 0 and 0 <= overlap < tile_size, got tile_size={size}, overlap={overlap}")
    step = size - overlap
    xs, ys = _starts(width, size, step), _starts(height, size, step)
    cx, cy = _cores(xs, size, width), _cores(ys, size, height)
    tiles = []
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            tiles.append(Tile(len(tiles), (x, y, min(x + size, width), min(y + size, height)),
                              (cx[i][0], cy[j][0], cx[i][1], cy[j][1]), (height, width)))
    return tiles


@dataclass
class SceneRecipe:
    """What a worker needs to rebuild a :class:`~egx_notebook.imagery.scene.Scene`: its source description
    (file paths and band indices, or the array) and calibration, without caches or open handles. Picklable."""

    source: object
    modality: str
    band_names: list[str]
    calibrations: list
    units: str
    name: str
    meta: dict

    @classmethod
    def of(cls, scene) -> SceneRecipe:
        return cls(scene.source, scene.modality, list(scene.band_names), list(scene.calibrations), scene.units,
                   scene.name, dict(scene.meta))

    def scene(self):
        from ..imagery.scene import Scene

        return Scene(self.source, self.modality, self.band_names, self.calibrations, self.units, self.name, self.meta)


@dataclass
class TileResult:
    """A tile's answer in scene pixels plus where the time went (``read_s``: pixels, ``compute_s``: backend)."""

    index: int
    detections: list[Detection]
    read_s: float = 0.0
    compute_s: float = 0.0
    diagnostics: dict = field(default_factory=dict)


def ground_tile(scene, tile: Tile, query: str, backend=None, backend_options: dict | None = None,
                view=None) -> TileResult:
    """Ground ``query`` on one full-resolution tile of ``scene`` (a Scene or a :class:`SceneRecipe`) and map
    the answer to scene pixels. The same function runs in-process and on dask workers, so both give the same
    results. ``view`` may pass a tile view whose pixels were already read (prefetching)."""
    if isinstance(scene, SceneRecipe):
        scene = scene.scene()
    engine = get_backend(backend, **(backend_options or {}))
    t0 = time.perf_counter()
    view = view if view is not None else scene.view(tile.window)
    view.values  # noqa: B018  (read the pixels now, so reading and computing are timed apart)
    t1 = time.perf_counter()
    result = engine.ground(view, query)
    t2 = time.perf_counter()
    return _tile_result(scene, tile, view, result, t1 - t0, t2 - t1)


def _tile_result(scene, tile: Tile, view, result, read_s: float, compute_s: float) -> TileResult:
    """A tile's Grounding (view pixels) as a :class:`TileResult` in scene pixels."""
    out = result.remap(view.pixel_transform, scene.shape, scene.transform, scene.crs)
    diag = {k: v for k, v in (result.diagnostics or {}).items() if isinstance(v, (int, float, str))}
    return TileResult(tile.index, out.detections, read_s, compute_s, diag)


def _read_group(scene, tiles: list[Tile]) -> list:
    return [_read(scene, t) for t in tiles]


def run_batched(scene, tiles: list[Tile], query: str, engine, batch_size: int, progress: bool = True) -> list[TileResult]:
    """Like :func:`run_local` for backends with ``ground_batch(views, query)`` (model backends): ``batch_size``
    tiles per model call, the next group read in a background thread meanwhile. A batch's compute time is
    shared equally by its tiles."""
    from tqdm.auto import tqdm

    groups = [tiles[i:i + batch_size] for i in range(0, len(tiles), batch_size)]
    results = []
    bar = tqdm(total=len(tiles), desc="grounding tiles", unit="tile", disable=not progress, leave=False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_read_group, scene, groups[0]) if groups else None
        for k, group in enumerate(groups):
            t0 = time.perf_counter()
            views = pending.result()
            pending = pool.submit(_read_group, scene, groups[k + 1]) if k + 1 < len(groups) else None
            t1 = time.perf_counter()
            answers = engine.ground_batch(views, query, progress=False)
            share = (time.perf_counter() - t1) / len(group)
            for tile, view, answer in zip(group, views, answers):
                results.append(_tile_result(scene, tile, view, answer, (t1 - t0) / len(group), share))
            bar.update(len(group))
    bar.close()
    return results


def _read(scene, tile: Tile):
    view = scene.view(tile.window)
    view.values  # noqa: B018
    return view


def run_local(scene, tiles: list[Tile], query: str, backend, backend_options: dict, progress: bool = True,
              prefetch: bool = True) -> list[TileResult]:
    """Run the tiles one after another in this process, reading the next tile in a background thread while
    the backend works on the current one (GDAL releases the GIL while it reads and decompresses)."""
    from tqdm.auto import tqdm

    results = []
    bar = tqdm(total=len(tiles), desc="grounding tiles", unit="tile", disable=not progress, leave=False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_read, scene, tiles[0]) if prefetch and tiles else None
        for k, tile in enumerate(tiles):
            view = None
            t0 = time.perf_counter()
            if pending is not None:
                view = pending.result()
                pending = pool.submit(_read, scene, tiles[k + 1]) if k + 1 < len(tiles) else None
            waited = time.perf_counter() - t0
            res = ground_tile(scene, tile, query, backend, backend_options, view=view)
            res.read_s += waited  # the part of the read the prefetch did not hide
            results.append(res)
            bar.update(1)
    bar.close()
    return results


def ground_tiled(scene, query: str, backend=None, *, tile_size: int = TILE_SIZE, overlap: int = OVERLAP,
                 client=None, progress: bool = True, iou_threshold: float = 0.5, **backend_options) -> Grounding:
    """Ground ``query`` on the whole ``scene`` at full resolution, tile by tile.

    Every tile is asked for all candidates of the query's class (:func:`~egx_notebook.batch.query.plan_query`);
    the tiles' answers are mapped to scene pixels and merged (:func:`~egx_notebook.batch.merge.merge_tiles`:
    seam-aware ownership, stitched masks of objects larger than the overlap, per-label NMS at
    ``iou_threshold``); then the query's count, ordering and position are applied to the merged set, so
    "the largest ship" is the largest in the scene, not in some tile.

    ``client``: None runs in this process (reading the next tile while the current one is analysed); a
    ``dask.distributed.Client`` or a scheduler address (``"tcp://host:8786"``) runs one task per tile on the
    cluster, with identical results. Returns a :class:`~egx_notebook.results.Grounding` in scene pixels and
    map coordinates; ``diagnostics`` records the tiles and where the time went.
    """
    t_start = time.perf_counter()
    engine = get_backend(backend, **backend_options)
    plan = plan_query(engine, query, scene.modality)
    tiles = plan_tiles(scene.width, scene.height, tile_size, overlap)
    batch_size = int(getattr(engine, "batch_size", 1) or 1)
    if client is None and batch_size > 1 and callable(getattr(engine, "ground_batch", None)):
        results = run_batched(scene, tiles, plan.tile_query, engine, batch_size, progress)
    elif client is None:
        results = run_local(scene, tiles, plan.tile_query, engine, backend_options, progress)
    else:
        from .distributed import run_distributed

        spec = engine if not (backend is None or isinstance(backend, str)) else (backend or engine.name)
        results = run_distributed(client, SceneRecipe.of(scene), tiles, plan.tile_query, spec, backend_options,
                                  progress)
    t_tiles = time.perf_counter()
    merged = merge_tiles(results, tiles, iou_threshold=iou_threshold)
    dets = plan.finalize(merged, scene)
    t_end = time.perf_counter()
    diag = {
        "tiled": True, "tiles": len(tiles), "tile_size": tile_size, "overlap": overlap,
        "tile_query": plan.tile_query, "candidates": len(merged),
        "read_s": sum(r.read_s for r in results), "compute_s": sum(r.compute_s for r in results),
        "tiles_s": t_tiles - t_start, "merge_s": t_end - t_tiles, "wall_s": t_end - t_start,
        "runner": "local" if client is None else "dask",
    }
    if plan.note:
        diag["note"] = plan.note
    return Grounding(query, dets, engine.name, scene.crs, scene.transform, scene.shape, plan.parsed, diag)
