"""Find [n] citation markers in answer text and tie each to a span of its source."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from inference_client.text import sentence_spans, sentences, terms
from inference_client.types import Citation, DroppedCitation, Source

# "[1]", "[1, 2]", "[1][2]", "[Source 3]": the forms models actually emit for numbered sources.
_RAW_MARKER = re.compile(
    r"[ \t]*\[(?:source\s*)?(\d{1,4}(?:\s*[,;]\s*(?:source\s*)?\d{1,4})*)\]", re.IGNORECASE
)
MARKER = re.compile(r"\[(\d{1,4})\]")
_SPACED_MARKER = re.compile(r"\s*\[\d{1,4}\]")
_CLAIM_TRIM = " \t\r\n,;:-–—"


@dataclass(frozen=True)
class CleanedText:
    """Answer text with markers normalised to ``[n]`` and unknown ones removed."""

    text: str
    dropped: tuple[tuple[int, int], ...]  # (source number, offset in the cleaned text)


def clean_markers(text: str, *, source_count: int) -> CleanedText:
    """Normalise citation markers to ``[n]`` and remove those naming no given source."""
    if "[" not in text:
        return CleanedText(text, ())
    matches = list(_RAW_MARKER.finditer(text))
    if all(_is_plain(match, source_count) for match in matches):
        return CleanedText(text, ())  # the common case: every marker is a plain, valid [n]
    pieces: list[str] = []
    dropped: list[tuple[int, int]] = []
    length = 0
    last = 0
    for match in matches:
        before = text[last : match.start()]
        pieces.append(before)
        length += len(before)
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= source_count))
        dropped.extend((n, length) for n in numbers if not 1 <= n <= source_count)
        if valid:
            leading = match.group()[: match.group().index("[")]
            replacement = (" " if leading else "") + "".join(f"[{n}]" for n in valid)
            pieces.append(replacement)
            length += len(replacement)
        last = match.end()
    pieces.append(text[last:])
    return CleanedText("".join(pieces), tuple(dropped))


def _is_plain(match: re.Match[str], source_count: int) -> bool:
    number = match.group(1)
    return (
        number.isdigit()
        and match.group().endswith(f"[{number}]")
        and 1 <= int(number) <= source_count
    )


def strip_markers(text: str) -> str:
    """Return text without ``[n]`` markers (nor the space before them)."""
    return _SPACED_MARKER.sub("", text)


def cite(
    raw_text: str, *, sources: Sequence[Source]
) -> tuple[str, tuple[Citation, ...], tuple[DroppedCitation, ...]]:
    """Return the cleaned answer text, its citations and the citations that were dropped."""
    cleaned = clean_markers(raw_text, source_count=len(sources))
    text = cleaned.text
    spans = sentence_spans(text)
    dropped = tuple(
        DroppedCitation(number=number, claim_text=_sentence_at(text, spans, offset))
        for number, offset in cleaned.dropped
    )
    citations: list[Citation] = []
    previous_group_end = -1
    for match in MARKER.finditer(text):
        claim_start, claim_end = _claim_span(text, spans, match.start(), previous_group_end)
        if text[match.end() : match.end() + 1] != "[":
            previous_group_end = match.end()
        source = sources[int(match.group(1)) - 1]
        citations.append(
            support_citation(
                number=int(match.group(1)),
                source=source,
                answer_text=text,
                answer_start=claim_start,
                answer_end=claim_end,
            )
        )
    return text, tuple(citations), dropped


def support_citation(
    *, number: int, source: Source, answer_text: str, answer_start: int, answer_end: int
) -> Citation:
    """Return a citation whose source span is the source sentence that best supports the claim."""
    claim_terms = terms(strip_markers(answer_text[answer_start:answer_end]))
    best_span: tuple[int, int] | None = None
    best_overlap = 0
    for sentence in sentences(source.text):
        overlap = len(claim_terms & sentence.terms)
        if overlap > best_overlap:
            best_overlap, best_span = overlap, (sentence.start, sentence.end)
    return Citation(
        number=number,
        source_id=source.id,
        title=source.title,
        url=source.url,
        answer_start=answer_start,
        answer_end=answer_end,
        source_start=best_span[0] if best_span else None,
        source_end=best_span[1] if best_span else None,
        cited_text=source.text[best_span[0] : best_span[1]] if best_span else "",
    )


def _sentence_index(spans: Sequence[tuple[int, int]], offset: int) -> int:
    index = 0
    for candidate, (start, _end) in enumerate(spans):
        if start > offset:
            break
        index = candidate
    return index


def _sentence_at(text: str, spans: Sequence[tuple[int, int]], offset: int) -> str:
    if not spans:
        return ""
    start, end = spans[_sentence_index(spans, offset)]
    return " ".join(strip_markers(text[start:end]).split())


def _claim_span(
    text: str, spans: Sequence[tuple[int, int]], marker_start: int, previous_group_end: int
) -> tuple[int, int]:
    """Return the answer span a marker cites: the text since the previous marker group in
    the same sentence, or the whole (previous) sentence when the marker stands alone."""
    if not spans:
        return marker_start, marker_start
    index = _sentence_index(spans, marker_start)
    start, end = spans[index]
    lead = MARKER.sub("", text[start:marker_start]).strip(_CLAIM_TRIM)
    if not lead and index > 0:
        # "Paris is the capital. [1]": the marker belongs to the sentence before it.
        start, end = spans[index - 1]
        return _trim(text, start, end)
    segment_start = max(start, previous_group_end)
    if not terms(MARKER.sub("", text[segment_start:marker_start])):
        # "Also [2] the Seine ..." cites the sentence, not the word before the marker.
        return _trim(text, start, end)
    claim_end = marker_start
    while claim_end > segment_start and text[claim_end - 1] == "]":
        group = text.rfind("[", segment_start, claim_end)
        if group < 0:
            break
        claim_end = group
    return _trim(text, segment_start, claim_end)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _CLAIM_TRIM:
        start += 1
    while end > start and (text[end - 1] in _CLAIM_TRIM):
        end -= 1
    # A claim ending in "... France [1]." reads better without the marker's own tail.
    while end > start and text[end - 1] == "]" and MARKER.search(text, start, end):
        bracket = text.rfind("[", start, end)
        end = bracket
        while end > start and text[end - 1] in _CLAIM_TRIM:
            end -= 1
    return start, end
