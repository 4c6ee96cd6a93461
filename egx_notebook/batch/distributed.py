"""Tiled grounding on a ``dask.distributed`` cluster: one task per tile, the merge on the client.

Workers receive the scene's recipe (:class:`~egx_notebook.batch.tiling.SceneRecipe`: file paths, band
indices and calibration; sent once per worker), a tile and the backend (its registry name and options, built
once per worker process by the registry, or a picklable :class:`~egx_notebook.backends.base.Backend`
instance). Each worker reads only its tiles' windows, so the files must be reachable from the workers under
the same paths or URLs (a shared disk, object storage). A backend registered in the notebook with
``register_backend`` exists only there: pass the instance, or register it through the
``egx_notebook.backends`` entry point so the workers find it. Tasks run the same
:func:`~egx_notebook.batch.tiling.ground_tile` as the in-process runner and the results are merged in tile
order, so the answer is identical to a single-process run.
"""

from __future__ import annotations

import uuid

#: glibc malloc settings for worker processes. dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` (give freed
#: memory back to the OS eagerly), which also switches off glibc's adaptive mmap threshold: every array over
#: 128 kB becomes a fresh mmap and numpy-heavy tiles page-fault about 10x more (measured: +40 % CPU time on
#: 1024 px SAR tiles). These values restore the adaptive steady state (arrays up to 32 MB reuse the heap).
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(256 * 2**20), "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20)}


def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1, **kwargs):
    """A ``distributed.LocalCluster`` suited to tiled grounding: one thread per worker process (the backends
    are CPU-bound numpy/scipy, which holds the GIL), bound to 127.0.0.1, no dashboard unless asked
    (``dashboard_address=":8787"``), and :data:`WORKER_MALLOC` set in the workers before they start.
    Use it as ``with local_cluster(2) as cluster, Client(cluster) as client: ...``."""
    import dask
    from distributed import LocalCluster

    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("dashboard_address", None)
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **kwargs)


def _client(client):
    """A ``distributed.Client`` from a client or a scheduler address; the second item says whether to close it."""
    if isinstance(client, str):
        from distributed import Client

        return Client(client), True
    return client, False


def run_distributed(client, recipe, tiles, query: str, backend, backend_options: dict, progress: bool = True):
    """Ground every tile on the cluster; returns the :class:`~egx_notebook.batch.tiling.TileResult` list in
    tile order. Progress advances as tasks finish, in whatever order they finish."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    from .tiling import ground_tile

    client, own = _client(client)
    try:
        [remote_recipe] = client.scatter([recipe], broadcast=True, hash=False)
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(ground_tile, remote_recipe, tile, query, backend, backend_options,
                                 key=f"egx-tile-{run}-{tile.index}", pure=False) for tile in tiles]
        results = {}
        try:
            with tqdm(total=len(futures), desc="grounding tiles (dask)", unit="tile", disable=not progress,
                      leave=False) as bar:
                for future in as_completed(futures):
                    res = future.result()  # re-raises a worker's exception here
                    results[res.index] = res
                    bar.update(1)
        except BaseException:
            client.cancel(futures)
            raise
        return [results[t.index] for t in tiles]
    finally:
        if own:
            client.close()
