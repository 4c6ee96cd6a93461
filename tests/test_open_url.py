"""Opening a GeoTIFF over HTTP (COG-style range requests) from a loopback server."""

import functools
import http.server
import threading

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import egx_notebook as egx


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP range support (what GDAL's /vsicurl/ asks for)."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def send_head(self):
        rng = self.headers.get("Range")
        if not rng:
            return super().send_head()
        path = self.translate_path(self.path)
        data = open(path, "rb").read()
        start, _, end = rng.replace("bytes=", "").partition("-")
        start, end = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        import io

        return io.BytesIO(data[start:end + 1])


@pytest.fixture
def served_tif(tmp_path):
    data = (np.arange(256 * 256, dtype="float32").reshape(1, 256, 256) % 97) - 30.0  # dB-like, with negatives
    path = tmp_path / "s1_vv.tif"
    with rasterio.open(path, "w", driver="GTiff", height=256, width=256, count=1, dtype="float32",
                       crs="EPSG:32633", transform=from_origin(500000, 4000000, 10, 10), tiled=True,
                       blockxsize=128, blockysize=128) as dst:
        dst.write(data)
        dst.set_band_description(1, "VV")
    handler = functools.partial(_RangeHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/s1_vv.tif", data
    server.shutdown()
    server.server_close()


def test_open_url_reads_windows_and_lazy_data(served_tif, monkeypatch):
    monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    url, data = served_tif
    scene = egx.open(url)
    assert scene.modality == "sar" and scene.units == "dB"
    assert scene.crs.to_epsg() == 32633
    window = scene.view((10, 20, 74, 84)).values[0]
    np.testing.assert_allclose(window, data[0, 20:84, 10:74])
    np.testing.assert_allclose(scene.data.isel(x=slice(0, 5), y=slice(0, 5)).values[0], data[0, :5, :5])


def test_open_unreachable_url_is_a_typed_error():
    with pytest.raises(egx.errors.RasterReadError, match="URL"):
        egx.open("http://127.0.0.1:9/missing.tif")
