"""Results of referring and grounding, with pixel and map coordinates and GIS exports."""

from .grounding import Detection, Grounding
from .referring import Referring

__all__ = ["Referring", "Grounding", "Detection"]
