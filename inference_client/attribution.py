"""Split the credit for an answer between its sources: deterministic and hard to game."""

from __future__ import annotations

import math
from collections.abc import Sequence

from inference_client.citations import strip_markers
from inference_client.text import sentence_spans, sentences, terms
from inference_client.types import Attribution, Citation, Source, SourceWeight

METHOD = "lexical-alignment"
VERSION = "1"
PPM = 1_000_000

# A source supports an answer sentence when its best sentence covers this share of the
# sentence's content terms (and at least two of them): below that, overlap is coincidence.
MIN_SUPPORT = 0.3
MIN_SHARED_TERMS = 2
# Sources whose support is at least this fraction of the best one share the sentence's credit.
NEAR_BEST = 0.6
# An explicit citation counts as at least this much support, plus a bonus when sharing.
CITED_FLOOR = 0.5
CITATION_BONUS = 0.25


def attribute(
    *, text: str, sources: Sequence[Source], citations: Sequence[Citation]
) -> Attribution:
    """Return each source's share of the answer and the share no source grounded."""
    answer_spans = sentence_spans(text)
    cited = _cited_per_sentence(answer_spans, citations)
    source_sentences = [_unique_sentences(source.text) for source in sources]
    vocabularies = [frozenset().union(*sentence_terms) for sentence_terms in source_sentences]
    credit = [0.0] * len(sources)
    total_mass = 0
    for index, (start, end) in enumerate(answer_spans):
        claim = terms(strip_markers(text[start:end]))
        if not claim:
            continue
        total_mass += len(claim)
        scores = _sentence_scores(claim, source_sentences, vocabularies, cited.get(index, set()))
        if not scores:
            continue
        grounded = min(1.0, max(support for support, _ in scores.values()))
        shares = {i: support + bonus for i, (support, bonus) in scores.items()}
        total = math.fsum(shares.values())
        for i, share in shares.items():
            credit[i] += len(claim) * grounded * share / total
    fractions = [c / total_mass for c in credit] if total_mass else [0.0] * len(sources)
    ppms = _apportion(fractions)
    cited_ids = {citation.source_id for citation in citations}
    weights = tuple(
        SourceWeight(
            source_id=source.id,
            owner_id=source.owner_id,
            license_id=source.license_id,
            weight_ppm=ppm,
            cited=source.id in cited_ids,
        )
        for source, ppm in zip(sources, ppms[:-1], strict=True)
    )
    return Attribution(sources=weights, unattributed_ppm=ppms[-1], method=METHOD, version=VERSION)


def _sentence_scores(
    claim: frozenset[str],
    source_sentences: Sequence[Sequence[frozenset[str]]],
    vocabularies: Sequence[frozenset[str]],
    cited: set[int],
) -> dict[int, tuple[float, float]]:
    """Return (support, citation bonus) for each source that earns a share of one sentence."""
    needed = min(MIN_SHARED_TERMS, len(claim))
    support: dict[int, float] = {}
    for i, sentence_terms in enumerate(source_sentences):
        if i not in cited and claim.isdisjoint(vocabularies[i]):
            continue
        # The best single sentence, never a sum: repeating or padding a source adds nothing.
        best = max((len(claim & terms_) for terms_ in sentence_terms), default=0)
        if best >= needed:
            support[i] = best / len(claim)
    best_support = max((s for s in support.values()), default=0.0)
    scores: dict[int, tuple[float, float]] = {}
    for i, value in support.items():
        if value >= MIN_SUPPORT and value >= NEAR_BEST * best_support:
            scores[i] = (value, CITATION_BONUS if i in cited else 0.0)
    for i in sorted(cited):
        value = max(support.get(i, 0.0), CITED_FLOOR)
        scores[i] = (value, CITATION_BONUS)
    return scores


def _unique_sentences(text: str) -> list[frozenset[str]]:
    """Return the distinct non-empty term sets of a text's sentences, in order."""
    return list(dict.fromkeys(s.terms for s in sentences(text) if s.terms))


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
