"""A local XYZ tile server for large scenes, bound to 127.0.0.1 only.

Each 256 x 256 tile is rendered on request from the :class:`~egx_notebook.imagery.Scene`: the tile's footprint
is converted to a scene pixel window, only that window is read (``scene.read``, decimated to about the tile's
resolution, so file overviews are used), the calibrated values are warped to the tile grid with
``rasterio.warp.reproject`` (Web Mercator for georeferenced scenes; pixel units on a Simple CRS map) and drawn
with the explorer's fixed :class:`~egx_notebook.ui.style.SceneStyle`. ``rasterio.warp.reproject`` on arrays is
used rather than a ``WarpedVRT`` because a Scene may be backed by a file list or an in-memory DataArray.

The browser must run on the same machine as the kernel (the usual local JupyterLab); the URL carries a
random token so other local pages cannot guess it.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections import OrderedDict
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import shapely
from affine import Affine
from shapely import affinity
from shapely.geometry import box as shapely_box

from .frame import MERCATOR_HALF, TILE_SIZE, MapFrame, _apply

#: The one CRS the tile grids are expressed in (for the Simple CRS any CRS works: both sides are pixel units).
_MERCATOR = "EPSG:3857"


def tile_bounds(z: int, x: int, y: int, geographic: bool) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of XYZ tile ``z/x/y`` in Leaflet's projected plane: Web Mercator metres, or
    Simple CRS units (= scene columns and *negated* rows)."""
    if geographic:
        size = 2 * MERCATOR_HALF / 2 ** z
        minx = -MERCATOR_HALF + x * size
        maxy = MERCATOR_HALF - y * size
        return minx, maxy - size, minx + size, maxy
    size = TILE_SIZE / 2 ** z
    return x * size, -(y + 1) * size, (x + 1) * size, -y * size


class TileRenderer:
    """Renders PNG tiles of one scene with one style."""

    def __init__(self, scene, frame: MapFrame, style):
        self.scene, self.frame, self.style = scene, frame, style

    @cached_property
    def _merc_to_scene(self):
        from pyproj import Transformer

        return Transformer.from_crs(_MERCATOR, self.scene.crs, always_xy=True)

    def pixel_window(self, bounds):
        """``(window, scene px per tile px)``: the scene pixel window (integers, clipped, 1 px margin) under
        projected ``bounds`` (None when outside the scene) and the tile's scale."""
        minx, miny, maxx, maxy = bounds
        geom = shapely.segmentize(shapely_box(minx, miny, maxx, maxy), (maxx - minx) / 16)
        if self.frame.geographic:
            geom = _apply(geom, self._merc_to_scene)
            inv = ~self.scene.transform
            geom = affinity.affine_transform(geom, [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f])
        else:
            geom = affinity.scale(geom, 1.0, -1.0, origin=(0, 0))
        x0, y0, x1, y1 = geom.bounds
        scale = max(x1 - x0, y1 - y0) / TILE_SIZE
        x0, y0 = max(0, math.floor(x0) - 1), max(0, math.floor(y0) - 1)
        x1, y1 = min(self.scene.width, math.ceil(x1) + 1), min(self.scene.height, math.ceil(y1) + 1)
        if x1 <= x0 or y1 <= y0:
            return None, scale
        return (x0, y0, x1, y1), scale

    def render(self, z: int, x: int, y: int) -> np.ndarray:
        """RGBA uint8 (256, 256, 4) of tile ``z/x/y``; fully transparent outside the scene."""
        from rasterio.warp import Resampling, reproject

        bounds = tile_bounds(z, x, y, self.frame.geographic)
        out = np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype="uint8")
        window, scale = self.pixel_window(bounds)
        if window is None:
            return out
        x0, y0, x1, y1 = window
        # read at about the tile's resolution (never finer than the scene): decimated reads use overviews
        step = max(1.0, scale)
        shape = (max(1, math.ceil((y1 - y0) / step)), max(1, math.ceil((x1 - x0) / step)))
        values = self.scene.read(window, shape)
        src_pixels = Affine.translation(x0, y0) @ Affine.scale((x1 - x0) / shape[1], (y1 - y0) / shape[0])
        minx, miny, maxx, maxy = bounds
        dst_transform = Affine.translation(minx, maxy) @ Affine.scale((maxx - minx) / TILE_SIZE, -(maxy - miny) / TILE_SIZE)
        if self.frame.geographic:
            src_transform, src_crs = self.scene.transform @ src_pixels, self.scene.crs
        else:  # Simple CRS: map y = -row
            src_transform, src_crs = Affine.scale(1.0, -1.0) @ src_pixels, _MERCATOR
        warped = np.full((values.shape[0], TILE_SIZE, TILE_SIZE), np.nan, dtype="float32")
        reproject(values, warped, src_transform=src_transform, src_crs=src_crs, src_nodata=np.nan,
                  dst_transform=dst_transform, dst_crs=_MERCATOR, dst_nodata=np.nan, resampling=Resampling.nearest)
        return self.style.render(warped)


class TileServer:
    """Serves ``/<token>/<z>/<x>/<y>.png`` for one scene on ``127.0.0.1`` (an OS-chosen free port) from a
    daemon thread. Tiles are cached (LRU) per style version."""

    host = "127.0.0.1"
    _path = re.compile(r"^/(?P<token>[A-Za-z0-9_-]+)/(?P<z>-?\d+)/(?P<x>-?\d+)/(?P<y>-?\d+)\.png(\?.*)?$")

    def __init__(self, scene, frame: MapFrame, style, cache_size: int = 512):
        self.renderer = TileRenderer(scene, frame, style)
        self.token = secrets.token_urlsafe(12)
        self.version = 0
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.httpd = None
        self.thread = None
        self.requests = 0

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url_template(self) -> str:
        return f"http://{self.host}:{self.port}/{self.token}/{{z}}/{{x}}/{{y}}.png?v={self.version}"

    def set_style(self, style) -> None:
        with self._lock:
            self.renderer.style = style
            self.version += 1
            self._cache.clear()

    def tile_png(self, z: int, x: int, y: int) -> bytes:
        from .layers import png_bytes

        key = (self.version, z, x, y)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        png = png_bytes(self.renderer.render(z, x, y))
        with self._lock:
            self._cache[key] = png
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return png

    def start(self) -> TileServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                m = server._path.match(self.path)
                if not m or m["token"] != server.token:
                    self.send_error(404)
                    return
                server.requests += 1
                try:
                    body = server.tile_png(int(m["z"]), int(m["x"]), int(m["y"]))
                except Exception as exc:  # noqa: BLE001 (a broken tile must not kill the server)
                    self.send_error(500, explain=f"{type(exc).__name__}: {exc}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # no noise in the notebook
                pass

        self.httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="egx-tiles", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
