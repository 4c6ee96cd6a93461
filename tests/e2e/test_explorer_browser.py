"""The Explorer in a real browser: JupyterLab (started here on 127.0.0.1 with a free port and a token) runs a
notebook that opens a real Sentinel-1 scene from ../shared/data in the Explorer; Playwright drives Debian
Chromium to draw with the mouse and click the panel's buttons, and reads what the widget shows.

Steps: draw a rectangle -> Describe -> a description appears and a result layer is on the map; draw a point ->
type "water" -> Find -> detections appear; Analyze view -> the viewport is described and searched; switch on the
scribble tool and drag -> a scribble prompt appears.
Screenshots are saved under test-artifacts/ (gitignored). Marked ``e2e`` (deselect with ``-m "not e2e"``); skips
with a reason when Debian chromium, playwright, JupyterLab or ../shared/data are missing. About 30 s.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
SCENE = SHARED_DATA / "sen1floods11" / "sample" / "S1" / "Spain_7370579_S1Hand.tif"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCENE_SIZE = 512  # the Sen1Floods11 chip is 512 x 512 px


def _requirements():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright (Python) is not installed: pip install playwright")
    if shutil.which("jupyter") is None and not _has_module("jupyterlab"):
        pytest.skip("JupyterLab is not installed: pip install 'egx-notebook[notebook]'")
    for mod in ("jupyterlab", "ipyleaflet", "anywidget", "leafmap"):
        if not _has_module(mod):
            pytest.skip(f"{mod} is not installed: pip install 'egx-notebook[notebook]'")
    if not SCENE.exists():
        pytest.skip(f"real data not available: {SCENE} (the ../shared/data folder is absent)")


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NOTEBOOK_CELLS = [
    (
        "import egx_notebook as egx\n"
        "from egx_notebook.ui import Explorer\n"
        f"scene = egx.open({str(SCENE)!r})\n"
        "ex = Explorer(scene, height='520px')\n"
        "ex"
    ),
]


def _write_notebook(folder: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(src) for src in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "explorer_e2e.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server for this module: yields (base_url, token, notebook name)."""
    _requirements()
    root = tmp_path_factory.mktemp("lab")
    nb = _write_notebook(root)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(root / ".settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
               MPLBACKEND="Agg", HF_HUB_OFFLINE="1")
    log = open(root / "jupyterlab.log", "w")  # noqa: SIM115 (closed in the finally below, after the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (root / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token, nb.name
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    base, token, name = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{base}/lab/tree/{name}?token={token}")
        try:
            yield pg
        finally:
            pg.screenshot(path=str(ARTIFACTS / "e2e_final.png"))
            context.close()
            browser.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"e2e_{name}.png"))


def _scene_to_screen(page, col: float, row: float) -> tuple[float, float]:
    """Screen position of scene pixel (col, row): the overlay image spans the scene (EPSG:4326, ~5 km: the
    Web Mercator stretch across it is far below a screen pixel)."""
    box = page.locator(".egx-map img.leaflet-image-layer").first.bounding_box()
    return box["x"] + col / SCENE_SIZE * box["width"], box["y"] + row / SCENE_SIZE * box["height"]


def _drag(page, start, end, steps: int = 12) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def _prompt_options(page) -> list[str]:
    return [t.replace("\xa0", " ") for t in page.locator(".egx-prompt-list select option").all_inner_texts()]


def _run_first_cell(page) -> None:
    """Run the notebook's cell once the kernel is idle (a run sent before the kernel connects is dropped)."""
    page.get_by_text("| Idle").first.wait_for(timeout=90_000)
    no_news = page.get_by_role("button", name="No", exact=True)
    if no_news.count():
        no_news.first.click()
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.filter(has_text="*").or_(
        page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.filter(has_text="1")).wait_for(timeout=30_000)


def test_explorer_runs_in_jupyterlab(page):
    # run the notebook's cell
    _run_first_cell(page)
    page.locator(".egx-map .leaflet-container, .egx-map.leaflet-container").first.wait_for(timeout=120_000)
    overlay = page.locator(".egx-map img.leaflet-image-layer").first
    overlay.wait_for(timeout=60_000)
    page.locator(".egx-panel").scroll_into_view_if_needed()
    overlay.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=overlay.element_handle())
    page.wait_for_timeout(800)  # let Leaflet settle its view (bounds are sent to the kernel)
    _shot(page, "1_loaded")

    # draw a rectangle with the mouse (Leaflet.draw rectangle tool)
    page.locator(".egx-map a.leaflet-draw-draw-rectangle").click()
    _drag(page, _scene_to_screen(page, 60, 60), _scene_to_screen(page, 180, 180))
    page.wait_for_function("() => [...document.querySelectorAll('.egx-prompt-list select option')]"
                           ".some(o => o.textContent.startsWith('P1'))")
    assert any(o.startswith("P1 box") for o in _prompt_options(page)), _prompt_options(page)

    # Describe: a description appears and a result layer is drawn on the map
    page.locator(".egx-btn-describe").click()
    answer = page.locator(".egx-answer")
    page.wait_for_function("() => (document.querySelector('.egx-answer')?.innerText || '').includes('R1')",
                           timeout=90_000)
    text = answer.inner_text().replace("\xa0", " ")
    assert "R1" in text and ("land" in text or "water" in text), text
    assert len(text) > 40, text
    page.locator(".egx-map path.egx-result").first.wait_for(timeout=30_000)
    assert page.locator(".egx-map path.egx-referring").count() >= 1
    _shot(page, "2_described")

    # draw a point on the water in the north-east and Find "water" around it
    page.locator(".egx-map a.leaflet-draw-draw-marker").click()
    x, y = _scene_to_screen(page, 470, 150)
    page.mouse.click(x, y)
    page.wait_for_function("() => [...document.querySelectorAll('.egx-prompt-list select option')]"
                           ".some(o => o.textContent.replace(/\\s/g, ' ').startsWith('P2 point'))")
    page.locator(".egx-query input").fill("water")
    page.locator(".egx-btn-find").click()
    page.wait_for_function("() => (document.querySelector('.egx-answer')?.innerText || '').includes('F1')",
                           timeout=90_000)
    found = answer.inner_text().replace("\xa0", " ")
    assert "'water'" in found and " found" in found, found
    assert not found.split("found")[0].strip().endswith(": 0"), found
    page.locator(".egx-map path.egx-detection").first.wait_for(timeout=30_000)
    assert page.locator(".egx-map path.egx-detection").count() >= 1
    status = page.locator(".egx-status").inner_text()
    assert "failed" not in status, status
    _shot(page, "3_found")

    # Analyze view: the map's current viewport, read at the map's zoom level
    page.locator(".egx-btn-analyze-view").click()
    page.wait_for_function("() => (document.querySelector('.egx-answer')?.innerText || '').includes('F2')",
                           timeout=90_000)
    options = [t.replace("\xa0", " ") for t in page.locator(".egx-result-list select option").all_inner_texts()]
    assert any(o.startswith("R2") and "scene" in o for o in options), options

    # the freehand scribble tool (the anywidget front end): switch on, drag, switch off
    page.locator(".egx-scribble-toggle").click()
    page.locator(".egx-scribble-canvas.egx-active").wait_for(timeout=10_000)
    a, b = _scene_to_screen(page, 250, 350), _scene_to_screen(page, 380, 420)
    page.mouse.move(*a)
    page.mouse.down()
    for t in range(1, 13):
        page.mouse.move(a[0] + (b[0] - a[0]) * t / 12, a[1] + (b[1] - a[1]) * t / 12 + 15 * (-1) ** t)
    page.mouse.up()
    page.wait_for_function("() => [...document.querySelectorAll('.egx-prompt-list select option')]"
                           ".some(o => o.textContent.includes('scribble'))")
    page.locator(".egx-scribble-toggle").click()
    page.locator(".egx-map path.egx-prompt").first.wait_for(timeout=30_000)
    _shot(page, "4_scribble")
