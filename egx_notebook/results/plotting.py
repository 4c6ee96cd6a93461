"""Matplotlib overlays for results, in scene pixel coordinates."""

from __future__ import annotations


def new_axes(ax=None, scene=None):
    """``ax``, or new axes; with ``scene`` the scene image is drawn first (pixel coordinates)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
        if scene is None:
            ax.invert_yaxis()
            ax.set_aspect("equal")
    if scene is not None:
        scene.plot(ax=ax, colorbar=False)
    return ax


def draw_geometry(ax, geom, color: str, fill: bool = False, alpha: float = 0.35, linewidth: float = 1.5):
    """Draw a shapely geometry (pixel coordinates) on ``ax``."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    if geom.is_empty:
        return
    if geom.geom_type == "Point":
        ax.plot([geom.x], [geom.y], marker="o", color=color, markersize=6, markeredgecolor="black")
        return
    if geom.geom_type in ("LineString", "MultiLineString"):
        for line in getattr(geom, "geoms", [geom]):
            xs, ys = line.xy
            ax.plot(xs, ys, color=color, linewidth=linewidth)
        return
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon":
            draw_geometry(ax, poly, color, fill, alpha, linewidth)
            continue
        verts, codes = [], []
        for ring in [poly.exterior, *poly.interiors]:
            pts = list(ring.coords)
            verts += pts
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(pts) - 2) + [MplPath.CLOSEPOLY]
        patch = PathPatch(MplPath(verts, codes), facecolor=color if fill else "none", edgecolor=color,
                          alpha=alpha if fill else 1.0, linewidth=linewidth)
        ax.add_patch(patch)
