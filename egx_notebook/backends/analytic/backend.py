"""The offline default backend: classical, physics-aware analysis, no model weights."""

from __future__ import annotations

from ..base import Backend
from .evidence import Evidence
from .grounding import ground_view
from .query import parse_query
from .referring import refer_view
from .vocabulary import CLASSES, understood


class AnalyticBackend(Backend):
    """Referring from region statistics and grounding from classical detectors.

    - SAR (dB): CFAR bright targets (ships) with a land/sea mask, dark specular water (speckle-filtered
      automatic threshold with hysteresis; VV+VH jointly when both polarisations exist).
    - Thermal (K or relative): hot spots (top-hat local contrast), warm-or-cold objects such as people and
      vehicles (absolute contrast against a coarse background, shape priors), hot / cool regions. Without a pixel
      size, person vs vehicle comes from a weak rule on object size within the frame (UAV frames from ~60-130 m).
    - Optical: spectral indices (NDVI, NDWI, MNDWI, NDBI) and brightness rules for water, vegetation,
      cloud, built-up and bare soil (RGB-only fallbacks when NIR/SWIR are missing); individual tree crowns in
      sub-metre imagery (greenness, a crown-size prior from the pixel size, marker-controlled watershed).
    Queries follow the small grammar in :mod:`.query`.
    """

    name = "analytic"
    description = "offline, no weights: CFAR (SAR), local contrast (thermal), spectral indices (optical)"

    def refer(self, view, region, instruction=None):
        return refer_view(Evidence(view), region, instruction, self.name)

    def ground(self, view, query):
        q = parse_query(query, view.modality)
        return ground_view(Evidence(view), q, self.name)

    def capabilities(self) -> dict:
        return {
            "modalities": list(self.modalities),
            "classes": {c.label: {"modalities": list(c.modalities), "words": list(c.words + c.plurals)} for c in CLASSES},
            "grammar": understood(),
        }
