"""Whole-scene work at scale: tile-by-tile grounding with a seam-aware merge, on one machine or on dask.

    g = scene.ground("the largest ship", tiled=True, tile_size=1024, overlap=128)
    g = scene.ground("ships", tiled=True, client=Client(local_cluster(2)))  # or any scheduler address

- :mod:`.tiling` plans the tiles (their windows and the *core* each tile owns) and runs the job;
- :mod:`.query` splits a query into what every tile is asked (all candidates of the class) and what is
  applied once on the merged result (count, ordering, position);
- :mod:`.merge` joins the tiles' detections: one object is never counted twice at a seam and none is lost;
- :mod:`.distributed` runs the same per-tile function on a ``dask.distributed`` client.
"""

from __future__ import annotations

from .distributed import local_cluster
from .merge import merge_tiles, nms
from .query import TiledQuery, plan_query
from .tiling import SceneRecipe, Tile, TileResult, ground_tile, ground_tiled, plan_tiles

__all__ = ["SceneRecipe", "Tile", "TileResult", "TiledQuery", "ground_tile", "ground_tiled", "local_cluster",
           "merge_tiles", "nms", "plan_query", "plan_tiles"]
