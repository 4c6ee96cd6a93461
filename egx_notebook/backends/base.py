"""The backend protocol: what every referring / grounding engine implements.

A backend sees one :class:`~egx_notebook.imagery.View` at a time and answers in that view's pixels;
the high-level API (:mod:`egx_notebook.api`) chooses the view (zoom-in around a prompt, zoom-out for
scene questions) and maps the answer back to scene pixels and map coordinates. So a backend never
scales coordinates itself, and every backend gets multi-scale behaviour for free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Backend(ABC):
    """Base class of backends. Subclasses set ``name`` and implement :meth:`refer` and :meth:`ground`."""

    #: Registry name, e.g. ``"analytic"``.
    name: str = "backend"
    #: One line for listings.
    description: str = ""
    #: Modalities the backend can analyse.
    modalities: tuple[str, ...] = ("optical", "sar", "infrared")

    @abstractmethod
    def refer(self, view, region, instruction: str | None = None):
        """Describe ``region`` (a :class:`~egx_notebook.prompts.Region` in view pixels; None = the whole view).

        Returns a :class:`~egx_notebook.results.Referring` in view pixels."""

    @abstractmethod
    def ground(self, view, query: str):
        """Find what ``query`` names in ``view``. Returns a :class:`~egx_notebook.results.Grounding` in view pixels."""

    # Optional hooks a backend may define (looked up with getattr, so they are not part of the ABC):
    #   ground_batch(views, query) -> list[Grounding]: several views in one model call (used for tiles);
    #   tile_query(query, modality) -> egx_notebook.batch.query.TiledQuery: how to split a query for tiled
    #       grounding (what every tile is asked; what is applied after the merge).

    def capabilities(self) -> dict:
        """What the backend understands (shown in errors and in the UI)."""
        return {"modalities": list(self.modalities)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend {self.name!r}>"
