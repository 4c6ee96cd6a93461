"""Pure-array detectors of the offline "analytic" backend (no model weights).

Classical, physics-aware detectors on 2-D numpy arrays with an optional
boolean ``valid`` mask (True = valid pixel; NaN is always invalid). Outputs
are boolean masks that never mark invalid pixels; inputs are never modified.
Pixel boxes are ``(x0, y0, x1, y1)`` = (col0, row0, col1, row1), half-open.

Implementation is split by modality:
``detectors_sar`` (CFAR ships), ``detectors_sar_water`` (SAR water), ``detectors_thermal`` (hot
targets, small targets, hot regions), ``detectors_thermal_objects``
(warm-or-cold objects), ``detectors_optical`` (spectral indices and land
cover rules) and ``detectors_common`` (thresholds, components).
"""
from __future__ import annotations

from .detectors_common import components, robust_threshold
from .detectors_optical import (optical_bare_soil, optical_built_up, optical_cloud, optical_vegetation,
                                optical_water, spectral_indices)
from .detectors_sar import sar_bright_targets
from .detectors_sar_water import sar_water
from .detectors_thermal import thermal_hot_regions, thermal_hot_targets
from .detectors_thermal_objects import thermal_objects
from .detectors_trees import crown_components, tree_crowns

__all__ = [
    "sar_bright_targets", "sar_water",
    "thermal_hot_targets", "thermal_objects", "thermal_hot_regions",
    "optical_water", "optical_vegetation", "optical_cloud", "optical_built_up",
    "optical_bare_soil", "spectral_indices", "tree_crowns", "crown_components",
    "components", "robust_threshold",
]
