"""Split text into sentences with exact offsets and reduce them to comparable terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from inference_client.prose import is_heading, is_prose

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
WORD = _WORD
_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# A sentence ends at terminal punctuation (optionally closed by quotes or brackets) followed by
# whitespace, or at a blank line / line break that starts a list item or heading.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*•#]|\d+[.)])\s)")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "mr", "mrs", "ms", "dr", "prof", "vs", "inc", "ltd", "co", "st", "no",
     "fig", "approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
     "nov", "dec", "u.s", "u.k", "al"}
)  # fmt: skip
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves may might must shall one ones s t don doesn didn isn aren wasn weren won wouldn
    let lets tell explain describe give please according many much
    """.split()  # noqa: SIM905
    # Words about the act of answering itself, which every "I cannot answer" sentence shares
    # with sources that happen to use them: they must not earn anyone a share.
    + "source sources answer answers question questions provided document documents".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a text: its exact span, its content terms and whether it reads as prose.

    A heading is structure, not a statement: never quoted, it titles the sentences after it.
    """

    start: int
    end: int
    terms: frozenset[str]
    is_prose: bool = True
    is_heading: bool = False


def stem(word: str) -> str:
    """Return a light stem so that plurals and simple verb forms compare equal."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    # "running"/"run" and "licensed"/"license" should meet at the same stem.
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


@lru_cache(maxsize=65536)
def _term(word: str) -> str | None:
    lowered = word.lower().replace("’", "'")
    if "'" in lowered:
        lowered = lowered.split("'", 1)[0]
    if lowered in STOPWORDS or (len(lowered) < 2 and not lowered.isdigit()):
        return None
    return stem(lowered)


def term(word: str) -> str | None:
    """Return the content term of one word, or None for a stopword."""
    return _term(word)


def terms(text: str) -> frozenset[str]:
    """Return the set of content terms (lower-cased, stemmed, no stopwords) in a text.

    A hyphenated compound ("no-cache", "half-life") is also a term of its own, as said: it
    names one thing, which its parts ("no", "cache") do not.
    """
    found = set(filter(None, map(_term, _WORD.findall(text))))
    found.update(match.group().lower() for match in _COMPOUND.finditer(text))
    return frozenset(found)


def term_list(text: str) -> list[str]:
    """Return the content terms of a text in order, with repeats."""
    return [t for t in map(_term, _WORD.findall(text)) if t is not None]


def _ends_with_abbreviation(text: str, end: int) -> bool:
    stop = end
    while stop > 0 and text[stop - 1] in "\"'”’)] \t\r\n":
        stop -= 1
    if stop == 0 or text[stop - 1] != ".":
        return False
    begin = stop - 1
    while begin > 0 and (text[begin - 1].isalpha() or text[begin - 1] == "."):
        begin -= 1
    word = text[begin : stop - 1].lower()
    if len(word) == 1 and word.isalpha():
        # "J. Smith" is an initial; "at 37 °C." and "I/O." end a sentence.
        return begin == 0 or text[begin - 1] in " \t\r\n(\"'“‘"
    return word in _ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of each sentence, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        # "e.g. this" and "J. Smith" are not sentence ends: keep the sentence going.
        if "\n" not in match.group() and _ends_with_abbreviation(text, match.start()):
            continue
        _append_lines(text, start, match.end(), spans)
        start = match.end()
    _append_lines(text, start, len(text), spans)
    return spans


def _append_lines(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append a span, with the heading lines it starts with split off as spans of their own."""
    while True:
        newline = text.find("\n", start, end)
        if newline < 0:
            break
        line = text[start:newline]
        following = text[newline:end].lstrip()
        if not line.strip() or not is_heading(line, ends_line=True):
            break
        if not (line.lstrip().startswith("#") or following[:1].isupper() or following[:1] == "#"):
            break  # a wrapped line of a sentence, not a heading above one
        _append_trimmed(text, start, newline, spans)
        start = newline + 1
    _append_trimmed(text, start, end, spans)


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


@lru_cache(maxsize=4096)
def sentences(text: str) -> tuple[Sentence, ...]:
    """Return the sentences of a text with their content terms (cached: sources repeat)."""
    return tuple(_sentence(text, s, e) for s, e in sentence_spans(text))


def _sentence(text: str, start: int, end: int) -> Sentence:
    found = terms(text[start:end])
    # Headings, keyword lists ("Capital France river Paris") and word salad can match a
    # question perfectly without saying anything: they are never quoted nor credited.
    line_ends = end == len(text) or text[end] == "\n"
    line_starts = start == 0 or text[start - 1] == "\n"
    if line_starts and line_ends and is_heading(text[start:end], ends_line=True):
        return Sentence(start, end, found, is_prose=False, is_heading=True)
    return Sentence(start, end, found, is_prose(text[start:end]))


def estimate_tokens(text: str) -> int:
    """Return a model-independent token estimate (about four characters per token)."""
    return (len(text) + 3) // 4
