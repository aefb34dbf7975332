"""Answer on the CPU by extracting the source sentences that best answer the question."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from inference_client.backends.base import Completion, CompletionRequest
from inference_client.text import estimate_tokens, sentences, terms
from inference_client.types import Citation, Health, Source

MODEL = "extractive-v1"
NO_ANSWER = "The provided sources do not answer this question."
MAX_SENTENCES = 4
# A sentence joins the answer if it is nearly as relevant as the best one, or if it covers
# a good part of the question that the chosen sentences have not covered yet.
RELATIVE_FLOOR = 0.6
NEW_COVERAGE_FLOOR = 0.15
MIN_COVERAGE = 0.2
REDUNDANT_JACCARD = 0.7
_BULLET = re.compile(r"(?:[-*•#]+|\d+[.)])\s+")
_TERMINAL = re.compile(r"[.!?]+[\"'”’)\]]*$")


@dataclass(frozen=True)
class _Candidate:
    source_index: int
    start: int
    end: int
    terms: frozenset[str]
    matched: frozenset[str]
    coverage: float
    position: int


class ExtractiveBackend:
    """Deterministic extractive answering: no model files, no network, a few ms per answer."""

    name = "extractive"

    def complete(self, request: CompletionRequest) -> Completion:
        """Return an answer composed of the best supporting source sentences with [n] markers."""
        chosen = select_sentences(
            request.question, request.sources, max_sentences=_sentence_budget(request.max_tokens)
        )
        prompt_tokens = estimate_tokens(request.question) + sum(
            estimate_tokens(source.text) for source in request.sources
        )
        if not chosen:
            return Completion(
                text=NO_ANSWER,
                model=MODEL,
                prompt_tokens=prompt_tokens,
                completion_tokens=estimate_tokens(NO_ANSWER),
                finish_reason="no_support",
                tokens_estimated=True,
                citations=(),
            )
        text, citations = _compose(chosen, request.sources)
        return Completion(
            text=text,
            model=MODEL,
            prompt_tokens=prompt_tokens,
            completion_tokens=estimate_tokens(text),
            tokens_estimated=True,
            citations=citations,
        )

    def stream(self, request: CompletionRequest) -> Iterator[str | Completion]:
        """Yield the answer sentence by sentence, then the completion."""
        completion = self.complete(request)
        # Each later sentence starts one space after the previous one ends.
        boundaries = [c.answer_start - 1 for c in completion.citations or ()][1:]
        previous = 0
        for boundary in [*boundaries, len(completion.text)]:
            yield completion.text[previous:boundary]
            previous = boundary
        yield completion

    def health(self) -> Health:
        """Return a healthy status: the embedded backend has nothing to reach."""
        return Health(ok=True, backend=self.name, models=(MODEL,), latency_ms=0.0)

    def close(self) -> None:
        """Release nothing: the backend holds no resources."""


def select_sentences(
    question: str, sources: Sequence[Source], *, max_sentences: int = MAX_SENTENCES
) -> list[_Candidate]:
    """Return the source sentences that best answer the question, best first."""
    question_terms = terms(question)
    if not question_terms or not sources:
        return []
    per_source = [sentences(source.text) for source in sources]
    # Document frequency over sources, not sentences: padding or repeating a source's text
    # cannot change how rare a question term looks.
    idf = {}
    for term in sorted(question_terms):
        df = sum(1 for found in per_source if any(term in s.terms for s in found))
        idf[term] = math.log(1 + (len(sources) - df + 0.5) / (df + 0.5))
    # fsum: the result must not depend on set iteration order (it varies with the hash seed).
    question_weight = math.fsum(idf.values())
    candidates: list[_Candidate] = []
    seen: set[frozenset[str]] = set()
    for source_index, found in enumerate(per_source):
        for position, sentence in enumerate(found):
            matched = question_terms & sentence.terms
            if not matched or not sentence.is_prose or sentence.terms in seen:
                continue
            seen.add(sentence.terms)
            coverage = math.fsum(idf[t] for t in matched) / question_weight
            candidates.append(
                _Candidate(
                    source_index, sentence.start, sentence.end, sentence.terms, matched,
                    coverage * _conciseness(len(sentence.terms)), position,
                )
            )  # fmt: skip
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c.coverage, c.source_index, c.position))
    best = candidates[0].coverage
    chosen = [candidates[0]]
    covered = set(candidates[0].matched)
    for candidate in candidates[1:]:
        if len(chosen) >= max_sentences:
            break
        if any(_jaccard(candidate.terms, c.terms) >= REDUNDANT_JACCARD for c in chosen):
            continue
        new_weight = math.fsum(idf[t] for t in candidate.matched - covered) / question_weight
        if candidate.coverage < MIN_COVERAGE:
            break
        if candidate.coverage >= RELATIVE_FLOOR * best or new_weight >= NEW_COVERAGE_FLOOR:
            chosen.append(candidate)
            covered |= candidate.matched
    return chosen


def _conciseness(term_count: int) -> float:
    """Return a gentle penalty for very long sentences, which match by sheer size."""
    return 1.0 / (1.0 + max(0, term_count - 30) / 60)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _sentence_budget(max_tokens: int) -> int:
    # About 40 tokens per extracted sentence; always at least one sentence.
    return max(1, min(MAX_SENTENCES, max_tokens // 40))


def _compose(
    chosen: Sequence[_Candidate], sources: Sequence[Source]
) -> tuple[str, tuple[Citation, ...]]:
    """Join the sentences into an answer with a [n] marker before each final stop."""
    parts: list[str] = []
    citations: list[Citation] = []
    offset = 0
    for candidate in chosen:
        source = sources[candidate.source_index]
        start = candidate.start
        bullet = _BULLET.match(source.text, start, candidate.end)
        if bullet:
            start = bullet.end()
        sentence = " ".join(source.text[start : candidate.end].split())
        terminal = _TERMINAL.search(sentence)
        body = sentence[: terminal.start()] if terminal else sentence
        tail = terminal.group() if terminal else "."
        number = candidate.source_index + 1
        if parts:
            offset += 1
        citations.append(
            Citation(
                number=number,
                source_id=source.id,
                title=source.title,
                url=source.url,
                answer_start=offset,
                answer_end=offset + len(body),
                source_start=start,
                source_end=candidate.end,
                cited_text=source.text[start : candidate.end],
            )
        )
        piece = f"{body} [{number}]{tail}"
        parts.append(piece)
        offset += len(piece)
    return " ".join(parts), tuple(citations)
