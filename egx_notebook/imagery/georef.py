"""Small georeferencing helpers on top of affine/pyproj: pixel <-> map, pixel size in metres."""

from __future__ import annotations

import math

from affine import Affine


def pixel_to_map(transform: Affine, x, y):
    """Map coordinates of pixel coordinates (float col, row; pixel corners at integers)."""
    return transform @ (x, y)


def map_to_pixel(transform: Affine, x, y):
    """Exact float pixel coordinates (col, row) of map coordinates; no rounding."""
    return ~transform @ (x, y)


def pixel_size_m(transform: Affine, crs, at: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float] | None:
    """Ground size (m) of one pixel along x and y near pixel ``at``; ``None`` without a CRS.

    Projected CRSs use their linear unit; geographic CRSs measure the pixel's edges on the ellipsoid."""
    if crs is None:
        return None
    from pyproj import CRS, Geod

    c = CRS.from_user_input(crs)
    if c.is_geographic:
        geod = Geod(ellps="WGS84") if c.ellipsoid is None else c.get_geod()
        lon0, lat0 = transform @ tuple(at)
        lon1, lat1 = transform @ (at[0] + 1, at[1])
        lon2, lat2 = transform @ (at[0], at[1] + 1)
        dx = geod.inv(lon0, lat0, lon1, lat1)[2]
        dy = geod.inv(lon0, lat0, lon2, lat2)[2]
        return abs(dx), abs(dy)
    factor = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    sx = math.hypot(transform.a, transform.d) * factor
    sy = math.hypot(transform.b, transform.e) * factor
    return sx, sy


def pixel_area_m2(transform: Affine, crs, at: tuple[float, float] = (0.0, 0.0)) -> float | None:
    size = pixel_size_m(transform, crs, at)
    return None if size is None else size[0] * size[1]
