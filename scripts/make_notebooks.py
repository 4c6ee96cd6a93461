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


MULTISOURCE = [
    ("md", """# Multi-source imagery: optical, SAR and thermal

Remote-sensing images are measurements, not pictures. Each kind of sensor measures a different physical quantity,
so egx-notebook keeps every scene **in physical units** and draws it with a rendering that suits the modality:

| modality | measures | unit in egx | drawn as |
|---|---|---|---|
| optical | reflected sunlight per band | reflectance (0-1) or DN | percentile stretch of three bands |
| SAR | radar backscatter | decibels (dB) | grey, in a fixed dB window |
| thermal | emitted heat | kelvin (K) | a perceptual colormap (inferno) |

We use the small **synthetic scenes made by egx-notebook** (not real data) so this runs offline."""),
    ("code", """import numpy as np
import matplotlib.pyplot as plt
import egx_notebook as egx

sar = egx.sample_data.synthetic_sar().open()
thermal = egx.sample_data.synthetic_thermal().open()
optical = egx.sample_data.synthetic_optical().open()
for s in (sar, thermal, optical):
    print(f"{s.name:32s} modality={s.modality:9s} units={s.units:12s} bands={s.band_names}")"""),
    ("md", """## Lazy data in physical units
`scene.data` is a lazy (dask) `xarray.DataArray`: nothing is read until you compute. `scene.read(window)` reads
just a window, already calibrated. No-data pixels are `NaN`."""),
    ("code", """sar.data"""),
    ("code", """window = sar.read((0, 0, 64, 64))        # (bands, rows, cols) in dB
print(window.shape, window.dtype, f"VV mean of this corner: {np.nanmean(window[0]):.1f} dB")"""),
    ("md", """## Why SAR is viewed in decibels
Radar backscatter (sigma0, a power ratio) spans several orders of magnitude: calm water returns a twentieth to a hundredth
of the power a field does (13-20 dB less), and a ship or a building can return 100 times more than a field. Radar images also carry
**speckle**, a multiplicative noise. On a linear scale the image is almost black with a few white dots; in
decibels, `10 * log10(power)`, the range is compressed and speckle becomes additive, so water, land and targets
are all visible on one scale.

egx converts linear power with `10 log10` and amplitude with `20 log10`, and **never takes the log twice**: data
already in dB (negative values, like these) are kept as they are."""),
    ("code", """vv_db = sar.read()[0]
vv_power = 10 ** (vv_db / 10)          # back to linear power, for comparison only
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].imshow(vv_power, cmap="gray", vmin=0, vmax=np.nanpercentile(vv_power, 99.9))
axes[0].set_title("linear power: mostly black")
axes[1].imshow(vv_db, cmap="gray", vmin=-25, vmax=5)
axes[1].set_title("dB, window -25..+5: water, land, ships")
axes[2].hist(vv_db.ravel(), bins=100, color="k")
axes[2].set_xlabel("VV backscatter (dB)"); axes[2].set_title("two populations: sea and land")
plt.tight_layout()"""),
    ("md", """Averages of backscatter are taken **in linear power** (then converted back to dB): the mean of dB values is
biased low. The referring statistics of the analytic backend do this for you."""),
    ("code", """print(f"mean of dB values:         {np.nanmean(vv_db):6.2f} dB")
print(f"mean power, shown in dB:   {10 * np.log10(np.nanmean(vv_power)):6.2f} dB")"""),
    ("md", """## Thermal: temperatures in kelvin
The thermal sample is land surface temperature in K. Subtract 273.15 for degrees Celsius. The colormap runs from
dark (cool) to bright yellow (hot); the colour bar gives the values."""),
    ("code", """t = thermal.read()[0]
print(f"min {np.nanmin(t):.1f} K, median {np.nanmedian(t):.1f} K ({np.nanmedian(t) - 273.15:.1f} degC), max {np.nanmax(t):.1f} K")
thermal.plot();"""),
    ("md", """## Optical: true and false colour
With red, green and blue bands egx shows true colour. A **false-colour** composite puts the near infrared in the
red channel: healthy vegetation reflects NIR strongly and turns bright red. Band indices such as NDVI
`(NIR - red) / (NIR + red)` use the physics directly."""),
    ("code", """fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
optical.plot(ax=axes[0], colorbar=False); axes[0].set_title("true colour")
optical.plot(ax=axes[1], bands=["nir", "red", "green"], colorbar=False); axes[1].set_title("false colour (NIR, red, green)")
v = optical.read()
red, nir = v[optical.band_names.index("red")], v[optical.band_names.index("nir")]
im = axes[2].imshow((nir - red) / (nir + red), cmap="RdYlGn", vmin=-1, vmax=1); axes[2].set_title("NDVI")
fig.colorbar(im, ax=axes[2], fraction=0.046)
plt.tight_layout()"""),
    ("md", """## One call, three modalities
The same `describe()` call works on every modality; the backend reads the physical units."""),
    ("code", """for s in (sar, thermal, optical):
    print(f"[{s.modality}]", s.describe().text, "\\n")"""),
    ("md", """## Real scenes (optional, needs a network once)
`egx.sample_data.available()` lists real public scenes (Landsat, NAIP, Sentinel-1/2, ECOSTRESS). `fetch` downloads
one, checks its SHA-256 and caches it. The cell below only downloads when you set `FETCH = True`."""),
    ("code", """for name, what in egx.sample_data.available().items():
    print(f"{name:24s} {what[:110]}")
FETCH = False
if FETCH:
    real = egx.sample_data.open_sample("sentinel1_flood_spain")
    real.plot()"""),
]

REFERRING = [
    ("md", """# Referring with visual prompts

*Referring* answers "what is inside my prompt?". A **visual prompt** says where to look:

- `egx.Point(x, y)`: one location (point-level referring);
- `egx.Box(x0, y0, x1, y1)`: a rectangle (region-level);
- `egx.FreeForm.polygon(...)`, `egx.FreeForm.scribble(..., width=...)`, `egx.FreeForm.from_mask(...)`: any shape.
  Free-form shapes stay shapes: they are never reduced to their bounding box.

Coordinates are scene pixels `(column, row)` by default, or map coordinates with `crs=` (e.g. `"EPSG:4326"`).
We use the synthetic SAR scene made by egx-notebook (offline)."""),
    ("code", """import matplotlib.pyplot as plt
import egx_notebook as egx

sample = egx.sample_data.synthetic_sar()
scene = sample.open()
ship = sample.objects["ship"][0]          # a ground-truth ship box (pixels)
ship"""),
    ("md", """## Point, box and scene level"""),
    ("code", """x0, y0, x1, y1 = ship
on_ship = scene.refer(egx.Point((x0 + x1) / 2, (y0 + y1) / 2))
around_ship = scene.refer(egx.Box(x0 - 10, y0 - 10, x1 + 10, y1 + 10))
whole = scene.describe()
for r in (on_ship, around_ship, whole):
    print(f"{r.level:7s} {r.label:14s} {r.confidence:.2f}  {r.text}")"""),
    ("md", """Each answer is a `Referring`: a sentence (`text`), a `label` with a `confidence`, `scores` for the candidate
labels, and the numbers it was built from (`stats`)."""),
    ("code", """around_ship.stats"""),
    ("md", """## Free-form prompts
A polygon follows an outline; a scribble is a stroke with a width (in pixels here). The region the model looks at
is exactly that shape."""),
    ("code", """across_coast = egx.FreeForm.polygon([(330, 230), (450, 240), (460, 330), (380, 360), (320, 320)])
stroke = egx.FreeForm.scribble([(60, 300), (120, 330), (200, 320)], width=6)
for p in (across_coast, stroke):
    r = scene.refer(p)
    print(p.describe(), "->", r.label, f"({r.confidence:.2f})")
ax = scene.plot(colorbar=False)
for p, colour in ((across_coast, "orange"), (stroke, "cyan")):
    scene.refer(p).plot(ax=ax, color=colour)"""),
    ("md", """## What the model sees: the region mask
`prompt.to_pixels(scene)` gives the exact pixel geometry; `.mask()` the pixels it covers."""),
    ("code", """region = stroke.to_pixels(scene)
print(region.kind, "bounds:", tuple(round(v, 2) for v in region.bounds), "area:", round(region.area_px), "px")
plt.imshow(region.mask((40, 280, 220, 350)), cmap="gray"); plt.title("scribble mask (zoomed)");"""),
    ("md", """## Map coordinates
Prompts in longitude/latitude (what a web map returns) are converted exactly with pyproj and the scene's affine
transform; nothing is rounded."""),
    ("code", """from pyproj import Transformer
to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
lon0, lat0 = to_ll.transform(*scene.to_map(x0 - 10, y1 + 10))
lon1, lat1 = to_ll.transform(*scene.to_map(x1 + 10, y0 - 10))
geo_box = egx.Box(lon0, lat0, lon1, lat1, crs="EPSG:4326")
print(geo_box)
print(scene.refer(geo_box).text)"""),
    ("md", """## Instructions and mistakes
An `instruction` is passed to backends that read text (the analytic backend records it). A prompt outside the
image raises a typed error that says what to fix; one partly outside is clipped with a warning."""),
    ("code", """r = scene.refer(egx.Box(*ship), instruction="Is this a ship or a wave?")
print(r.instruction, "->", r.label)
try:
    scene.refer(egx.Point(5000, 5000))
except egx.errors.PromptOutsideImageError as err:
    print("error:", err)"""),
    ("md", """## Other modalities
The same prompts work on thermal and optical scenes; the statistics change with the physics (temperatures in K,
spectral indices)."""),
    ("code", """thermal_sample = egx.sample_data.synthetic_thermal()
thermal = thermal_sample.open()
print(thermal.refer(egx.Box(*thermal_sample.objects["hot_spot"][0])).text)
optical_sample = egx.sample_data.synthetic_optical()
optical = optical_sample.open()
print(optical.refer(egx.Box(*optical_sample.objects["water"][0])).text)"""),
]

GROUNDING = [
    ("md", """# Grounding and export to GIS

*Grounding* answers "where is ...?": a query becomes boxes and pixel masks. The offline `analytic` backend
understands a small grammar, `[count] [qualifier] <class> [position]`, for example `"ships"`,
`"the largest ship"`, `"two brightest vessels in the north-west"`, `"3 hot spots at the top left"`, `"water"`.
Results carry pixel and map coordinates and export through geopandas and rasterio."""),
    ("code", """import tempfile, pathlib
import geopandas as gpd
import numpy as np
import rasterio
import matplotlib.pyplot as plt
import egx_notebook as egx

sample = egx.sample_data.synthetic_sar()
scene = sample.open()
out = pathlib.Path(tempfile.mkdtemp(prefix="egx-gis-"))"""),
    ("code", """ships = scene.ground("ships")
ax = ships.plot(scene=scene)
ships"""),
    ("md", """## Qualifiers, counts and positions"""),
    ("code", """for q in ("the largest ship", "two brightest vessels", "ships in the north-west", "water"):
    g = scene.ground(q)
    print(f"{q!r:30s} -> {len(g)} found: {g.labels[:4]}")"""),
    ("md", """A query the backend does not understand raises an error that lists what it does understand:"""),
    ("code", """try:
    scene.ground("submarines under the ice")
except egx.errors.UnsupportedQueryError as err:
    print(str(err)[:300])"""),
    ("md", """## Filter, sort, inspect
A `Grounding` behaves like a list of `Detection`s (box, label, score, mask, attributes)."""),
    ("code", """best = ships.filter(min_score=0.5).top(3)
for d in best:
    print(d.label, round(d.score, 2), "box (px):", tuple(round(v, 1) for v in d.box), "area:", d.area_px, "px")"""),
    ("md", """## How good is it? Compare with the ground truth
The synthetic scene knows where its ships are. `egx.eval.metrics.match_boxes` matches detections to truth boxes at
an IoU (intersection over union) threshold and counts true positives, false positives and misses."""),
    ("code", """from egx_notebook.eval.metrics import match_boxes
counts = match_boxes(ships.boxes, sample.objects["ship"], iou=0.3)
print(counts, f"precision {counts.precision:.2f}, recall {counts.recall:.2f}")"""),
    ("md", """## Export to GIS
`to_geodataframe` gives map geometry (masks vectorized exactly, or boxes); `to_file` writes GeoPackage / GeoJSON;
`save_masks` writes a GeoTIFF of detection ids on the scene's grid, ready for QGIS or ArcGIS."""),
    ("code", """gdf = ships.to_geodataframe(crs="EPSG:4326")
gdf[["id", "label", "score", "area_px", "geometry"]].head()"""),
    ("code", """ships.to_file(out / "ships.gpkg")
ships.to_file(out / "ships.geojson", crs="EPSG:4326")
ships.save_masks(out / "ship_masks.tif")
back = gpd.read_file(out / "ships.gpkg")
with rasterio.open(out / "ship_masks.tif") as ds:
    ids = ds.read(1)
    print("mask GeoTIFF:", ds.crs, ds.shape, "ids:", sorted(set(ids[ids > 0].tolist())))
print(len(back), "features in", sorted(p.name for p in out.iterdir()))"""),
    ("md", """## Thermal and optical grounding"""),
    ("code", """thermal = egx.sample_data.synthetic_thermal().open()
optical = egx.sample_data.synthetic_optical().open()
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
thermal.ground("hot spots").plot(ax=axes[0], scene=thermal)
optical.ground("built-up").plot(ax=axes[1], scene=optical)
plt.tight_layout()"""),
    ("md", """## Single trees in sub-metre imagery
In aerial imagery of about 1 m or finer, "trees" are objects: one detection per crown (greenness, a crown size
expected from the pixel size, and a marker-controlled watershed that splits touching crowns). At 10-30 m pixels a
crown is smaller than a pixel, so ask for "forest" or "vegetation" there instead."""),
    ("code", """sample = egx.sample_data.synthetic_canopy()
woodland = sample.open()
trees = woodland.ground("trees")
counts = match_boxes(trees.boxes, sample.objects["tree"], iou=0.5)
print(f"{len(trees)} crowns found; precision {counts.precision:.2f}, recall {counts.recall:.2f}")
print("median crown diameter:", round(float(np.median([d.attributes["crown_diameter_m"] for d in trees])), 1), "m")
trees.plot(scene=woodland);"""),
]

ZOOM = [
    ("md", """# Zoom in, zoom out and whole-scene tiling

A model sees a limited number of pixels. egx-notebook handles scale with **views**: a `View` is a window of the
scene at a scale (full resolution, or decimated). Results computed on a view map back to scene pixels exactly.

- **zoom in**: a full-resolution window around a prompt, with context, so small objects keep their detail;
- **zoom out**: a decimated overview, for scene-level questions and context;
- **tiling**: full-resolution tiles that cover a large scene, with overlap so objects on a seam are not lost."""),
    ("code", """import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
import egx_notebook as egx

sample = egx.sample_data.synthetic_sar(size=768, ships=8)
scene = sample.open()
scene"""),
    ("md", """## Views"""),
    ("code", """overview = scene.overview(256)               # the whole scene, at most 256 px on its longer side
ship = egx.Box(*sample.objects["ship"][0])
close = scene.zoom_in(ship, context=4)          # full resolution, 4x the ship's extent
print(overview, "\\n", close)
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
overview.plot(ax=axes[0], colorbar=False); axes[0].set_title(f"overview, scale {overview.scale[0]:.1f}")
close.plot(ax=axes[1], colorbar=False); axes[1].set_title("zoom-in around a ship (full resolution)")
plt.tight_layout()"""),
    ("md", """`view.pixel_transform` maps view pixels to scene pixels; `view.transform` maps them to map coordinates."""),
    ("code", """print(overview.pixel_transform)
print("view pixel (10, 10) is scene pixel", overview.to_scene_pixels(10, 10))"""),
    ("md", """## The same question at two scales
On the overview (3 scene pixels per view pixel) a small ship covers a pixel or two and may be missed or merged
with a neighbour; in the zoom-in it keeps its full extent. Answers from any view come back in scene pixels."""),
    ("code", """print("overview:", overview.ground("ships"))
print("zoom-in: ", close.ground("ships"))
print("zoom-in answer in scene pixels:", [tuple(round(v) for v in d.box) for d in close.ground("ships")])"""),
    ("md", """## Zooming out from a view
`view.zoom_out(factor)` keeps the centre and shows `factor` times more, at a coarser scale."""),
    ("code", """wider = close.zoom_out(4)
print(wider, "scale", wider.scale)
print(wider.describe().text)"""),
    ("md", """At a 4 times coarser scale a ship a few pixels wide is averaged into the sea around it: the zoomed-out view
gives context (open sea, a coast), the zoom-in gives detail. Referring on a prompt uses a zoom-in automatically;
scene-level questions use an overview."""),
    ("md", """## Whole-scene tiling
`scene.tiles(size, overlap)` walks the scene in full-resolution tiles. `scene.ground(query, tiled=True)` runs the
query tile by tile and merges the results so an object on a seam is counted once."""),
    ("code", """tiles = list(scene.tiles(256, overlap=32))
ax = scene.plot(colorbar=False)
for t in tiles:
    x0, y0, x1, y1 = t.window
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="cyan", lw=0.8))
ax.set_title(f"{len(tiles)} tiles of 256 px, overlap 32 px");"""),
    ("code", """tiled = scene.ground("ships", tiled=True, tile_size=256, overlap=32, progress=False)
whole = scene.ground("ships")
print(f"tiled: {len(tiled)} ships, one overview: {len(whole)} ships, truth: {len(sample.objects['ship'])}")
tiled.plot(scene=scene);"""),
]

VLM = [
    ("md", """# Vision-language model backends

The default `analytic` backend needs no weights. egx-notebook can also run **vision-language models** through
Hugging Face `transformers` (Florence-2, Qwen2.5-VL / Qwen3-VL, SAM, and a combined `egx` pipeline). They use the
same calls: `scene.refer(prompt, backend="florence2")`, `scene.ground(query, backend="qwen-vl")`.

**What to install** (once, in a terminal):

```bash
# PyTorch first, the build for your machine (https://pytorch.org/get-started/locally/); on the project's
# CPU development machines that is the pinned CPU wheel: pip install "torch==2.13.0"
pip install "egx-notebook[models]"       # transformers, accelerate, safetensors, tokenizers
```

**Weights**: on a machine with network access, download a checkpoint folder, e.g.
`hf download florence-community/Florence-2-base --local-dir ~/models/florence2-base`, copy it where you work, and
pass the folder as `model_id`. egx loads **safetensors only** and never runs remote code
(`trust_remote_code=False`). With `HF_HUB_OFFLINE=1` nothing is downloaded.

This notebook runs offline: cells that need weights check for them first and explain themselves."""),
    ("code", """import os
from pathlib import Path
import egx_notebook as egx

for name, what in egx.list_backends().items():
    print(f"{name:10s} {what}")"""),
    ("md", """## Where are the weights?
Set these environment variables (or edit the paths) to point at local checkpoint folders. A folder must hold
`config.json` and `*.safetensors` files."""),
    ("code", """FLORENCE2_DIR = os.environ.get("EGX_FLORENCE2_DIR", "~/models/florence2-base")
QWEN_VL_DIR = os.environ.get("EGX_QWEN_VL_DIR", "~/models/qwen2.5-vl-3b")

def have(folder):
    p = Path(folder).expanduser()
    return p.is_dir() and (p / "config.json").exists() and any(p.glob("*.safetensors*"))

print("Florence-2 weights:", "found" if have(FLORENCE2_DIR) else f"not found at {FLORENCE2_DIR}")
print("Qwen-VL weights:   ", "found" if have(QWEN_VL_DIR) else f"not found at {QWEN_VL_DIR}")"""),
    ("md", """## A clear error instead of a crash
Pointing at a folder that is not a checkpoint gives a typed `BackendError` that says how to fix it."""),
    ("code", """scene = egx.sample_data.synthetic_sar().open()
try:
    scene.describe(backend=egx.get_backend("florence2", model_id="./no-such-checkpoint"))
except (egx.errors.BackendError, ImportError) as err:
    print(type(err).__name__, ":", str(err)[:400])"""),
    ("md", """## Referring and grounding with Florence-2 (needs weights)
SAR and thermal scenes are rendered for RGB models by modality (dB window, thermal colormap). Florence-2 only takes
fixed task tokens, so it cannot be told in words what it is looking at (the Qwen-VL backend is: its instruction
names the sensor, band or polarisation, units and what bright and dark mean). The prompt box is encoded in
Florence-2's own coordinates (`<loc_0>`..`<loc_999>`); egx decodes the answer back to scene pixels."""),
    ("code", """if have(FLORENCE2_DIR):
    florence = egx.get_backend("florence2", model_id=str(Path(FLORENCE2_DIR).expanduser()), device="cpu")
    sample = egx.sample_data.synthetic_optical()
    optical = sample.open()
    print(optical.refer(egx.Box(*sample.objects["water"][0]), backend=florence).text)
    optical.ground("lake", backend=florence).plot(scene=optical)
else:
    print("Skipped: no Florence-2 checkpoint at", FLORENCE2_DIR,
          "- download one as explained above and set EGX_FLORENCE2_DIR.")"""),
    ("md", """## Qwen-VL: visual prompts drawn on the image (needs weights)
Qwen-VL reads free instructions. egx draws the prompt (box, point or scribble) on the image as a visual marker
and asks about it; answers with coordinates are parsed with the model family's codec."""),
    ("code", """if have(QWEN_VL_DIR):
    qwen = egx.get_backend("qwen-vl", model_id=str(Path(QWEN_VL_DIR).expanduser()), device="cpu")
    sar_sample = egx.sample_data.synthetic_sar()
    sar = sar_sample.open()
    print(sar.refer(egx.Box(*sar_sample.objects["ship"][0]), instruction="What is this bright object?",
                    backend=qwen).text)
else:
    print("Skipped: no Qwen-VL checkpoint at", QWEN_VL_DIR, "- set EGX_QWEN_VL_DIR to a local folder.")"""),
    ("md", """## Coordinates: every model family speaks its own
egx keeps one *codec* per convention and tests each by round trip. For a 800 x 600 image, the same box in
Florence-2 tokens and back:"""),
    ("code", """from egx_notebook.backends.codecs import codec_for
codec = codec_for("florence2", (800, 600))
tokens = codec.box_to_model((100, 50, 300, 250))
print(codec.format_box(tokens), "->", tuple(round(v, 1) for v in codec.box_from_model(tokens)))
print(codec.describe())"""),
    ("md", """## Your own backend
Any class implementing `Backend.refer(view, region, instruction)` and `Backend.ground(view, query)` plugs in with
`egx.register_backend("name", MyBackend)` (or a package entry point), and then works in the Explorer too."""),
]

EXPLORER = [
    ("md", """# The Explorer: prompts on a map

`egx.ui.Explorer(scene)` (or `scene.explore()`) shows the scene on an interactive map with a side panel:

1. **Draw** a point, a rectangle or a polygon with the tools on the left of the map, or switch on **Scribble** and
   drag a freehand stroke. Each shape becomes an egx prompt (exact conversion from the map's coordinates).
   Edit or delete shapes with the edit tools; the prompt list follows.
2. **Type** an instruction or a query ("ships", "the largest water body").
3. **Describe** (referring on the selected prompt, or the whole scene), **Find** (grounding; around the selected
   prompt if one is selected), **Analyze view** (the part of the scene the map shows, read at the map's zoom
   level), **Zoom in / Zoom out**, **Clear**, **Export** (GeoPackage or GeoJSON).
4. Results appear as map layers (click one for its label and score), in the results list (select to zoom) and in the
   legend. Long calls show progress and never freeze the map; errors appear in the status line and nothing made
   so far is lost.

Scenes without georeferencing open on a pixel map; large scenes are served as tiles by a small server on
127.0.0.1. The map shows no basemap by default (it works offline)."""),
    ("code", """import egx_notebook as egx
from egx_notebook.ui import Explorer

sample = egx.sample_data.synthetic_sar()
scene = sample.open()
ex = Explorer(scene, height="500px")
ex"""),
    ("md", """## Driving the same session from code
Everything the buttons do is also a method, so a lesson can prepare prompts and results (and a notebook rendered
as HTML still shows them). Here we add a box on a ship and a point at sea, then ask."""),
    ("code", """x0, y0, x1, y1 = sample.objects["ship"][0]
box = ex.add_prompt(egx.Box(x0 - 6, y0 - 6, x1 + 6, y1 + 6))
answer = ex.describe()                 # the selected prompt: the box just added
print(answer.text)"""),
    ("code", """ships = ex.find("ships", prompt=None)   # prompt=None: the whole scene
print(ships)
print([name for name, _ in ex.panel.results.options][:5])"""),
    ("code", """ex.select_result("F1", 0)              # as if picked in the results list: highlight and zoom
print("map centre", [round(v, 5) for v in ex.map.center], "zoom", ex.map.zoom)
ex.zoom_out()"""),
    ("md", """## Export
Prompts and results go to one GeoPackage (layers `prompts`, `referring`, `detections`) or one GeoJSON file."""),
    ("code", """import geopandas as gpd, pyogrio
path = ex.export("explorer_session.gpkg")
print(pyogrio.list_layers(path))
gpd.read_file(path, layer="detections")[["result", "label", "score"]].head()"""),
    ("md", """## A static picture for reports
Widgets need a live kernel. For a figure that survives export to HTML or PDF, plot the results with matplotlib."""),
    ("code", """ax = ships.plot(scene=scene)
answer.plot(ax=ax, color="cyan");"""),
    ("md", """## Thermal and pixel-only images
A thermal scene opens with its colormap and legend; an image without georeferencing (a PNG chip) opens on a pixel
map where coordinates are columns and rows."""),
    ("code", """thermal = egx.sample_data.synthetic_thermal().open()
Explorer(thermal, height="400px")"""),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_multisource_imagery.ipynb": MULTISOURCE,
    "03_referring_visual_prompts.ipynb": REFERRING,
    "04_grounding_and_gis_export.ipynb": GROUNDING,
    "05_zoom_and_tiling.ipynb": ZOOM,
    "06_vision_language_backends.ipynb": VLM,
    "07_explorer.ipynb": EXPLORER,
}


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: regenerating gives the same files
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)


if __name__ == "__main__":
    main()
