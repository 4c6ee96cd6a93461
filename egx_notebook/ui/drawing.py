"""Prompts drawn on the map: draw-control GeoJSON -> egx prompts, with edit / delete bookkeeping.

The draw control reports ``created``, ``edited`` and ``deleted`` events carrying the shape's GeoJSON (EPSG:4326
on a Web Mercator map) and, after each, its full list of shapes (``DrawControl.data``) in drawing order. The
events update the :class:`PromptBook` at once (an edit replaces its prompt, keeping its id, so nothing is
duplicated); :meth:`PromptBook.sync` then checks the book against the browser's list and repairs any
mismatch (for example an edit matched to the wrong shape when two shapes overlap).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import shape

from ..errors import PromptError
from .frame import MapFrame


@dataclass
class PromptEntry:
    """One prompt in the book: ``id`` (stable), the egx ``prompt``, where it came from (``draw``,
    ``scribble`` or ``code``), the draw-control ``feature`` it was made from, and a ``problem`` (e.g. drawn
    outside the image) that keeps it from being analysed."""

    id: int
    prompt: object
    source: str = "code"
    feature: dict | None = field(default=None, repr=False)
    problem: str | None = None

    @property
    def label(self) -> str:
        text = f"P{self.id} {self.prompt.describe() if self.prompt is not None else 'shape'} [{self.source}]"
        return text + (f" - {self.problem}" if self.problem else "")


def _geometry(feature: dict):
    geometry = feature.get("geometry", feature) if feature.get("type") == "Feature" else feature
    return shape(geometry)


def _same(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return _geometry(a).equals_exact(_geometry(b), 1e-12)
    except Exception:  # noqa: BLE001 (a malformed feature simply matches nothing)
        return False


def _closeness(old: dict, new: dict) -> float:
    """How likely ``new`` is an edit of ``old`` (higher is closer): overlap for areas, -distance for points."""
    g0, g1 = _geometry(old), _geometry(new)
    if g0.geom_type != g1.geom_type:
        return float("-inf")
    if g0.area > 0 and g1.area > 0:
        union = g0.union(g1).area
        return g0.intersection(g1).area / union if union else 0.0
    return -g0.distance(g1)


class PromptBook:
    """The ordered prompts of an Explorer and which one is selected."""

    def __init__(self, frame: MapFrame, scene):
        self.frame, self.scene = frame, scene
        self.entries: list[PromptEntry] = []
        self.selected_id: int | None = None
        self._next = 1

    # -- queries -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    @property
    def prompts(self) -> list:
        return [e.prompt for e in self.entries]

    def get(self, entry_id: int) -> PromptEntry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no prompt P{entry_id}; the prompts are {[e.id for e in self.entries]}")

    @property
    def selected(self) -> PromptEntry | None:
        try:
            return None if self.selected_id is None else self.get(self.selected_id)
        except KeyError:
            return None

    def drawn(self) -> list[PromptEntry]:
        return [e for e in self.entries if e.source == "draw"]

    # -- changes -------------------------------------------------------------------------------------
    def add(self, prompt, source: str = "code", feature: dict | None = None, problem: str | None = None) -> PromptEntry:
        if problem is None and prompt is not None:
            problem = self._check(prompt)
        entry = PromptEntry(self._next, prompt, source, feature, problem)
        self._next += 1
        self.entries.append(entry)
        self.selected_id = entry.id
        return entry

    def remove(self, entry_id: int) -> PromptEntry:
        entry = self.get(entry_id)
        self.entries.remove(entry)
        if self.selected_id == entry_id:
            self.selected_id = self.entries[-1].id if self.entries else None
        return entry

    def clear(self) -> None:
        self.entries.clear()
        self.selected_id = None

    def _check(self, prompt) -> str | None:
        """Why ``prompt`` cannot be analysed on this scene (None when it can)."""
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prompt.to_pixels(self.scene)
        except PromptError as exc:
            return str(exc)
        return None

    def _from_feature(self, feature: dict):
        try:
            return self.frame.feature_to_prompt(feature), None
        except PromptError as exc:
            return None, str(exc)

    def _update(self, entry: PromptEntry, feature: dict) -> PromptEntry:
        prompt, problem = self._from_feature(feature)
        entry.prompt, entry.feature = prompt, feature
        entry.problem = problem or (self._check(prompt) if prompt is not None else None)
        return entry

    # -- draw control events -----------------------------------------------------------------------
    def handle_draw(self, action: str, geo_json: dict) -> PromptEntry | None:
        """Apply one draw-control event; returns the entry created / edited / deleted (None if nothing changed)."""
        if action == "created":
            if any(_same(e.feature, geo_json) for e in self.drawn()):
                return None  # the same shape reported twice
            prompt, problem = self._from_feature(geo_json)
            return self.add(prompt, "draw", geo_json, problem)
        if action == "edited":
            candidates = self.drawn()
            if not candidates:
                return None
            best = max(candidates, key=lambda e: _closeness(e.feature, geo_json))
            if _closeness(best.feature, geo_json) == float("-inf"):
                return None
            self.selected_id = best.id
            return self._update(best, geo_json)
        if action == "deleted":
            drawn = self.drawn()
            match = next((e for e in drawn if _same(e.feature, geo_json)), None)
            if match is None and drawn:
                match = max(drawn, key=lambda e: _closeness(e.feature, geo_json))
            return None if match is None else self.remove(match.id)
        raise ValueError(f"unknown draw action {action!r}; expected created, edited or deleted")

    def sync(self, features: list[dict]) -> bool:
        """Make the drawn prompts match the draw control's shapes ``features`` (its ``data``, in drawing order).
        Returns True when the book changed."""
        drawn = self.drawn()
        if len(drawn) == len(features):
            changed = False
            for entry, feat in zip(drawn, features):
                if not _same(entry.feature, feat):
                    self._update(entry, feat)
                    changed = True
            return changed
        unmatched = list(drawn)
        for feat in features:
            match = next((e for e in unmatched if _same(e.feature, feat)), None)
            if match is not None:
                unmatched.remove(match)
            else:
                prompt, problem = self._from_feature(feat)
                self.add(prompt, "draw", feat, problem)
        for e in unmatched:
            self.remove(e.id)
        self.entries.sort(key=lambda e: e.id)  # new shapes come last in the browser's order too
        return True

    def draw_data_without(self, entry_id: int) -> list[dict]:
        """The draw control's shape list with one drawn prompt taken out (to remove it from the map)."""
        return [e.feature for e in self.drawn() if e.id != entry_id and e.feature is not None]
