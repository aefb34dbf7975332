"""Answer on the CPU by extracting the source sentences that best answer the question."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from inference_client.backends.base import Completion, CompletionRequest
from inference_client.rarity import TermWeights
from inference_client.selection import MAX_SENTENCES, Choice, choose_sentences
from inference_client.text import estimate_tokens
from inference_client.types import Citation, Health, Source

MODEL = "extractive-v2"
NO_ANSWER = "The provided sources do not answer this question."
_BULLET = re.compile(r"(?:[-*•#]+|\d+[.)])\s+")
_TERMINAL = re.compile(r"[.!?]+[\"'”’)\]]*$")


class ExtractiveBackend:
    """Deterministic extractive answering: no model files, no network, a few ms per answer."""

    name = "extractive"

    def complete(self, request: CompletionRequest) -> Completion:
        """Return an answer composed of the best supporting source sentences with [n] markers."""
        chosen = choose_sentences(
            request.question,
            request.sources,
            weights=TermWeights(request.statistics),
            max_sentences=_sentence_budget(request.max_tokens),
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
        """Yield the answer sentence by sentence, then the completion.

        A refusal (no source supports an answer) is not streamed: the completion carries it.
        """
        completion = self.complete(request)
        if completion.finish_reason == "no_support":
            yield completion
            return
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


def _sentence_budget(max_tokens: int) -> int:
    # About 40 tokens per extracted sentence; always at least one sentence.
    return max(1, min(MAX_SENTENCES, max_tokens // 40))


def _compose(
    chosen: Sequence[Choice], sources: Sequence[Source]
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
