"""``egx demo``: the offline quickstart as a script. Makes the synthetic sample scenes, runs referring and
grounding on each modality with the default backend, and writes figures, GIS files and a report."""

from __future__ import annotations

import html
from pathlib import Path

from tqdm.auto import tqdm

from . import sample_data
from .prompts import Box, Point

#: (maker, query, prompt builder from the scene's ground truth)
CASES = [
    (sample_data.synthetic_sar, "ships", lambda s: Box(*s.objects["ship"][0])),
    (sample_data.synthetic_thermal, "hottest hot spot", lambda s: Point(*_centre(s.objects["hot_spot"][0]))),
    (sample_data.synthetic_optical, "water", lambda s: Box(*s.objects["built_up"][0])),
]


def _centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _real_cases(data_dir: Path):
    """Real scenes from a folder laid out like the project's shared data, when present."""
    s1 = data_dir / "sen1floods11/sample/S1/Spain_7370579_S1Hand.tif"
    hrsid = sorted((data_dir / "hrsid/data").glob("P*_[0-9]*[0-9].png")) if (data_dir / "hrsid/data").is_dir() else []
    out = []
    if s1.exists():
        out.append((s1, None, "water", Box(200, 200, 260, 260)))
    if hrsid:
        out.append((hrsid[0], "sar", "ships", None))
    return out


def run_demo(out: Path, data_dir: Path | None = None) -> Path:
    """Run the demo into ``out`` and return the path of the HTML report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .imagery.open import open as open_scene

    out.mkdir(parents=True, exist_ok=True)
    sections = []
    jobs = [("synthetic", maker, query, prompt) for maker, query, prompt in CASES]
    if data_dir is not None:
        jobs += [("real", path, query, prompt) for path, _, query, prompt in _real_cases(data_dir)]
        modality_of = {str(p): m for p, m, _, _ in _real_cases(data_dir)}
    for kind, source, query, prompt in tqdm(jobs, desc="egx demo", unit="scene"):
        if kind == "synthetic":
            sample = source(out / "data")
            scene, prompt = sample.open(), prompt(sample)
        else:
            scene = open_scene(source, modality=modality_of[str(source)])
        stem = f"{scene.name}"
        description = scene.describe()
        referring = scene.refer(prompt) if prompt is not None else None
        grounding = scene.ground(query)
        fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
        scene.plot(ax=axes[0])
        grounding.plot(ax=axes[0])
        scene.plot(ax=axes[1], colorbar=False)
        if referring is not None:
            referring.plot(ax=axes[1])
        fig.tight_layout()
        fig.savefig(out / f"{stem}.png", dpi=90)
        plt.close(fig)
        grounding.to_file(out / f"{stem}_grounding.geojson")
        grounding.to_file(out / f"{stem}_grounding.gpkg")
        grounding.save_masks(out / f"{stem}_masks.tif")
        if referring is not None:
            referring.to_file(out / f"{stem}_referring.geojson")
        sections.append((kind, scene, description, referring, grounding, f"{stem}.png"))
    return _write_report(out, sections)


def _write_report(out: Path, sections) -> Path:
    md, body = ["# egx-notebook demo (offline, analytic backend)", ""], []
    for kind, scene, description, referring, grounding, png in sections:
        note = "synthetic sample made by egx-notebook" if kind == "synthetic" else "real data"
        md += [f"## {scene.name} ({scene.modality}, {note})", "", f"![{scene.name}]({png})", "",
               f"- describe: {description.text}"]
        if referring is not None:
            md.append(f"- refer {referring.region.prompt.describe()}: {referring.text}")
        md += [f"- ground {grounding.query!r}: {len(grounding)} found "
               f"({', '.join(f'{d.label} {d.score:.2f}' for d in grounding.detections[:5])})", ""]
        body.append(f"<h2>{html.escape(scene.name)} ({scene.modality}, {note})</h2><img src='{png}' width='900'>"
                    f"<p><b>describe</b>: {html.escape(description.text)}</p>"
                    + (referring._repr_html_() if referring is not None else "") + grounding._repr_html_())
    (out / "report.md").write_text("\n".join(md))
    report = out / "report.html"
    report.write_text("<html><head><meta charset='utf-8'><title>egx demo</title></head><body>"
                      "<h1>egx-notebook demo (offline, analytic backend)</h1>" + "".join(body) + "</body></html>")
    return report
