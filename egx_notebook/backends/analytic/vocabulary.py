"""What the analytic backend can name and find, per modality, and the words that mean each class.

Each class maps to one detector in :mod:`.detectors`; ``kind`` is ``"object"`` (countable: ships,
hot spots, tree crowns) or ``"area"`` (mass nouns: water, vegetation, forest). Synonyms are matched on
whole words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetClass:
    key: str
    label: str
    kind: str  # "object" or "area"
    modalities: tuple[str, ...]
    words: tuple[str, ...]  # singular/mass forms first; plurals listed explicitly
    plurals: tuple[str, ...] = ()


CLASSES: tuple[TargetClass, ...] = (
    TargetClass("ship", "ship", "object", ("sar",),
                ("ship", "vessel", "boat", "bright target", "bright object", "bright scatterer", "target"),
                ("ships", "vessels", "boats", "bright targets", "bright objects", "bright scatterers", "targets")),
    TargetClass("water", "water", "area", ("sar", "optical"),
                ("water", "water body", "flood", "flooded area", "flood water", "floodwater", "lake", "river", "sea",
                 "ocean", "pond", "reservoir", "open water", "inundation"),
                ("water bodies", "floods", "lakes", "rivers", "ponds", "reservoirs", "flooded areas")),
    TargetClass("vegetation", "vegetation", "area", ("optical",),
                ("vegetation", "forest", "crop", "crops", "grass", "field", "vegetated area",
                 "green area", "woodland", "park", "canopy", "tree cover"),
                ("forests", "fields", "vegetated areas", "green areas", "parks", "woodlands")),
    # Individual trees seen from above (high-resolution imagery: crowns span several pixels).
    TargetClass("tree", "tree", "object", ("optical",),
                ("tree", "tree crown", "crown", "treetop", "tree top"),
                ("trees", "tree crowns", "crowns", "treetops", "tree tops")),
    TargetClass("cloud", "cloud", "area", ("optical",), ("cloud", "cloud cover"), ("clouds",)),
    TargetClass("built_up", "built-up", "area", ("optical",),
                ("built-up", "built up", "urban", "urban area", "building", "city", "town", "settlement",
                 "impervious surface"),
                ("buildings", "cities", "towns", "settlements", "urban areas")),
    TargetClass("bare_soil", "bare soil", "area", ("optical",),
                ("bare soil", "soil", "bare ground", "bare land", "sand", "desert"), ()),
    TargetClass("person", "person", "object", ("infrared",),
                ("person", "people", "pedestrian", "human", "man", "woman"),
                ("persons", "pedestrians", "humans")),
    TargetClass("vehicle", "vehicle", "object", ("infrared",),
                ("vehicle", "car", "truck", "bus", "bicycle", "bike"), ("vehicles", "cars", "trucks", "buses", "bicycles", "bikes")),
    TargetClass("small_target", "small target", "object", ("infrared",),
                ("small target", "dim target", "drone", "aircraft", "uav"),
                ("small targets", "dim targets", "drones", "aircrafts")),
    TargetClass("hot_spot", "hot spot", "object", ("infrared",),
                ("hot spot", "hotspot", "hot object", "hot target", "heat source", "fire", "warm object", "hot thing"),
                ("hot spots", "hotspots", "hot objects", "hot targets", "heat sources", "fires", "warm objects")),
    TargetClass("hot_region", "hot area", "area", ("infrared",),
                ("hot area", "hot region", "heat island", "urban heat island", "warm area", "warm region", "hot surface"),
                ("hot areas", "hot regions", "heat islands", "warm areas", "warm regions")),
    TargetClass("cool_region", "cool area", "area", ("infrared",),
                ("cool area", "cold area", "cool region", "cold region", "cold spot", "cool spot", "cool surface"),
                ("cool areas", "cold areas", "cool regions", "cold regions", "cold spots", "cool spots")),
)

BY_KEY = {c.key: c for c in CLASSES}

QUALIFIERS = {
    "largest": ("area", True), "biggest": ("area", True), "widest": ("area", True), "longest": ("length", True),
    "smallest": ("area", False), "tiniest": ("area", False), "shortest": ("length", False),
    "brightest": ("mean", True), "strongest": ("mean", True), "darkest": ("mean", False),
    "hottest": ("mean", True), "warmest": ("mean", True), "coldest": ("mean", False), "coolest": ("mean", False),
    "most confident": ("score", True), "best": ("score", True),
}

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a": 1, "an": 1, "single": 1, "a pair of": 2, "a couple of": 2}

#: Position words -> (direction in "compass" or "image" frame, unit vector (dx, dy) in image axes: x right, y down).
POSITIONS = {
    "north-west": (-1, -1), "northwest": (-1, -1), "north west": (-1, -1), "nw": (-1, -1),
    "north-east": (1, -1), "northeast": (1, -1), "north east": (1, -1), "ne": (1, -1),
    "south-west": (-1, 1), "southwest": (-1, 1), "south west": (-1, 1), "sw": (-1, 1),
    "south-east": (1, 1), "southeast": (1, 1), "south east": (1, 1), "se": (1, 1),
    "north": (0, -1), "northern": (0, -1), "south": (0, 1), "southern": (0, 1),
    "east": (1, 0), "eastern": (1, 0), "west": (-1, 0), "western": (-1, 0),
    "top left": (-1, -1), "upper left": (-1, -1), "top-left": (-1, -1), "upper-left": (-1, -1),
    "top right": (1, -1), "upper right": (1, -1), "top-right": (1, -1), "upper-right": (1, -1),
    "bottom left": (-1, 1), "lower left": (-1, 1), "bottom-left": (-1, 1), "lower-left": (-1, 1),
    "bottom right": (1, 1), "lower right": (1, 1), "bottom-right": (1, 1), "lower-right": (1, 1),
    "top": (0, -1), "upper": (0, -1), "bottom": (0, 1), "lower": (0, 1), "left": (-1, 0), "right": (1, 0),
    "centre": (0, 0), "center": (0, 0), "middle": (0, 0), "central": (0, 0),
}
COMPASS = {"north", "south", "east", "west", "northern", "southern", "eastern", "western", "nw", "ne", "sw", "se"}


def understood(modality: str | None = None) -> str:
    """A human-readable list of what the backend understands (for error messages and docs)."""
    classes = [c for c in CLASSES if modality is None or modality in c.modalities]
    names = "; ".join(f"{c.label} ({', '.join(c.words[:3])}{', ...' if len(c.words) > 3 else ''})" for c in classes)
    return (f"classes: {names}. Qualifiers: largest, smallest, brightest, darkest, hottest, coldest. "
            "Counts: 'two ships', 'all ...', '3 hot spots'. Positions: north-west, top left, east, centre, ...")
