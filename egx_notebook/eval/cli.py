"""``egx eval``: score a backend on a labelled dataset from the command line.

    egx eval hrsid --data ../shared/data --split held-out --out eval/hrsid --gallery 4
    egx eval hit-uav --data ../shared/data --task referring --split both --out eval/hit-uav-referring
    egx eval dior-rsvg --root /data/DIOR_RSVG --backend qwen_vl --out eval/rsvg
    egx eval coco --root annotations.json --images images/ --modality sar --query "ships"
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def add_eval_parser(subparsers) -> None:
    """Register the ``eval`` sub-command on an argparse ``subparsers`` object."""
    from .datasets import FORMATS, KNOWN

    e = subparsers.add_parser(
        "eval", help="score a backend on a labelled dataset (grounding or referring); writes JSONL, JSON, Markdown",
        description="Run a backend over a labelled dataset and write results.jsonl, summary.json, summary.md "
                    "(and a gallery of the worst cases).")
    e.add_argument("dataset", help=f"a known dataset ({', '.join(sorted(KNOWN))}) or a format "
                                   f"({', '.join(sorted(FORMATS))})")
    e.add_argument("--root", default=None, help="the dataset's folder (for coco: the instances JSON)")
    e.add_argument("--data", default=None, help="a folder holding the known datasets, e.g. ../shared/data")
    e.add_argument("--task", default="grounding", choices=["grounding", "referring"])
    e.add_argument("--split", default="all", choices=["all", "dev", "held-out", "both"],
                   help="which files: all, dev, held-out (by a hash of the file name), or both halves in turn")
    e.add_argument("--holdout", type=float, default=0.5, help="share of files held out (default 0.5)")
    e.add_argument("--backend", default="analytic", help="backend name (default: analytic)")
    e.add_argument("--query", default=None, help="grounding query instead of the dataset's own")
    e.add_argument("--iou", type=float, default=None, help="box IoU threshold (default: the dataset's, e.g. 0.5)")
    e.add_argument("--out", default=None, help="output folder (default: ./egx-eval/<dataset>-<task>)")
    e.add_argument("--gallery", type=int, default=0, metavar="K", help="render the K worst cases as PNGs")
    e.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N files")
    e.add_argument("--images", default=None, help="images folder (voc, coco, dior-rsvg, rrsis-d)")
    e.add_argument("--modality", default=None, help="optical | sar | infrared for formats without a fixed one")
    e.add_argument("--classes", default=None, help="comma-separated classes to find (voc, hit-uav, coco)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_eval)


def _options(args) -> dict:
    opts = {}
    if args.images:
        opts["images"] = args.images
    if args.modality:
        opts["modality"] = args.modality
    if args.classes:
        key = "categories" if args.dataset.lower() == "coco" else "classes"
        opts[key] = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    return opts


def cmd_eval(args) -> int:
    """Run ``egx eval`` for parsed ``args``; prints the Markdown summary of each split."""
    from .runner import run_eval

    splits = ["dev", "held-out"] if args.split == "both" else [args.split]
    base = Path(args.out) if args.out else Path("egx-eval") / f"{args.dataset}-{args.task}"
    command = "egx " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["eval"] else None
    for split in splits:
        out = base / split if len(splits) > 1 else base
        report = run_eval(args.dataset, backend=args.backend, task=args.task, split=split, out=out, root=args.root,
                          data=args.data, query=args.query, iou=args.iou, gallery=args.gallery, limit=args.limit,
                          progress=not args.quiet, command=command, holdout=args.holdout, **_options(args))
        print(report.to_markdown())
        print(f"wrote {out}/ (results.jsonl, summary.json, summary.md"
              + (f", gallery/ {len(report.paths.get('gallery', []))} PNGs" if args.gallery else "") + ")")
    return 0
