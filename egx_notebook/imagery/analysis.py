"""The high-level analysis calls shared by :class:`Scene` and :class:`View`.

The analysis layer (:mod:`egx_notebook.api`) sits above imagery, so it is imported when a call is made,
never at import time: imagery stays free of backend dependencies.
"""

from __future__ import annotations


class Analysable:
    """``refer`` / ``ground`` / ``describe`` on anything :mod:`egx_notebook.api` accepts (a Scene or a View)."""

    def refer(self, prompt=None, instruction: str | None = None, backend=None, **kwargs):
        """What is inside ``prompt`` (a Point, Box or FreeForm; None = the whole scene or view)?
        Returns a :class:`~egx_notebook.results.Referring` in scene pixels and map coordinates."""
        from .. import api

        return api.refer(self, prompt, instruction=instruction, backend=backend, **kwargs)

    def ground(self, query: str, backend=None, **kwargs):
        """Where is ``query`` (e.g. ``"the largest ship"``)? Returns a :class:`~egx_notebook.results.Grounding`."""
        from .. import api

        return api.ground(self, query, backend=backend, **kwargs)

    def describe(self, backend=None, **kwargs):
        """Scene-level referring: a description of the whole scene or view."""
        return self.refer(None, backend=backend, **kwargs)

    def explore(self, **kwargs):
        """An interactive map :class:`~egx_notebook.ui.Explorer` of this scene (or view): draw prompts, Describe,
        Find, zoom, export. Needs the ``notebook`` extra (leafmap, ipyleaflet, ipywidgets, anywidget)."""
        from ..ui import Explorer

        return Explorer(self, **kwargs)
