"""Write the notebooks in notebooks/ from the cell lists below (outputs are never committed).

Run: python scripts/make_notebooks.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"

QUICKSTART = [
    ("md", """# egx-notebook quickstart

Referring ("what is inside my prompt?") and grounding ("where is the largest ship?") on optical, SAR and thermal
imagery, offline, with the default `analytic` backend (no model weights).

We use the **synthetic sample scenes made by egx-notebook** (not real imagery) so the notebook runs anywhere.
Swap in your own GeoTIFF with `egx.open("my_scene.tif")`."""),
    ("code", """import warnings
import matplotlib.pyplot as plt
import egx_notebook as egx

sar = egx.sample_data.synthetic_sar()      # writes a small GeoTIFF and returns it with its ground truth
scene = sar.open()
scene"""),
    ("md", """## Look at it
SAR is shown in decibels: backscatter spans several orders of magnitude, so a dB window (-25..+5 dB) shows dark
calm water, moderately bright fields and very bright ships and buildings on one scale."""),
    ("code", "scene.plot();"),
    ("md", "## Scene-level referring"),
    ("code", "scene.describe()"),
    ("md", """## Referring with a visual prompt
A box in pixel coordinates (col, row). Prompts can also be given in map coordinates with `crs=`."""),
    ("code", """box = egx.Box(*sar.objects["ship"][0])
answer = scene.refer(box)
print(answer.text)
answer.stats"""),
    ("code", """west, south, east, north = scene.bounds
from pyproj import Transformer
to_wgs84 = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
lon, lat = to_wgs84.transform(west + 1000, north - 1000)   # 1 km in from the north-west corner
scene.refer(egx.Point(lon, lat, crs="EPSG:4326")).text"""),
    ("md", "## Grounding"),
    ("code", """ships = scene.ground("ships")
ax = ships.plot(scene=scene)
ships"""),
    ("code", """largest = scene.ground("the largest ship")
largest.to_geodataframe(crs="EPSG:4326")"""),
    ("md", "## Export to GIS"),
    ("code", """import tempfile, pathlib, geopandas as gpd
out = pathlib.Path(tempfile.mkdtemp())
ships.to_file(out / "ships.gpkg")
ships.save_masks(out / "ships_masks.tif")
gpd.read_file(out / "ships.gpkg").head()"""),
    ("md", """## Other modalities
Thermal scenes are in kelvin and drawn with a perceptual colormap; optical scenes get a percentile stretch and
spectral indices (NDVI, NDWI) when the bands exist."""),
    ("code", """thermal = egx.sample_data.synthetic_thermal().open()
optical = egx.sample_data.synthetic_optical().open()
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
thermal.ground("hot spots").plot(ax=axes[0], scene=thermal)
optical.ground("water").plot(ax=axes[1], scene=optical)
print(thermal.describe().text)
print(optical.describe().text)"""),
]


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    HERE.mkdir(exist_ok=True)
    nbformat.write(build(QUICKSTART), HERE / "01_quickstart.ipynb")


if __name__ == "__main__":
    main()
