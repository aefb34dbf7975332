"""Read a question: the terms it is about, its parts, and the kind of answer it asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from inference_client.text import terms

# General words frame a question ("Do probiotics really work?", "What causes ...") rather than
# say what it is about.
GENERAL_WORDS = frozenset(
    """
    really actually still just very quite rather right wrong good bad best better worst special
    big huge small large little ideal typical main actual whole real true simply basically
    generally usually normally exactly important different make makes made do get gets take
    takes put go goes come comes happen happens happened help helps let keep keeps give gives
    set say says think know want need needs try use used work works call called mean means
    cause causes caused thing things way ways
    """.split()  # noqa: SIM905
)
# "How long", "how far", "how hot": the adjective asks for a measure and is not the topic.
_HOW_MEASURE = re.compile(
    r"\bhow\s+(long|far|fast|quickly|slowly|big|large|small|old|often|frequently|high|low|"
    r"tall|deep|hot|cold|warm|heavy|wide|soon|early|late|many|much)\b",
    re.IGNORECASE,
)
_WHEN = re.compile(
    r"\bwhen\b|\b(?:what|which)\s+(?:year|decade|century|date|month|day|time|period|era)\b",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\b(?:what|which)\s+(?:percentage|percent|proportion|fraction|share|temperature|speed|"
    r"rate|number|amount|size|age|length|distance|height|depth|weight|efficiency|ratio|"
    r"capacity|range)\b",
    re.IGNORECASE,
)
_WHY = re.compile(r"\bwhy\b|\bwhat\s+(?:causes|caused|makes|made)\b", re.IGNORECASE)
_WHO = re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)
# "What is X?", "What are sleep spindles?": a definition is asked for.
_DEFINITION = re.compile(
    r"^\s*what\s+(?:is|are)\s+(?:an?\s+|the\s+)?[^\s?]+(?:\s+[^\s?]+){0,3}\s*\??\s*$",
    re.IGNORECASE,
)
# "How does X work?": "work" asks for the mechanism, it is not the topic.
_HOW_WORK = re.compile(
    r"^(\s*how\s+(?:do|does|did|can|could)\b.*?)\s+work\s*\??\s*$", re.IGNORECASE
)
# A second question joined to the first: "What is X, and how does Y work?"
_PART_BREAK = re.compile(
    r"\?\s+(?=\S)|[,;]?\s+and\s+(?=(?:what|why|how|when|where|who|which|does|do|did|is|are|"
    r"was|were|can|could|should|will|would|has|have)\b)",
    re.IGNORECASE,
)
# "The difference between X and Y", "X versus Y": each side is a part of its own.
_BETWEEN = re.compile(
    r"\b(?:difference|differences|differ|distinguish)\s+between\s+(.+?)\s+and\s+(.+?)\s*\??\s*$"
    r"|^(?:\s*(?:what|which|how)\b[^?]*?\s)?(.+?)\s+(?:vs\.?|versus)\s+(.+?)\s*\??\s*$",
    re.IGNORECASE,
)
_DURATION_WORDS = frozenset(
    """long soon early late often frequently quickly slowly fast""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Part:
    """One question of a question: its content terms and the kind of answer it asks for.

    ``wants`` is "duration", "quantity", "time", "reason", "person", "place" or "" (a thing,
    a way, yes or no).
    """

    terms: frozenset[str]
    wants: str


@dataclass(frozen=True)
class Question:
    """What a question is about (its content terms), what it asks for, and its parts."""

    terms: frozenset[str]
    wants: str
    parts: tuple[Part, ...]


@lru_cache(maxsize=1024)
def read_question(text: str) -> Question:
    """Return the question's topic terms, the kind of answer it wants, and its parts."""
    whole = _read_part(text)
    parts = tuple(part for part in map(_read_part, _parts(text)) if part.terms)
    between = _BETWEEN.search(text)
    if between and len(parts) < 2:
        first, second = (side for side in between.groups() if side is not None)
        parts = tuple(Part(terms=terms(side), wants="") for side in (first, second) if terms(side))
    if len(parts) < 2:
        parts = (whole,)
    return Question(terms=whole.terms, wants=parts[0].wants, parts=parts)


def _read_part(text: str) -> Part:
    measure = _HOW_MEASURE.search(text)
    wants = ""
    if measure:
        word = measure.group(1).lower()
        wants = "duration" if word in _DURATION_WORDS else "quantity"
    elif _WHEN.search(text):
        wants = "time"
    elif _QUANTITY.search(text):
        wants = "quantity"
    elif _WHY.search(text):
        wants = "reason"
    elif _WHO.search(text):
        wants = "person"
    elif _WHERE.search(text):
        wants = "place"
    elif _DEFINITION.search(text):
        wants = "definition"
    text = _HOW_WORK.sub(r"\1", text)
    return Part(terms=terms(_HOW_MEASURE.sub(" ", text)), wants=wants)


def _parts(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _PART_BREAK.finditer(text):
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]
