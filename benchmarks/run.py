"""Benchmarks of egx-notebook against its I/O and compute goals (a script, not part of the test suite).

    python benchmarks/run.py                    # everything (generates the data on first use, then cached)
    python benchmarks/run.py --size 4000        # smaller scenes, for a quick look
    python benchmarks/run.py --json out.json    # also write the measurements

Every case runs in a fresh Python process (``--case NAME``), so the peak RSS (``getrusage`` ru_maxrss of
that process) and the timings of one case are not polluted by another; ratios compare cases measured in
the same run on the same machine. Generated rasters are cached in ``$EGX_BENCH_CACHE`` (default: the
system temp folder / ``egx-bench``):

- ``optical_<N>.tif``: N x N x 3 uint16 reflectance-like DN, 512 px tiles, zstd (or deflate), overviews
  2..32 (average), written strip by strip (never the whole image in memory);
- ``sar_<N>.tif``: N x N float32 VV backscatter in dB (4-look speckled sea, land, a town and bright ships),
  same layout; and 2048 px versions of both for the prompt latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("EGX_BENCH_CACHE", Path(tempfile.gettempdir()) / "egx-bench"))
STRIP = 1024  # rows written at a time
BLOCK = 512
SEA_FRACTION = 0.65
HEAVY = ("torch", "transformers", "leafmap", "ipywidgets", "ipyleaflet", "matplotlib.pyplot", "distributed")


# ------------------------------------------------------------------------------------------------ data
def _profile(size: int, count: int, dtype: str) -> dict:
    from rasterio.transform import from_origin

    return {"driver": "GTiff", "width": size, "height": size, "count": count, "dtype": dtype,
            "crs": "EPSG:32633", "transform": from_origin(400000.0, 4900000.0, 10.0, 10.0), "tiled": True,
            "blockxsize": BLOCK, "blockysize": BLOCK, "compress": "zstd", "predictor": 2 if dtype == "uint16" else 3,
            "BIGTIFF": "IF_SAFER", "num_threads": "all_cpus"}


def _write_strips(path: Path, size: int, count: int, dtype: str, strip_fn) -> Path:
    """Write ``strip_fn(y0, y1) -> (count, y1 - y0, size)`` strip by strip, then build overviews."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    tmp = path.with_suffix(".partial.tif")
    profile = _profile(size, count, dtype)
    with rasterio.Env(GDAL_CACHEMAX=256):  # MB: keep GDAL's block cache small while writing
        try:
            dst = rasterio.open(tmp, "w", **profile)
        except Exception:  # noqa: BLE001  (a GDAL built without zstd)
            profile["compress"] = "deflate"
            dst = rasterio.open(tmp, "w", **profile)
        with dst:
            for y0 in range(0, size, STRIP):
                y1 = min(size, y0 + STRIP)
                dst.write(strip_fn(y0, y1), window=Window(0, y0, size, y1 - y0))
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", COMPRESS_OVERVIEW=profile["compress"].upper()), \
                rasterio.open(tmp, "r+") as ds:
            ds.build_overviews([f for f in (2, 4, 8, 16, 32) if size // f >= 256], Resampling.average)
    tmp.rename(path)
    return path


def _optical_strip(size: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, (3, 4))
    waves = rng.uniform(300, 2500, (3, 4))
    base = np.array([900.0, 1100.0, 1300.0])

    def strip(y0, y1):
        yy, xx = np.mgrid[y0:y1, 0:size].astype("float32")
        out = np.empty((3, y1 - y0, size), dtype="uint16")
        noise = np.random.default_rng([seed, y0]).normal(0, 25, (3, y1 - y0, size)).astype("float32")
        for b in range(3):
            f = base[b] + 400 * np.sin(xx / waves[b, 0] + phases[b, 0]) * np.cos(yy / waves[b, 1] + phases[b, 1])
            f += 250 * np.sin((xx + yy) / waves[b, 2] + phases[b, 2])
            fields = np.floor(xx / 700 + 0.5 * np.sin(yy / waves[b, 3])) % 4  # blocky "fields"
            out[b] = np.clip(f + 150 * fields + noise[b], 1, 65535).astype("uint16")
        return out
    return strip


def ship_boxes(size: int, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    """Deterministic ship boxes (x0, y0, x1, y1) on the sea part of the SAR scene."""
    import numpy as np

    rng = np.random.default_rng(seed)
    boxes = []
    while len(boxes) < n:
        length, width = int(rng.integers(8, 40)), int(rng.integers(3, 7))
        w, h = (length, width) if rng.random() < 0.5 else (width, length)
        x0, y0 = int(rng.integers(16, int(SEA_FRACTION * size) - 80)), int(rng.integers(16, size - h - 16))
        box = (x0, y0, x0 + w, y0 + h)
        if all(box[0] > b[2] + 20 or b[0] > box[2] + 20 or box[1] > b[3] + 20 or b[1] > box[3] + 20 for b in boxes):
            boxes.append(box)
    return boxes


def _sar_strip(size: int, seed: int, ships: list):
    import numpy as np

    coast_amp = 0.04 * size

    def strip(y0, y1):
        rng = np.random.default_rng([seed, y0])
        rows = np.arange(y0, y1)[:, None]
        cols = np.arange(size)[None, :]
        coast = SEA_FRACTION * size + coast_amp * np.sin(rows / size * 9.0)
        land = cols >= coast
        mean_db = np.where(land, -8.0 + 2.0 * np.sin(cols / 300.0) * np.cos(rows / 410.0), -22.0)
        town = land & (np.abs(rows - size * 0.3) < size * 0.05) & (np.abs(cols - size * 0.85) < size * 0.05)
        mean_db = np.where(town, 2.0, mean_db)
        for x0, by0, x1, by1 in ships:
            if by1 > y0 and by0 < y1:
                a, b = max(by0, y0) - y0, min(by1, y1) - y0
                mean_db[a:b, x0:x1] = 10.0
        power = 10 ** (mean_db / 10) * rng.gamma(4.0, 0.25, mean_db.shape)
        return (10 * np.log10(power)).astype("float32")[None]
    return strip


def optical_path(size: int) -> Path:
    path = CACHE / f"optical_{size}.tif"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        _write_strips(path, size, 3, "uint16", _optical_strip(size, 0))
        print(f"  generated {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


def sar_path(size: int) -> Path:
    path = CACHE / f"sar_{size}.tif"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        _write_strips(path, size, 1, "float32", _sar_strip(size, 1, ship_boxes(size, max(20, size * size // 400_000), 1)))
        print(f"  generated {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


# ------------------------------------------------------------------------------------------------ cases
def _rss() -> dict:
    import resource

    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _current_rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def _warm_imports():
    """Import what a notebook session has already imported (the libraries, not the data), so cases time the
    work itself; ``import egx_notebook`` is measured on its own."""
    import rasterio  # noqa: F401
    import rioxarray  # noqa: F401

    import egx_notebook as egx
    import egx_notebook.api
    import egx_notebook.imagery.accessor
    import egx_notebook.imagery.open

    return egx


def case_full_load(path: str) -> dict:
    egx = _warm_imports()
    base = _current_rss_mb()
    t = time.perf_counter()
    scene = egx.open(path)
    values = scene.view().values
    dt = time.perf_counter() - t
    return {"time_s": dt, "shape": list(values.shape), "base_rss_mb": base, **_rss()}


def case_overview_render(path: str) -> dict:
    egx = _warm_imports()

    base = _current_rss_mb()
    t = time.perf_counter()
    scene = egx.open(path)
    rgb = scene.render()
    dt = time.perf_counter() - t
    return {"time_s": dt, "shape": list(rgb.shape), "base_rss_mb": base, **_rss()}


def case_zoom_in(path: str) -> dict:
    egx = _warm_imports()

    base = _current_rss_mb()
    t = time.perf_counter()
    scene = egx.open(path)
    c = scene.width // 2
    view = scene.zoom_in(egx.Box(c, c, c + 128, c + 128), context=4)  # a 512 x 512 full-resolution window
    values = view.values
    dt = time.perf_counter() - t
    return {"time_s": dt, "shape": list(values.shape), "base_rss_mb": base, **_rss()}


def _prompts(size: int, n: int, seed: int = 7):
    import numpy as np

    import egx_notebook as egx

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x, y = (float(v) for v in rng.uniform(64, size - 264, 2))
        kind = i % 3
        if kind == 0:
            w, h = (float(v) for v in rng.uniform(8, 200, 2))
            out.append(egx.Box(x, y, x + w, y + h))
        elif kind == 1:
            out.append(egx.Point(x, y))
        else:
            pts = [(x, y), (x + rng.uniform(20, 150), y + rng.uniform(-20, 60)), (x + rng.uniform(0, 80), y + rng.uniform(40, 150))]
            out.append(egx.FreeForm.polygon(pts))
    return out


def case_prompt_latency(path: str, n: int = 45) -> dict:
    """Prompt -> Referring latency of the offline backend (Box / Point / FreeForm polygons in turn)."""
    egx = _warm_imports()

    scene = egx.open(path)
    times = []
    for prompt in _prompts(scene.width, n):
        t = time.perf_counter()
        scene.refer(prompt)
        times.append(time.perf_counter() - t)
    g = []
    for query in ("ships", "water") if scene.modality == "sar" else ("water", "vegetation"):
        t = time.perf_counter()
        scene.ground(query)
        g.append(time.perf_counter() - t)
    return {"first_s": times[0], "latencies_s": times, "ground_s": g, **_rss()}


def case_tiled(path: str, tile_size: int, overlap: int, workers: int = 0, cluster: str = "egx", out: str = "") -> dict:
    """Tiled grounding of ships on the whole scene: in this process (``workers=0``) or on a LocalCluster of
    ``workers`` processes x 1 thread, made by ``egx_notebook.batch.local_cluster`` (``cluster="egx"``) or by a
    plain ``distributed.LocalCluster`` with dask's default worker settings (``cluster="plain"``)."""
    egx = _warm_imports()
    from egx_notebook.eval.metrics import match_boxes

    scene = egx.open(path)
    startup = 0.0
    client = lc = None
    if workers:
        from distributed import Client, LocalCluster

        from egx_notebook.batch import local_cluster

        t = time.perf_counter()
        lc = (local_cluster(workers) if cluster == "egx" else
              LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None))
        client = Client(lc)
        startup = time.perf_counter() - t
    try:
        t = time.perf_counter()
        g = scene.ground("ships", tiled=True, tile_size=tile_size, overlap=overlap, client=client, progress=False)
        wall = time.perf_counter() - t
    finally:
        if client is not None:
            client.close()
            lc.close()
    if out:
        g.to_geodataframe().to_pickle(out)
    d = g.diagnostics
    truth = ship_boxes(scene.width, max(20, scene.width * scene.height // 400_000), 1)
    m = match_boxes(g.boxes, truth, iou=0.5)
    return {"wall_s": wall, "startup_s": startup, "compute_s": d["compute_s"], "read_s": d["read_s"],
            "merge_s": d["merge_s"], "tiles": d["tiles"], "found": len(g), "truth": len(truth),
            "precision": m.precision, "recall": m.recall, **_rss()}


def case_import() -> dict:
    t = time.perf_counter()
    import egx_notebook  # noqa: F401

    dt = time.perf_counter() - t
    heavy = sorted(m for m in HEAVY if m in sys.modules)
    t = time.perf_counter()
    _warm_imports()  # what the first egx.open / ground pulls in: rasterio, xarray, rioxarray, dask, ...
    return {"time_s": dt, "heavy_loaded": heavy, "first_use_imports_s": time.perf_counter() - t, **_rss()}


CASES = {"full_load": case_full_load, "overview_render": case_overview_render, "zoom_in": case_zoom_in,
         "prompt_latency": case_prompt_latency, "tiled": case_tiled, "import": case_import}


#: (wall seconds, cores used by other processes) of every case run, for the summary.
OTHERS: list[tuple[float, float]] = []


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all processes, from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    except (OSError, ValueError):
        return float("nan")
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_case(name: str, **params) -> dict:
    """Run one case in a fresh interpreter; returns its JSON answer plus ``others_cores``: the CPU other
    processes on the machine used meanwhile (busy CPU time minus this case's own, per second of wall time)."""
    import resource

    cmd = [sys.executable, __file__, "--case", name, "--params", json.dumps(params)]
    ru0, busy0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_cpu_s(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                          check=False)
    ru1, busy1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_cpu_s(), time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"case {name} {params} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out["others_cores"] = max(0.0, (busy1 - busy0 - own) / wall)
    OTHERS.append((wall, out["others_cores"]))
    return out


# ------------------------------------------------------------------------------------------------ report
def _pct(values, q) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def machine() -> dict:
    import numpy
    import rasterio

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "numpy": numpy.__version__, "rasterio": rasterio.__version__, "gdal": rasterio.__gdal_version__,
            "load_avg": [round(v, 2) for v in os.getloadavg()]}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10000, help="side of the large scenes (px)")
    ap.add_argument("--latency-size", type=int, default=2048, help="side of the prompt-latency scenes (px)")
    ap.add_argument("--tile-size", type=int, default=1024)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers (one thread each)")
    ap.add_argument("--json", help="also write the measurements here")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(CASES[args.case](**json.loads(args.params))))
        return 0

    t_all = time.perf_counter()
    print(f"egx-notebook benchmarks; data cache {CACHE}", file=sys.stderr)
    info = machine()
    opt, sar = str(optical_path(args.size)), str(sar_path(args.size))
    opt2k, sar2k = str(optical_path(args.latency_size)), str(sar_path(args.latency_size))
    load_before = os.getloadavg()

    res: dict = {"machine": info, "args": vars(args) | {"case": None, "params": None}}
    rows = []

    def row(metric, value, unit, goal=None, ok=None):
        rows.append((metric, value, unit, goal or "-", "-" if ok is None else ("PASS" if ok else "MISS")))

    for label, path in (("optical", opt), ("SAR", sar)):
        print(f"  {label}: full load / overview render / zoom-in ...", file=sys.stderr)
        full = run_case("full_load", path=path)
        ovr = run_case("overview_render", path=path)
        zoom = run_case("zoom_in", path=path)
        res[label] = {"full_load": full, "overview_render": ovr, "zoom_in": zoom}
        n = f"{args.size} x {args.size}"
        row(f"{label} {n}: full .values load (time, peak RSS)", f"{full['time_s']:.2f} s, {full['peak_rss_mb']:.0f} MB", "")
        row(f"{label}: overview render (time, peak RSS)", f"{ovr['time_s']:.2f} s, {ovr['peak_rss_mb']:.0f} MB", "")
        own = (ovr["peak_rss_mb"] - ovr["base_rss_mb"]) / (full["peak_rss_mb"] - full["base_rss_mb"])
        row(f"{label}: overview render / full load, memory above the imports ({ovr['base_rss_mb']:.0f} MB)",
            f"{own:.3f}", "x", "<= 0.1", own <= 0.1)
        mem = ovr["peak_rss_mb"] / full["peak_rss_mb"]
        row(f"{label}: overview render / full load, whole-process peak RSS", f"{mem:.3f}", "x")
        row(f"{label}: overview render time", f"{ovr['time_s']:.2f}", "s", "<= 1.5 s", ovr["time_s"] <= 1.5)
        zr = zoom["time_s"] / full["time_s"]
        row(f"{label}: zoom-in 512 px read / full load (time)", f"{zr:.4f}", "x", "<= 0.05", zr <= 0.05)

    for label, path in (("SAR", sar2k), ("optical", opt2k)):
        print(f"  {label} {args.latency_size}: prompt latency ...", file=sys.stderr)
        lat = run_case("prompt_latency", path=path)
        res[f"latency_{label}"] = lat
        p50, p95 = _pct(lat["latencies_s"], 50) * 1000, _pct(lat["latencies_s"], 95) * 1000
        row(f"{label} {args.latency_size}^2: prompt->result p50 (refer, {len(lat['latencies_s'])} prompts)",
            f"{p50:.0f}", "ms")
        row(f"{label}: prompt->result p95", f"{p95:.0f}", "ms", "<= 300 ms", p95 <= 300)
        row(f"{label}: first prompt of the session (includes the scene context)", f"{lat['first_s'] * 1000:.0f}", "ms")
        queries = "ships, water" if label == "SAR" else "water, vegetation"
        row(f"{label}: whole-scene ground {queries} (untiled)", ", ".join(f"{v:.2f}" for v in lat["ground_s"]), "s")

    print("  tiled grounding, single process ...", file=sys.stderr)
    job = {"path": sar, "tile_size": args.tile_size, "overlap": args.overlap}
    with tempfile.TemporaryDirectory() as tmp:
        single = run_case("tiled", **job, out=f"{tmp}/single.pkl")
        print(f"  tiled grounding, local_cluster({args.workers}) and plain LocalCluster ...", file=sys.stderr)
        dask = run_case("tiled", **job, workers=args.workers, out=f"{tmp}/dask.pkl")
        plain = run_case("tiled", **job, workers=args.workers, cluster="plain")
        import pandas as pd

        same = pd.read_pickle(f"{tmp}/single.pkl").equals(pd.read_pickle(f"{tmp}/dask.pkl"))
    res["tiled"], res["tiled_dask"], res["tiled_dask_plain"], res["tiled_identical"] = single, dask, plain, same
    ratio = single["wall_s"] / single["compute_s"]
    row(f"SAR {args.size}^2 tiled 'ships' ({single['tiles']} tiles of {args.tile_size} px, overlap {args.overlap})",
        f"{single['wall_s']:.1f} s, {single['peak_rss_mb']:.0f} MB peak (others used {single['others_cores']:.1f} cores)", "")
    row(f"tiled: {single['found']} found / {single['truth']} planted: precision, recall @IoU 0.5",
        f"{single['precision']:.3f}, {single['recall']:.3f}", "")
    row("tiled: wall time / sum of backend compute", f"{ratio:.3f}", "x", "<= 1.15", ratio <= 1.15)
    for name, r in ((f"egx local_cluster({args.workers})", dask), (f"plain LocalCluster({args.workers} x 1 thread)", plain)):
        row(f"dask {name}: job wall (+ cluster start)",
            f"{r['wall_s']:.1f} s (+{r['startup_s']:.1f} s) (others used {r['others_cores']:.1f} cores)", "")
        row(f"dask {name}: speed-up vs single process", f"{single['wall_s'] / r['wall_s']:.2f}", "x")
    row("dask result identical to single process (GeoDataFrame.equals)", str(same), "", "True", same)

    imports = [run_case("import") for _ in range(5)]
    t_imp = statistics.median(r["time_s"] for r in imports)
    res["import"] = imports
    row("import egx_notebook (median of 5 fresh processes)", f"{t_imp:.3f}", "s", "< 1 s", t_imp < 1.0)
    row("first use: the libraries egx.open / ground import (median)",
        f"{statistics.median(r['first_use_imports_s'] for r in imports):.2f}", "s")
    heavy = sorted({m for r in imports for m in r["heavy_loaded"]})
    row("heavy modules imported by `import egx_notebook`", ", ".join(heavy) or "none", "", "none", not heavy)

    res["load_avg_before"], res["load_avg_after"] = load_before, os.getloadavg()
    res["total_s"] = time.perf_counter() - t_all
    width = max(len(r[0]) for r in rows)
    print(f"\n| {'metric':<{width}} | value | unit | goal | status |")
    print(f"|{'-' * (width + 2)}|---|---|---|---|")
    for metric, value, unit, goal, status in rows:
        print(f"| {metric:<{width}} | {value} | {unit} | {goal} | {status} |")
    others = sum(w * c for w, c in OTHERS) / max(sum(w for w, _ in OTHERS), 1e-9)
    res["others_cores_mean"] = others
    print(f"\nmachine: {info}; load average before {tuple(round(v, 2) for v in load_before)}, after "
          f"{tuple(round(v, 2) for v in os.getloadavg())}; other processes used {others:.2f} of "
          f"{os.cpu_count()} cores on average while the cases ran; total {res['total_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
