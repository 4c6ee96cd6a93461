"""Visual prompts (point, box, free-form) and their exact conversion to pixel regions."""

from .region import Region
from .shapes import Box, FreeForm, Point, Prompt, from_geojson

__all__ = ["Prompt", "Point", "Box", "FreeForm", "Region", "from_geojson"]
