"""Copy the front-end sources in widgets/ into the package (egx_notebook/ui/static/), where the wheel and the
Python side find them. Run after editing a file here: python widgets/sync.py"""

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "egx_notebook" / "ui" / "static"
ASSETS = ("scribble.js", "scribble.css")

if __name__ == "__main__":
    STATIC.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(HERE / name, STATIC / name)
        print(f"{name} -> {STATIC / name}")
