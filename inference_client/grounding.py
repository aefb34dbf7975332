"""Keep only the sources that ground an answer, and only those it cites where it must."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace

from inference_client.attribution import attribute
from inference_client.citations import cite, strip_markers
from inference_client.rarity import TermWeights
from inference_client.types import (
    Answer,
    CorpusStatistics,
    DroppedCitation,
    SentenceGrounding,
    Source,
)

# A marker group: "[1]", "[1][2]", "[1] [2]", with the blanks before it.
_GROUP = re.compile(r"[ \t]*\[\d{1,4}\](?:[ \t]*\[\d{1,4}\])*")
_NUMBER = re.compile(r"\[(\d{1,4})\]")


def keep_grounding(
    answer: Answer,
    sources: Sequence[Source],
    *,
    must_cite: Collection[str] = (),
    statistics: CorpusStatistics | None = None,
) -> Answer:
    """Return the answer with the sources it does not use taken out of it.

    A source is not used when it grounds nothing (a share of 0), or when its terms require a
    citation (``must_cite``) and it grounds a sentence that does not cite it. Its markers are
    removed from the text (reported as dropped, reason ``not_grounded``); a sentence left with
    no marker cites instead the used sources that ground it, so a wrong marker is corrected.
    Sources keep their numbers. The attribution is recomputed with the unused sources given no
    text, until every source left grounds the answer and is cited where it must be.
    """
    used = {s.id for s in sources}
    text, citations = answer.text, answer.citations
    dropped = list(answer.dropped_citations)
    attribution = answer.attribution
    while True:  # each round takes out at least one source, or stops
        unused = {w.source_id for w in attribution.sources if w.weight_ppm == 0}
        uncited = {
            source_id
            for g in attribution.sentences
            for source_id in g.sources
            if source_id in must_cite and source_id not in g.cited
        }
        drop = (unused | uncited) & used
        if not drop:
            break
        used -= drop
        rewritten, removed = _rewrite_markers(text, attribution.sentences, sources, used)
        if rewritten != text:
            text, citations, _ = cite(rewritten, sources=sources)
            dropped.extend(removed)
        attribution = attribute(
            text=text,
            sources=[s if s.id in used else replace(s, text="") for s in sources],
            citations=citations,
            weights=TermWeights(statistics),
        )
    return replace(
        answer,
        text=text,
        citations=citations,
        attribution=attribution,
        dropped_citations=tuple(dropped),
    )


def _rewrite_markers(
    text: str,
    groundings: Sequence[SentenceGrounding],
    sources: Sequence[Source],
    used: set[str],
) -> tuple[str, list[DroppedCitation]]:
    """Remove markers naming unused sources; a group left empty names the used sources that
    ground its sentence instead (none: it goes)."""
    number_of = {s.id: n for n, s in enumerate(sources, start=1)}
    kept_numbers = {number_of[s] for s in used}
    pieces: list[str] = []
    removed: list[DroppedCitation] = []
    last = 0
    for match in _GROUP.finditer(text):
        numbers = [int(n) for n in _NUMBER.findall(match.group())]
        if all(n in kept_numbers for n in numbers):
            continue
        grounding = _sentence_of(groundings, match.start())
        claim = (
            " ".join(strip_markers(text[grounding.answer_start : grounding.answer_end]).split())
            if grounding
            else ""
        )
        kept = [n for n in numbers if n in kept_numbers]
        removed.extend(
            DroppedCitation(number=n, claim_text=claim, reason="not_grounded")
            for n in numbers
            if n not in kept_numbers
        )
        if not kept and grounding is not None:
            kept = sorted(number_of[s] for s in grounding.sources if s in used)
        lead = " " if match.group()[:1] in (" ", "\t") else ""
        pieces.append(text[last : match.start()])
        pieces.append(lead + "".join(f"[{n}]" for n in kept) if kept else "")
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces), removed


def _sentence_of(groundings: Sequence[SentenceGrounding], offset: int) -> SentenceGrounding | None:
    """Return the sentence a marker at ``offset`` belongs to: the one holding it, or else the
    last one before it (a marker standing after its sentence)."""
    found = None
    for grounding in groundings:
        if grounding.answer_start > offset:
            break
        found = grounding
    return found
