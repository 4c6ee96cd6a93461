"""Interactive map Explorer for Jupyter (needs the ``notebook`` extra: leafmap, ipyleaflet, ipywidgets, anywidget).

    from egx_notebook.ui import Explorer
    Explorer(scene)            # or scene.explore()
"""

from .explorer import Explorer
from .results import ResultEntry

__all__ = ["Explorer", "ResultEntry"]
