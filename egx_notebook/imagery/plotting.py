"""Matplotlib display of a rendering, in scene pixel coordinates."""

from __future__ import annotations

from .render import Rendering


def plot_rendering(rendering: Rendering, extent, ax=None, colorbar: bool = True, title: str | None = None):
    """Draw ``rendering`` on ``ax`` (a new figure when None) with ``extent = (left, right, bottom, top)``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(rendering.rgb, extent=extent, interpolation="nearest")
    if colorbar and rendering.cmap and rendering.vmin is not None:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        sm = ScalarMappable(norm=Normalize(rendering.vmin, rendering.vmax), cmap=rendering.cmap)
        ax.figure.colorbar(sm, ax=ax, fraction=0.046, pad=0.04, label=rendering.label)
    if title:
        ax.set_title(title, fontsize=9)
    ax.set_xlabel("column (px)")
    ax.set_ylabel("row (px)")
    return ax
