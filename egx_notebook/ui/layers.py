"""Map layers of the Explorer: the scene itself and the prompts / results drawn over it.

The scene is shown either as one in-memory PNG overlay (small scenes; no server needed) or as XYZ tiles from
a local tile server bound to 127.0.0.1 (:mod:`egx_notebook.ui.tiles`; large scenes). If the server cannot
start, a downsampled overlay is shown instead and :attr:`SceneLayer.notice` says so. Prompts and results are
GeoJSON layers in the map's coordinates, built from the core library's exact geometry
(``result.to_geodataframe(crs="EPSG:4326")``).
"""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np

from .frame import MapFrame
from .style import SceneStyle

#: Scenes whose longer side is at most this many pixels are sent as one in-memory overlay.
OVERLAY_MAX_SIZE = 2048
#: Longest side of the downsampled overlay shown when the tile server cannot start.
FALLBACK_SIZE = 1024


def png_bytes(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA" if rgba.shape[-1] == 4 else "RGB").save(buf, "PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def overlay_image(scene, frame: MapFrame, style: SceneStyle, max_size: int):
    """``(rgba, ((south, west), (north, east)))``: the scene rendered at most ``max_size`` px on its longer side,
    warped to Web Mercator for georeferenced scenes (a Leaflet image overlay is stretched linearly in the map's
    projected plane, so it must be in that plane to sit exactly)."""
    view = scene.overview(max_size)
    rgba = style.render(view.values)
    if not frame.geographic:
        return rgba, frame.latlng_bounds()
    from affine import Affine
    from rasterio.warp import Resampling, reproject, transform_bounds

    # the Web Mercator box that covers the whole footprint (edges densified), at about the view's resolution
    left, bottom, right, top = transform_bounds(scene.crs, "EPSG:3857", *_bounds_in_crs(view.transform, view.width,
                                                                                         view.height), densify_pts=101)
    res = max((right - left) / view.width, (top - bottom) / view.height)
    w, h = max(1, math.ceil((right - left) / res - 1e-9)), max(1, math.ceil((top - bottom) / res - 1e-9))
    dst_transform = Affine(res, 0.0, left, 0.0, -res, top)
    out = np.zeros((4, h, w), dtype="uint8")
    reproject(np.moveaxis(rgba, -1, 0), out, src_transform=view.transform, src_crs=scene.crs,
              dst_transform=dst_transform, dst_crs="EPSG:3857", resampling=Resampling.nearest)
    _, from_merc = _mercator_pair()
    west, north = from_merc.transform(left, top)
    east, south = from_merc.transform(left + w * res, top - h * res)
    return np.moveaxis(out, 0, -1), ((south, west), (north, east))


def _bounds_in_crs(transform, width, height):
    xs, ys = zip(*(transform @ c for c in ((0, 0), (width, 0), (0, height), (width, height))))
    return min(xs), min(ys), max(xs), max(ys)


def _mercator_pair():
    from .frame import _mercator

    return _mercator()


class SceneLayer:
    """The scene on the map: ``layer`` (an ipyleaflet ImageOverlay or TileLayer), ``mode`` (``"overlay"``,
    ``"tiles"`` or ``"fallback"``) and ``notice`` (why a large scene is shown downsampled, else "")."""

    def __init__(self, scene, frame: MapFrame, style: SceneStyle, *, overlay_max_size: int = OVERLAY_MAX_SIZE,
                 fallback_size: int = FALLBACK_SIZE, name: str | None = None, tile_server: bool = True):
        self.scene, self.frame, self.style = scene, frame, style
        self.overlay_max_size, self.fallback_size = overlay_max_size, fallback_size
        self.name = name or f"scene ({scene.modality}, {scene.units})"
        self.server = None
        self.notice = ""
        if max(scene.width, scene.height) <= overlay_max_size:
            self.mode = "overlay"
        elif not tile_server:
            self.mode = "fallback"
            self.notice = (f"Large scene ({scene.width} x {scene.height} px) shown as a downsampled overview "
                           f"({fallback_size} px): the local tile server is switched off (tile_server=False). "
                           "Analysis still reads full resolution: use 'Analyze view'.")
        else:
            self.mode = "tiles"
            try:
                from .tiles import TileServer

                self.server = TileServer(scene, frame, style).start()
            except Exception as exc:  # noqa: BLE001 (any failure to serve -> still show the scene)
                self.mode = "fallback"
                self.notice = (f"The tile server for this large scene ({scene.width} x {scene.height} px) could not "
                               f"start ({type(exc).__name__}: {exc}); the map shows a downsampled overview "
                               f"({fallback_size} px). Analysis still reads full resolution: use 'Analyze view'.")
        self.layer = self._make_layer()

    def _make_layer(self):
        import ipyleaflet

        if self.mode == "tiles":
            (south, west), (north, east) = self.frame.latlng_bounds()
            return ipyleaflet.TileLayer(url=self.server.url_template(), name=self.name, min_zoom=-12, max_zoom=30,
                                        bounds=[[south, west], [north, east]], no_wrap=True, opacity=1.0,
                                        attribution="egx-notebook local tiles")
        size = self.overlay_max_size if self.mode == "overlay" else self.fallback_size
        rgba, bounds = overlay_image(self.scene, self.frame, self.style, size)
        return ipyleaflet.ImageOverlay(url=data_url(png_bytes(rgba)), bounds=[list(bounds[0]), list(bounds[1])],
                                       name=self.name)

    def restyle(self, style: SceneStyle) -> None:
        """Redraw with another rendering (band choice): a new overlay image, or new tiles."""
        self.style = style
        if self.mode == "tiles":
            self.server.set_style(style)
            self.layer.url = self.server.url_template()
        else:
            size = self.overlay_max_size if self.mode == "overlay" else self.fallback_size
            rgba, _ = overlay_image(self.scene, self.frame, style, size)
            self.layer.url = data_url(png_bytes(rgba))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


# -- vector layers ---------------------------------------------------------------------------------------
def feature_collection(gdf) -> dict:
    """GeoJSON dict of a GeoDataFrame (NaN -> null)."""
    return json.loads(gdf.to_json(na="null", drop_id=True))


def result_features(result, frame: MapFrame, colours) -> dict:
    """A Grounding's detections (masks where present) or a Referring's region as map features, each with a
    label, a score, an ``egx_index`` (position in the result) and a style."""
    gdf = frame.gdf_to_map(result.to_geodataframe())
    fc = feature_collection(gdf)
    for i, feat in enumerate(fc["features"]):
        props = feat["properties"]
        props["egx_index"] = i
        score = props.get("score", props.get("confidence"))
        props["egx_score"] = None if score is None else float(score)
        props["style"] = result_style(colours(str(props.get("label", "result"))), referring="text" in props)
    return fc


def result_style(colour: str, referring: bool = False, selected: bool = False) -> dict:
    return {"color": "#000000" if selected else colour, "weight": 4 if selected else 2, "opacity": 1.0,
            "fillColor": colour, "fillOpacity": 0.0 if referring else 0.3, "dashArray": "6 4" if referring else None,
            "className": "egx-result egx-referring" if referring else "egx-result egx-detection"}


def prompt_features(entries, frame: MapFrame, scene, selected_id=None) -> dict:
    """Map features of prompts (as the exact regions the model sees: a scribble is its buffered stroke)."""
    from shapely.geometry import mapping

    feats = []
    for e in entries:
        geom = frame.pixels_to_map(e.prompt.to_pixels(scene).geometry)
        sel = e.id == selected_id
        feats.append({"type": "Feature", "geometry": mapping(geom),
                      "properties": {"egx_prompt": e.id, "kind": e.prompt.kind, "source": e.source,
                                     "style": {"color": "#ff9500" if sel else "#33aaff", "weight": 4 if sel else 2,
                                               "fillOpacity": 0.15, "className": "egx-prompt"}}})
    return {"type": "FeatureCollection", "features": feats}


def popup_html(props: dict) -> str:
    """Short HTML for a result feature's popup / tooltip: label, score and the key numbers."""
    import html

    label = html.escape(str(props.get("label", "")))
    score = props.get("egx_score")
    lines = [f"<b>{label}</b>" + (f" &middot; score {score:.2f}" if isinstance(score, (int, float)) else "")]
    if props.get("text"):
        lines.append(html.escape(str(props["text"])))
    for key in ("area_px", "query", "backend"):
        if props.get(key) not in (None, ""):
            val = props[key]
            lines.append(f"{key}: {val:.4g}" if isinstance(val, float) else f"{key}: {html.escape(str(val))}")
    return "<br>".join(lines)
