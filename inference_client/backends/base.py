"""What every backend takes and returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inference_client.types import Citation, CorpusStatistics, Health, Source


@dataclass(frozen=True)
class CompletionRequest:
    """One question to answer from numbered sources."""

    question: str
    sources: Sequence[Source]
    max_tokens: int
    temperature: float = 0.0
    response_format: Mapping[str, Any] | None = None
    # Word statistics of the whole index searched (None: every word weighs the same).
    statistics: CorpusStatistics | None = None


@dataclass(frozen=True)
class Completion:
    """What a backend produced, before citations are checked and attribution is computed.

    ``citations`` is set by backends that know their exact spans (extractive); otherwise the
    client parses the [n] markers of ``text``.
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    attempts: int = 1
    tokens_estimated: bool = False
    citations: tuple[Citation, ...] | None = None


class Backend(Protocol):
    """A way to turn a completion request into text with [n] citation markers."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion:
        """Return the whole completion."""
        ...

    def stream(self, request: CompletionRequest) -> Iterator[str | Completion]:
        """Yield text deltas as they arrive, then the whole completion."""
        ...

    def health(self) -> Health:
        """Return whether the backend can serve now."""
        ...

    def close(self) -> None:
        """Release connections and other resources."""
        ...
