"""The ``egx`` command line: ``egx demo``, ``egx info``, ``egx refer``, ``egx ground``, ``egx backends``."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def _open(args):
    from .imagery.open import open as open_scene

    return open_scene(args.path, modality=args.modality)


def _prompt(args):
    from .prompts import Box, Point

    crs = args.crs
    if args.box:
        return Box(*args.box, crs=crs)
    if args.point:
        return Point(*args.point, crs=crs)
    return None


def _backend_options(args) -> dict:
    """Constructor options for model backends given on the command line."""
    opts = {}
    if args.model_id:
        opts["model_id"] = args.model_id
    if args.device:
        opts["device"] = args.device
    return opts


def cmd_info(args) -> int:
    scene = _open(args)
    for k, v in scene.summary().items():
        print(f"{k:>12}: {v}")
    return 0


def cmd_refer(args) -> int:
    scene = _open(args)
    result = scene.refer(_prompt(args), instruction=args.instruction, backend=args.backend, **_backend_options(args))
    print(result.text)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
    if args.out:
        result.to_file(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_ground(args) -> int:
    scene = _open(args)
    tiling = {}
    if args.tiled:
        tiling = {"tiled": True, "tile_size": args.tile_size, "overlap": args.overlap, "client": args.scheduler}
    result = scene.ground(args.query, backend=args.backend, **tiling, **_backend_options(args))
    print(f"{len(result)} found for {args.query!r}")
    for i, d in enumerate(result, start=1):
        print(f"  {i:>3} {d.label:<12} score {d.score:.2f} box {tuple(round(v, 1) for v in d.box)}")
    if args.out:
        result.to_file(args.out)
        print(f"wrote {args.out}")
    if args.masks:
        result.save_masks(args.masks)
        print(f"wrote {args.masks}")
    return 0


def cmd_backends(args) -> int:
    from .backends.registry import list_backends

    for name, desc in list_backends().items():
        print(f"{name:<12} {desc}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    report = run_demo(Path(args.out), data_dir=Path(args.data) if args.data else None)
    print(f"demo written to {report.parent}/ (open {report.name})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="egx", description="Referring and grounding on optical, SAR and thermal imagery.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the offline quickstart and write figures, GeoJSON/GeoPackage and a report")
    d.add_argument("--out", default="egx-demo", help="output folder (default: ./egx-demo)")
    d.add_argument("--data", default=None, help="folder of real sample data (e.g. ../shared/data) to include")
    d.set_defaults(func=cmd_demo)

    def scene_args(sp):
        sp.add_argument("path", help="raster path or URL")
        sp.add_argument("--modality", default=None, help="optical | sar | infrared (detected when omitted)")
        sp.add_argument("--backend", default=None, help="backend name (default: analytic; see `egx backends`)")
        sp.add_argument("--model-id", default=None, help="model backends: hub id or local directory of the weights")
        sp.add_argument("--device", default=None, help="model backends: e.g. cpu, cuda, cuda:1 (default: auto)")

    i = sub.add_parser("info", help="print what egx sees in a raster")
    i.add_argument("path")
    i.add_argument("--modality", default=None)
    i.set_defaults(func=cmd_info)

    r = sub.add_parser("refer", help="describe a prompted region (or the whole scene)")
    scene_args(r)
    r.add_argument("--box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"))
    r.add_argument("--point", nargs=2, type=float, metavar=("X", "Y"))
    r.add_argument("--crs", default=None, help="CRS of the prompt coordinates (default: pixels)")
    r.add_argument("--instruction", default=None)
    r.add_argument("--json", action="store_true", help="also print the result as JSON")
    r.add_argument("--out", default=None, help="write the region as GeoJSON/GeoPackage")
    r.set_defaults(func=cmd_refer)

    g = sub.add_parser("ground", help="find objects or areas named by a query")
    scene_args(g)
    g.add_argument("query")
    g.add_argument("--out", default=None, help="write results as GeoJSON/GeoPackage")
    g.add_argument("--masks", default=None, help="write an instance-id mask GeoTIFF aligned with the scene")
    g.add_argument("--tiled", action="store_true", help="whole scene at full resolution, tile by tile (large scenes)")
    g.add_argument("--tile-size", type=int, default=1024, help="tile size in pixels (with --tiled)")
    g.add_argument("--overlap", type=int, default=128, help="tile overlap in pixels; objects up to this size are exact")
    g.add_argument("--scheduler", default=None, help="dask.distributed scheduler address to run the tiles on")
    g.set_defaults(func=cmd_ground)

    b = sub.add_parser("backends", help="list registered backends")
    b.set_defaults(func=cmd_backends)
    from .eval.cli import add_eval_parser
    add_eval_parser(sub)
    return p


def main(argv=None) -> int:
    from .errors import EgxError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        try:
            return args.func(args)
        except EgxError as exc:
            print(f"egx: error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
