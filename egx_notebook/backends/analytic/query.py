"""The analytic backend's small query grammar:

    [count] [qualifier] <class> [in the <position>]

e.g. ``"ships"``, ``"the largest ship"``, ``"two brightest vessels in the north-west"``, ``"water"``,
``"hottest person"``, ``"3 hot spots at the top left"``. Words are matched case-insensitively on word
boundaries; the longest class phrase wins. An unknown class raises a clear error listing what is understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import EmptyQueryError, UnsupportedQueryError
from .vocabulary import CLASSES, COMPASS, NUMBER_WORDS, POSITIONS, QUALIFIERS, TargetClass, understood


@dataclass(frozen=True)
class Query:
    """A parsed query. ``count`` None means "all"; ``order`` is (measure, descending) for a qualifier."""

    text: str
    target: TargetClass
    count: int | None = None
    order: tuple[str, bool] | None = None
    position: tuple[int, int] | None = None
    position_word: str | None = None
    compass: bool = False

    def as_dict(self) -> dict:
        return {"class": self.target.key, "count": self.count, "order": self.order,
                "position": self.position_word, "compass": self.compass}


def _find(phrases, text: str):
    """Longest phrase of ``phrases`` occurring as whole words in ``text``: (phrase, start) or (None, -1)."""
    best, where = None, -1
    for p in sorted(phrases, key=len, reverse=True):
        m = re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)
        if m and (best is None or len(p) > len(best)):
            best, where = p, m.start()
    return best, where


def parse_query(text: str, modality: str | None = None) -> Query:
    """Parse ``text``; ``modality`` restricts the classes (an error says when a class needs another modality)."""
    if not text or not text.strip():
        raise EmptyQueryError("the grounding query is empty; say what to find, e.g. 'ships' or 'the largest water body'")
    t = " ".join(text.lower().replace("_", " ").split())
    t = re.sub(r"[?!.,;:]+", " ", t).strip()

    matches = []
    for c in CLASSES:
        phrase, where = _find(c.words + c.plurals, t)
        if phrase:
            matches.append((len(phrase), -where, c, phrase))
    if not matches:
        raise UnsupportedQueryError(f"the analytic backend does not understand {text!r}. It understands {understood(modality)}")
    # Prefer classes available for this modality, then the longest phrase.
    matches.sort(key=lambda m: (modality is None or modality in m[2].modalities, m[0], m[1]), reverse=True)
    _, _, target, phrase = matches[0]
    if modality is not None and modality not in target.modalities:
        hint = (f" If this image really is {' or '.join(target.modalities)}, open it with "
                f"egx.open(path, modality={target.modalities[0]!r}) (PNG/JPG files carry no sensor metadata).")
        raise UnsupportedQueryError(
            f"{target.label!r} cannot be found in {modality} imagery by the analytic backend (it works on "
            f"{', '.join(target.modalities)}).{hint} For {modality} it understands {understood(modality)}")
    plural = phrase in target.plurals

    qual, _ = _find(QUALIFIERS, t)
    order = QUALIFIERS[qual] if qual else None

    count = None
    m = re.search(r"(?<![\w.])(\d+)(?![\w.])", t)
    if m:
        count = int(m.group(1))
    else:
        word, _ = _find([w for w in NUMBER_WORDS if w not in ("a", "an")], t)
        if word:
            count = NUMBER_WORDS[word]
    if count is None and re.search(r"(?<![\w-])(all|every|each|any)(?![\w-])", t) is None:
        singular_article = re.search(rf"(?<![\w-])(the|a|an|which|where is)\s+(?:\w+\s+)?{re.escape(phrase)}", t)
        if target.kind == "object" and not plural and (order or singular_article):
            count = 1
        elif target.kind == "area" and order and not plural:
            count = 1
    if count is not None and count <= 0:
        raise UnsupportedQueryError(f"a count must be positive, got {count} in {text!r}")

    pos_word, _ = _find([p for p in POSITIONS if p not in ("top", "upper", "lower", "bottom")] + ["top", "upper", "lower", "bottom"], t)
    # "upper"/"lower"/"top" inside the class phrase (e.g. none today) must not count; also skip qualifier words.
    position = POSITIONS[pos_word] if pos_word else None
    return Query(text, target, count, order, position, pos_word, bool(pos_word and pos_word in COMPASS))
