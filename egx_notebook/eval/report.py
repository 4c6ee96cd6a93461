"""Writing evaluation results: ``results.jsonl``, ``summary.json`` and a Markdown summary table."""

from __future__ import annotations

import json
from pathlib import Path

#: Metrics shown in Markdown, in this order, with their headings.
METRICS = [
    ("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("ap", "AP"),
    ("acc", "Acc@IoU"), ("mean_iou", "mean IoU (top-1)"),
    ("ciou", "cIoU"), ("mask_miou", "mean mask IoU"),
    ("pd", "Pd"), ("fa", "Fa (x 1e-6)"),
    ("accuracy", "accuracy"),
]


#: Metrics shown scaled (Fa per million pixels, as in the small-target literature's tables).
SCALE = {"fa": 1e6}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) >= 1000 or (abs(v) < 1e-3 and v != 0) else f"{v:.3f}"
    return str(v)


def write_report(report, out: Path) -> dict:
    """Write the report's records and summary under ``out``; returns the paths."""
    from .runner import dumps

    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "summary_json": out / "summary.json", "summary_md": out / "summary.md"}
    with open(paths["results"], "w", encoding="utf-8") as fh:
        for rec in report.records:
            fh.write(dumps(rec) + "\n")
    paths["summary_json"].write_text(json.dumps(report.summary, indent=2, default=str) + "\n", encoding="utf-8")
    paths["summary_md"].write_text(summary_markdown(report.summary), encoding="utf-8")
    return paths


def summary_markdown(s: dict) -> str:
    """One run as Markdown: the settings, a metric table and (referring) the confusion matrix."""
    lines = [f"## {s.get('dataset')} [{s.get('split')}] {s.get('task')} - backend `{s.get('backend')}`", ""]
    setting = [f"files {s.get('files')}", f"items {s.get('items')}"]
    if s.get("query") and s.get("task") == "grounding":
        setting.append(f"query {s['query']!r}")
    if s.get("task") == "grounding":
        setting.append(f"IoU {s.get('iou')}")
    if s.get("skipped"):
        setting.append(f"skipped {s['skipped']}")
    if s.get("errors"):
        setting.append(f"errors {s['errors']}")
    lines += [", ".join(setting) + f"; {s.get('date')}; {s.get('seconds')} s", ""]
    rows = [(name, s[key] * SCALE.get(key, 1)) for key, name in METRICS if key in s]
    if "tp" in s:
        rows.append(("TP / FP / FN", f"{s['tp']} / {s['fp']} / {s['fn']}"))
    if "targets" in s:
        rows.append(("targets (Pd rule)", f"{s['targets']} ({s.get('pd_rule')})"))
    if rows:
        lines += ["| metric | value |", "|---|---|"] + [f"| {n} | {_fmt(v)} |" for n, v in rows] + [""]
    for group, g in (s.get("by_time") or {}).items():
        lines.append(f"- {group}: precision {_fmt(g['precision'])}, recall {_fmt(g['recall'])}, F1 {_fmt(g['f1'])} "
                     f"(TP {g['tp']}, FP {g['fp']}, FN {g['fn']})")
    if s.get("by_time"):
        lines.append("")
    if "confusion" in s:
        labels = s["labels"]
        lines += ["Confusion (rows: true class, columns: class named):", "",
                  "| true \\ named | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        lines += [f"| {t} | " + " | ".join(str(v) for v in row) + " |" for t, row in zip(labels, s["confusion"])]
        lines += ["", "Raw labels said: " + ", ".join(f"{k} {v}" for k, v in s.get("said", {}).items()), ""]
    lines += [f"Regenerate: `{s.get('command')}`", ""]
    return "\n".join(lines)


def results_table(summaries: list[dict]) -> str:
    """Several runs side by side (one row each) as a Markdown table of the metrics any of them has."""
    cols = [(k, n) for k, n in METRICS if any(k in s for s in summaries)]
    head = "| dataset | split | task | IoU | files | items | " + " | ".join(n for _, n in cols) + " |"
    lines = [head, "|---" * (6 + len(cols)) + "|"]
    for s in summaries:
        vals = " | ".join(_fmt(s[k] * SCALE.get(k, 1)) if k in s else "" for k, _ in cols)
        iou = s.get("iou", "") if s.get("task") == "grounding" else ""
        lines.append(f"| {s.get('dataset')} | {s.get('split')} | {s.get('task')} | {iou} | {s.get('files')} | "
                     f"{s.get('items')} | {vals} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """``python -m egx_notebook.eval.report FOLDER ...``: one table of every ``summary.json`` found under the
    folders (in path order), e.g. after several ``egx eval ... --out egx-eval/<name>`` runs."""
    import sys

    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or [Path("egx-eval")]
    paths = sorted(p for f in folders for p in ([f] if f.is_file() else f.rglob("summary.json")))
    print(results_table([json.loads(p.read_text(encoding="utf-8")) for p in paths]), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
