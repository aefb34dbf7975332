"""Split the credit for an answer between its sources: deterministic and hard to game."""

from __future__ import annotations

import math
from collections.abc import Sequence

from inference_client.citations import strip_markers
from inference_client.rarity import TermWeights
from inference_client.text import sentence_spans, sentences, terms
from inference_client.types import (
    Attribution,
    Citation,
    SentenceGrounding,
    Source,
    SourceWeight,
)

METHOD = "lexical-alignment"
# Version 1 counts every term alike; version 2 weighs terms by their rarity in the whole index
# (the same computation with every weight 1.0 is version 1).
VERSION = "1"
WEIGHTED_VERSION = "2"
PPM = 1_000_000

# A source supports an answer sentence when its best sentence covers this share of the
# sentence's content terms (and at least two of them): below that, overlap is coincidence.
MIN_SUPPORT = 0.3
MIN_SHARED_TERMS = 2
# Sources whose support is at least this fraction of the best one share the sentence's credit.
NEAR_BEST = 0.6
# A citation adds this to the cited source's score when it supports the sentence in words;
# a sentence that no source supports in words but that cites sources is this much grounded.
CITATION_BONUS = 0.25
CITED_FLOOR = 0.5


def attribute(
    *,
    text: str,
    sources: Sequence[Source],
    citations: Sequence[Citation],
    weights: TermWeights | None = None,
) -> Attribution:
    """Return each source's share of the answer and the share no source grounded.

    With ``weights`` (the index's word statistics) a term counts by its rarity; the weights
    come from the whole index, so what one source says cannot change how another's words count.
    """
    weights = weights or TermWeights()
    weights.learn([text])
    answer_spans = sentence_spans(text)
    cited = _cited_per_sentence(answer_spans, citations)
    source_sentences = [_unique_sentences(source.text) for source in sources]
    vocabularies = [frozenset().union(*sentence_terms) for sentence_terms in source_sentences]
    credit = [0.0] * len(sources)
    masses: list[float] = []
    groundings: list[SentenceGrounding] = []
    for index, (start, end) in enumerate(answer_spans):
        claim = terms(strip_markers(text[start:end]))
        if not claim:
            continue
        mass = weights.total(sorted(claim))
        masses.append(mass)
        scores, grounded = _sentence_scores(
            claim, source_sentences, vocabularies, cited.get(index, set()), weights
        )
        total = math.fsum(scores.values())
        for i, score in scores.items():
            credit[i] += mass * grounded * score / total
        groundings.append(
            SentenceGrounding(
                answer_start=start,
                answer_end=end,
                sources=tuple(sources[i].id for i in sorted(scores) if grounded and scores[i]),
                cited=tuple(sources[i].id for i in sorted(cited.get(index, ()))),
            )
        )
    total_mass = math.fsum(masses)
    fractions = [c / total_mass for c in credit] if total_mass else [0.0] * len(sources)
    ppms = _apportion(fractions)
    cited_ids = {citation.source_id for citation in citations}
    shares = tuple(
        SourceWeight(
            source_id=source.id,
            owner_id=source.owner_id,
            license_id=source.license_id,
            weight_ppm=ppm,
            cited=source.id in cited_ids,
        )
        for source, ppm in zip(sources, ppms[:-1], strict=True)
    )
    version = VERSION if weights.uniform else WEIGHTED_VERSION
    return Attribution(
        sources=shares,
        unattributed_ppm=ppms[-1],
        method=METHOD,
        version=version,
        sentences=tuple(groundings),
    )


def _sentence_scores(
    claim: frozenset[str],
    source_sentences: Sequence[Sequence[frozenset[str]]],
    vocabularies: Sequence[frozenset[str]],
    cited: set[int],
    weights: TermWeights,
) -> tuple[dict[int, float], float]:
    """Return the score of each source that shares one answer sentence, and the grounded
    fraction of that sentence (the rest of it is unattributed)."""
    needed = min(MIN_SHARED_TERMS, len(claim))
    mass = weights.total(sorted(claim))
    matched: dict[int, frozenset[str]] = {}
    supports: dict[int, float] = {}
    for i, sentence_terms in enumerate(source_sentences):
        if claim.isdisjoint(vocabularies[i]):
            continue
        # The best single sentence, never a sum: repeating or padding a source adds nothing.
        best: frozenset[str] = frozenset()
        best_weight = 0.0
        for candidate in sentence_terms:
            shared = claim & candidate
            weight = weights.total(sorted(shared))
            if weight > best_weight:
                best, best_weight = shared, weight
        if len(best) >= needed and best_weight / mass >= MIN_SUPPORT:
            matched[i], supports[i] = best, best_weight / mass
    best_support = max(supports.values(), default=0.0)
    scores = {i: supports[i] + CITATION_BONUS for i in matched if i in cited}
    cited_terms = frozenset().union(*(matched[i] for i in scores))
    for i in matched:
        if i in cited or supports[i] < NEAR_BEST * best_support:
            continue
        if not cited_terms:  # no citation grounds the sentence: uncited support is credited
            scores[i] = supports[i]
            continue
        # Beside a cited source that grounds the sentence, an uncited one shares only what it
        # adds: a copy of the quoted text adds nothing, and withholding it changes nothing.
        added = matched[i] - cited_terms
        if added:
            scores[i] = weights.total(sorted(added)) / mass
    if scores:
        covered = frozenset().union(*(matched[i] for i in scores))
        return scores, weights.total(sorted(covered)) / mass
    if cited:
        # Nothing supports the claim in words (a paraphrase?): trust the citation, at half
        # strength. A citation that another source contradicts by supporting the claim while
        # the cited one does not earns nothing.
        return {i: 1.0 for i in sorted(cited)}, CITED_FLOOR
    return {}, 0.0


def _unique_sentences(text: str) -> list[frozenset[str]]:
    """Return the distinct term sets of a text's prose sentences, in order.

    Keyword lists and headings are left out: a line naming every term of a claim is not a
    statement of it.
    """
    return list(dict.fromkeys(s.terms for s in sentences(text) if s.terms and s.is_prose))


def _cited_per_sentence(
    spans: Sequence[tuple[int, int]], citations: Sequence[Citation]
) -> dict[int, set[int]]:
    cited: dict[int, set[int]] = {}
    for citation in citations:
        for index, (start, end) in enumerate(spans):
            if start <= citation.answer_start < end or (
                citation.answer_start == citation.answer_end == start
            ):
                cited.setdefault(index, set()).add(citation.number - 1)
                break
    return cited


def _apportion(fractions: Sequence[float]) -> list[int]:
    """Return integer parts per million for each fraction plus the remainder, summing to 1e6.

    Largest remainder method; ties go to the earlier source so the split is reproducible.
    """
    clamped = [min(max(f, 0.0), 1.0) for f in fractions]
    total = sum(clamped)
    if total > 1.0:
        clamped = [f / total for f in clamped]
        total = 1.0
    exact = [*clamped, max(0.0, 1.0 - total)]
    floors = [int(value * PPM) for value in exact]
    remaining = PPM - sum(floors)
    if remaining < 0:  # float rounding overshot: take it back from the largest share
        floors[max(range(len(floors)), key=lambda i: (floors[i], -i))] += remaining
        remaining = 0
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] * PPM - floors[i]), i))
    for i in order[:remaining]:
        floors[i] += 1
    return floors
