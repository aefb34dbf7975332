"""Values passed into and returned by the inference client."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """A licensed passage the answer may be grounded in and cite."""

    id: str
    text: str
    title: str = ""
    url: str = ""
    owner_id: str = ""
    license_id: str = ""


@dataclass(frozen=True)
class Sponsored:
    """A sponsored unit shown beside the answer; never sent to the model, never citable."""

    id: str
    title: str
    text: str
    url: str = ""
    advertiser_id: str = ""
    label: str = "Sponsored"


@dataclass(frozen=True)
class Citation:
    """A claim in the answer tied to the source passage that supports it.

    Offsets are Python string indices, end exclusive: ``answer.text[answer_start:answer_end]``
    is the claim and ``source.text[source_start:source_end] == cited_text`` is the support.
    The source span is ``None`` when the backend cited a source but no passage of it supports
    the claim lexically.
    """

    number: int
    source_id: str
    title: str
    url: str
    answer_start: int
    answer_end: int
    source_start: int | None
    source_end: int | None
    cited_text: str


@dataclass(frozen=True)
class DroppedCitation:
    """A citation marker removed from the answer because it named no given source."""

    number: int
    claim_text: str
    reason: str = "unknown_source"


@dataclass(frozen=True)
class SourceWeight:
    """The share of the answer that one source grounded."""

    source_id: str
    owner_id: str
    license_id: str
    weight_ppm: int
    cited: bool

    @property
    def weight(self) -> float:
        """Return the share as a fraction in [0, 1]."""
        return self.weight_ppm / 1_000_000


@dataclass(frozen=True)
class SentenceGrounding:
    """One answer sentence: the sources that ground it and the sources its markers cite.

    ``answer_text[answer_start:answer_end]`` is the sentence.
    """

    answer_start: int
    answer_end: int
    sources: tuple[str, ...]
    cited: tuple[str, ...]


@dataclass(frozen=True)
class Attribution:
    """How much each source contributed; the ``weight_ppm`` values and ``unattributed_ppm``
    add up to exactly 1,000,000 parts per million."""

    sources: tuple[SourceWeight, ...]
    unattributed_ppm: int
    method: str
    version: str
    # Per answer sentence with content: who grounds it and whom its markers cite.
    sentences: tuple[SentenceGrounding, ...] = ()

    def grounds_cited(self) -> frozenset[str]:
        """Return the sources that ground a sentence carrying a citation marker (any marker:
        the source that grounds a cited claim counts as cited, whichever number it names)."""
        return frozenset(s for g in self.sentences if g.cited for s in g.sources)

    @property
    def unattributed(self) -> float:
        """Return the share no source grounded, as a fraction in [0, 1]."""
        return self.unattributed_ppm / 1_000_000

    def weight_of(self, source_id: str) -> float:
        """Return the share of one source, 0.0 when it is not among the sources."""
        for item in self.sources:
            if item.source_id == source_id:
                return item.weight
        return 0.0


@dataclass(frozen=True)
class Usage:
    """What producing the answer cost: tokens, time and who served it."""

    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    backend: str
    model: str
    tokens_estimated: bool = False


@dataclass(frozen=True)
class AnswerMetadata:
    """How the answer was produced, including whether the client fell back.

    ``attempts`` counts the requests made to the configured backend (0 when an open circuit
    skipped it), also when another backend served the answer.
    """

    requested_backend: str
    served_by: str
    fallback_reason: str | None = None
    finish_reason: str = "stop"
    attempts: int = 1

    @property
    def fell_back(self) -> bool:
        """Return whether another backend served the answer than the one configured."""
        return self.fallback_reason is not None


@dataclass(frozen=True)
class Answer:
    """A grounded answer: text with [n] markers, citations, attribution and sponsored units."""

    text: str
    citations: tuple[Citation, ...]
    attribution: Attribution
    usage: Usage
    metadata: AnswerMetadata
    dropped_citations: tuple[DroppedCitation, ...] = ()
    sponsored: tuple[Sponsored, ...] = field(default=())


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text as the backend produced it, before citation clean-up."""

    text: str


@dataclass(frozen=True)
class AnswerComplete:
    """The last streaming event: the finished, authoritative answer."""

    answer: Answer


StreamEvent = TextDelta | AnswerComplete


@dataclass(frozen=True)
class Health:
    """Whether the configured backend can serve answers now."""

    ok: bool
    backend: str
    models: tuple[str, ...]
    latency_ms: float
    detail: str = ""


@dataclass(frozen=True)
class CorpusStatistics:
    """Word statistics of the whole index searched, by which words are weighed by rarity.

    ``passages`` is how many passages the index holds (in the collections searched) and
    ``passages_with(words)`` returns how many of them hold each lower-cased word. The writer and
    attribution weigh a word by these, never by the few sources of one answer, so text added
    to one source cannot change how another source's words count.
    """

    passages: int
    passages_with: Callable[[Collection[str]], Mapping[str, int]]
