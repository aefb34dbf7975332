"""The answer use case: licensed retrieval, grounded inference, metering and a signed receipt.

One question flows through entitlements (licensing) -> retrieval inside the entitled
collections -> the offers' restrictions and the agent's price limit -> inference_client ->
metering (licensing) -> a receipt. Planning happens before any text is written, so every
refusal (402, 400) comes before inference and nothing is metered for a failed answer.
"""

import functools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from bm25s.stopwords import STOPWORDS_EN_PLUS
from django.conf import settings
from django.utils import timezone

import inference_client
from accounts import services as accounts
from catalog import services as catalog
from catalog.services import ChunkHit, search_chunks
from licensing import errors as licensing_errors
from licensing import services as licensing
from marketplace import errors
from marketplace.services import idempotency, inference
from marketplace.services.receipts import sign_receipt

# Candidates considered per source asked for: the price limit may need cheaper alternatives.
CANDIDATES_PER_SOURCE = 3
MAX_SOURCES = 20
MAX_PRICE_MICROS = 10**15  # a price limit above any offer's maximum price means "no limit"
# When a price limit forces a choice, sources scoring below this share of the best one are
# not worth buying at any price.
RELEVANCE_FLOOR = 0.5
SEARCH_MAX_RESULTS = 50
SEARCH_SNIPPET_CHARS = 400
# A passage is relevant only if it contains at least this share of the question's content
# words and scores at least this share of the best passage: the agent pays per source, so a
# passage that matches one common word of the question must not be bought.
MIN_TERM_COVERAGE = 0.5
MIN_RELATIVE_SCORE = 0.3
# Words that frame a question rather than say what it is about ("what does X mean", "the
# difference between X and Y"): the relevance gate counts only the words that remain, beside
# a fuller English stop-word list than the index's own.
_QUESTION_WORDS = (
    "how does do did what why when where which who whom whose is are was were can could "
    "should would will shall may might must tell explain describe me about there their "
    "mean means meaning difference differences different differ between versus vs compare "
    "compared"
)
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())
STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
WORD = re.compile(r"(?u)\b\w\w+\b")
SUFFIXES = ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s")


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage with the terms it would be used under and what it would cost."""

    hit: ChunkHit
    terms: licensing.Terms
    snippet: str
    tokens: int
    price_micros: int

    @property
    def source_id(self) -> str:
        return f"chunk_{self.hit.chunk_id}"


@dataclass(frozen=True)
class LeftOut:
    """A relevant source not used because the price limit did not allow it."""

    source_id: str
    document_id: int
    title: str
    provider_id: uuid.UUID
    offer_id: uuid.UUID
    price_micros: int
    reason: str = "price"


@dataclass(frozen=True)
class AnswerPlan:
    """Everything decided before inference: who asks, which sources, at what cost."""

    request_id: str
    agent_id: uuid.UUID
    api_key_id: uuid.UUID | None
    question: str
    usage_type: str
    chosen: tuple[Candidate, ...]
    left_out: tuple[LeftOut, ...]
    max_price_micros: int | None
    created_at: datetime


@dataclass(frozen=True)
class UsedSource:
    number: int
    source_id: str
    chunk_id: int
    document_id: int
    collection_id: uuid.UUID
    title: str
    url: str
    author: str
    published_at: datetime | None
    provider_id: uuid.UUID
    provider_name: str
    offer_id: uuid.UUID
    offer_name: str
    offer_version: int
    agreement_id: uuid.UUID | None
    payment_type: str
    price_unit: str
    citation_required: bool
    text: str
    char_start: int
    char_end: int
    score: float
    cited: bool
    weight_ppm: int
    units: int
    amount_micros: int


@dataclass(frozen=True)
class ProviderShare:
    provider_id: uuid.UUID
    provider_name: str
    weight_ppm: int
    amount_micros: int


@dataclass(frozen=True)
class AnswerResult:
    id: str
    created_at: datetime
    usage_type: str
    question: str
    text: str
    citations: tuple[inference_client.Citation, ...]
    sources: tuple[UsedSource, ...]
    providers: tuple[ProviderShare, ...]
    unattributed_ppm: int
    attribution_method: str
    attribution_version: str
    total_micros: int
    currency: str
    max_price_micros: int | None
    left_out: tuple[LeftOut, ...]
    metadata: inference_client.AnswerMetadata | None
    usage: inference_client.Usage | None
    dropped_citations: tuple[inference_client.DroppedCitation, ...]
    receipt: dict
    metered: bool


class AnswerInterrupted(errors.DomainError):
    """Inference failed after the answer began: the partial answer is not charged."""

    status = 503
    code = "answer_interrupted"


@dataclass(frozen=True)
class StreamDelta:
    text: str


@dataclass(frozen=True)
class StreamDone:
    result: AnswerResult


# -- configuration ----------------------------------------------------------------------------


def inference_config() -> inference_client.InferenceConfig:
    """Return the inference configuration from the INFERENCE_* settings."""
    values = {
        name: getattr(settings, name)
        for name in dir(settings)
        if name.startswith("INFERENCE_") and name.isupper()
    }
    return inference_client.InferenceConfig.from_mapping(values, prefix="INFERENCE_")


def _client() -> inference_client.InferenceClient:
    return inference.shared_client(inference_config())


def new_request_id(prefix: str = "ans") -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# -- validation -------------------------------------------------------------------------------


NUL_MESSAGE = "Null characters are not allowed."  # the words DRF's CharField uses


def refuse_unsafe_text(text: str, *, field: str) -> None:
    """Refuse text holding NUL or a lone surrogate: neither can be stored, signed or sent on."""
    if "\x00" in text:
        raise errors.ValidationFailed(NUL_MESSAGE, details={field: [NUL_MESSAGE]})
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            message = f"Surrogate characters are not allowed: U+{ord(char):X}."
            raise errors.ValidationFailed(message, details={field: [message]})


def clean_question(question, *, field: str = "question") -> str:
    """Return the question stripped, or refuse it (400).

    The one check every interface (REST answers and search, OpenAI-compatible chat, MCP)
    applies to what it is asked, before anything is planned or metered.
    """
    if not isinstance(question, str) or not question.strip():
        raise errors.ValidationFailed(
            "Ask a question.", code="empty_question", details={field: ["Required."]}
        )
    refuse_unsafe_text(question, field=field)
    question = question.strip()
    limit = settings.ANSWER_MAX_QUESTION_CHARS
    if len(question) > limit:
        raise errors.ValidationFailed(
            f"A question is at most {limit} characters.",
            code="question_too_long",
            details={field: [f"At most {limit} characters; this one has {len(question)}."]},
        )
    return question


def _clean_limits(max_sources, max_price_micros, *, most: int) -> tuple[int, int | None]:
    if max_sources is None:
        max_sources = settings.ANSWER_DEFAULT_SOURCES
    if isinstance(max_sources, bool) or not isinstance(max_sources, int):
        raise errors.ValidationFailed("max_sources is an integer.")
    if not 1 <= max_sources <= most:
        raise errors.ValidationFailed(
            f"max_sources is between 1 and {most}.", details={"max_sources": [f"1 to {most}."]}
        )
    if max_price_micros is not None and (
        isinstance(max_price_micros, bool)
        or not isinstance(max_price_micros, int)
        or max_price_micros < 0
    ):
        raise errors.ValidationFailed(
            "max_price_micros is an integer, zero or more.",
            details={"max_price_micros": ["Zero or more."]},
        )
    return max_sources, max_price_micros


# -- planning ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)  # a corpus repeats its words: stem each once per process
def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


def content_stems(text: str) -> set[str]:
    """Return the crude stems of a text's content words (question words and stop words out)."""
    return {
        _stem(w)
        for w in WORD.findall(text.lower())
        if w not in QUESTION_WORDS and w not in STOPWORDS
    }


def relevant_hits(question: str, hits: list[ChunkHit]) -> list[ChunkHit]:
    """Keep the hits that cover enough of the question's words and score near the best."""
    wanted = content_stems(question)
    if not hits or not wanted:
        return hits
    best = hits[0].score
    kept = []
    for hit in hits:
        if hit.score < best * MIN_RELATIVE_SCORE:
            continue
        covered = len(wanted & content_stems(hit.text)) / len(wanted)
        if covered >= MIN_TERM_COVERAGE:
            kept.append(hit)
    return kept


def _snippet(hit: ChunkHit, max_chars: int | None) -> tuple[str, int]:
    """Return the passage as the offer allows it to be used, and its token count."""
    text = hit.text
    if max_chars is None or len(text) <= max_chars:
        return text, hit.token_count
    # End at a sentence if one ends in the second half of the allowance, else at a word.
    sentence_end = max(text.rfind(mark, 0, max_chars) for mark in (". ", "? ", "! ", ".\n"))
    if sentence_end > max_chars // 2:
        text = text[: sentence_end + 1]
    else:
        cut = text.rfind(" ", 0, max_chars + 1)
        text = text[: cut if cut > max_chars // 2 else max_chars].rstrip()
    tokens = -(-hit.token_count * len(text) // max(1, len(hit.text)))  # ceiling, pro rata
    return text, tokens


def _candidate(hit: ChunkHit, terms: licensing.Terms, max_chars: int | None) -> Candidate:
    limits = [n for n in (terms.max_snippet_chars, max_chars) if n]
    snippet, tokens = _snippet(hit, min(limits) if limits else None)
    # Priced as if cited: the limit must hold whatever the model ends up citing.
    _, amount = licensing.price_use(
        payment_type=terms.payment_type,
        price_unit=terms.price_unit,
        price_micros=terms.price_micros,
        tokens=tokens,
        cited=True,
    )
    return Candidate(hit=hit, terms=terms, snippet=snippet, tokens=tokens, price_micros=amount)


def _left_out(candidate: Candidate) -> LeftOut:
    return LeftOut(
        source_id=candidate.source_id,
        document_id=candidate.hit.document_id,
        title=candidate.hit.document_title,
        provider_id=candidate.hit.provider_org_id,
        offer_id=candidate.terms.offer_id,
        price_micros=candidate.price_micros,
    )


def _distinct_passages(candidates: list[Candidate], per_document: int = 2) -> list[Candidate]:
    """Keep at most `per_document` passages of one document, so sources are varied."""
    seen: dict[int, int] = {}
    kept = []
    for candidate in candidates:
        count = seen.get(candidate.hit.document_id, 0)
        if count < per_document:
            seen[candidate.hit.document_id] = count + 1
            kept.append(candidate)
    return kept


def choose_sources(
    candidates: list[Candidate], *, max_sources: int, max_price_micros: int | None
) -> tuple[list[Candidate], list[LeftOut]]:
    """Pick up to `max_sources` candidates (relevance order in, relevance order out).

    Without a price limit the most relevant are taken. With one, candidates scoring at least
    RELEVANCE_FLOOR of the best are taken by value (score per micro; free sources first) while
    they fit; the most relevant sources that did not fit are reported as left out for price.
    """
    if max_price_micros is None:
        return candidates[:max_sources], []
    if not candidates:
        return [], []
    floor = candidates[0].hit.score * RELEVANCE_FLOOR
    eligible = [c for c in candidates if c.hit.score >= floor]
    by_value = sorted(
        eligible, key=lambda c: (-(c.hit.score / max(c.price_micros, 1)), -c.hit.score)
    )
    chosen, spent = set(), 0
    for candidate in by_value:
        if len(chosen) == max_sources:
            break
        if spent + candidate.price_micros <= max_price_micros:
            chosen.add(candidate.hit.chunk_id)
            spent += candidate.price_micros
    picked = [c for c in candidates if c.hit.chunk_id in chosen]
    wanted = candidates[:max_sources]
    left_out = [_left_out(c) for c in wanted if c.hit.chunk_id not in chosen]
    return picked, left_out


def _market_offers(
    question: str, usage_type: str, entitled: set, wanted: set | None, k: int, agent_id
):
    """Return the published offers the agent may see whose collections match the question."""
    offers = licensing.list_published_offers(agent_id=agent_id, usage_type=usage_type)
    by_collection: dict = {}
    for offer in offers:
        for collection_id in offer.terms.collection_ids:
            if collection_id in entitled or (wanted is not None and collection_id not in wanted):
                continue
            by_collection.setdefault(collection_id, []).append(offer)
    if not by_collection:
        return []
    hits = relevant_hits(
        question, search_chunks(query=question, collection_ids=list(by_collection), k=k)
    )
    matching, seen = [], set()
    for hit in hits:
        for offer in by_collection[hit.collection_id]:
            if offer.id not in seen:
                seen.add(offer.id)
                matching.append(offer)
    return matching


def _offer_summary(offer: licensing.OfferInfo) -> dict:
    terms = offer.terms
    return {
        "offer_id": str(offer.id),
        "name": offer.name,
        "provider_id": str(offer.provider_id),
        "provider_name": offer.provider_name,
        "version": offer.version,
        "usage_types": list(terms.usage_types),
        "payment_type": terms.payment_type,
        "price_micros": terms.price_micros,
        "price_unit": terms.price_unit,
        "currency": terms.currency,
        "period": terms.period,
        "revenue_share_bps": terms.revenue_share_bps,
        "auto_accept": offer.auto_accept,
        "accept_url": f"/api/v1/market/offers/{offer.id}/accept",
    }


def _no_entitled_content(question, usage_type, entitled, wanted, k, agent_id) -> errors.DomainError:
    offers = _market_offers(question, usage_type, entitled, wanted, k, agent_id)
    if not offers:
        return errors.NotFound(
            "No licensed content in the marketplace matches this question.",
            code="no_matching_content",
        )
    return licensing_errors.PaymentRequired(
        "No content you are licensed to use matches this question; these offers would cover it.",
        code="license_required",
        details={"usage_type": usage_type, "offers": [_offer_summary(o) for o in offers]},
    )


def _parse_collection_ids(collection_ids) -> set | None:
    if collection_ids is None:
        return None
    if not isinstance(collection_ids, list | tuple) or not collection_ids:
        raise errors.ValidationFailed(
            "collections is a non-empty list of collection ids.",
            details={"collections": ["A non-empty list."]},
        )
    try:
        return {uuid.UUID(str(c)) for c in collection_ids}
    except ValueError as exc:
        raise errors.ValidationFailed(
            "collections holds collection ids (UUIDs).",
            details={"collections": ["Each item is a UUID."]},
        ) from exc


def plan(
    *,
    agent_id,
    question,
    usage_type: str = "ai-input",
    api_key_id=None,
    request_id: str | None = None,
    collection_ids=None,
    max_sources=None,
    max_price_micros=None,
    max_snippet_chars: int | None = None,
    most_sources: int = MAX_SOURCES,
) -> AnswerPlan:
    """Decide which licensed sources ground the answer and what they cost, or refuse."""
    question = clean_question(question)
    max_sources, max_price_micros = _clean_limits(max_sources, max_price_micros, most=most_sources)
    wanted = _parse_collection_ids(collection_ids)
    entitlements = licensing.get_entitlements(agent_id=agent_id, usage_type=usage_type)
    terms_by_collection = entitlements.by_collection
    usable = (
        entitlements.collection_ids
        if wanted is None
        else frozenset(c for c in wanted if c in terms_by_collection)
    )
    k = min(max_sources * CANDIDATES_PER_SOURCE, 100)
    hits = search_chunks(query=question, collection_ids=usable, k=k) if usable else []
    hits = relevant_hits(question, hits)
    if not hits:
        entitled = set(terms_by_collection)
        raise _no_entitled_content(question, usage_type, entitled, wanted, k, agent_id)
    candidates = _distinct_passages(
        [_candidate(h, terms_by_collection[h.collection_id], max_snippet_chars) for h in hits]
    )
    chosen, left_out = choose_sources(
        candidates, max_sources=max_sources, max_price_micros=max_price_micros
    )
    if not chosen:
        cheapest = min(c.price_micros for c in candidates)
        top = candidates[:max_sources]
        raise licensing_errors.PaymentRequired(
            "max_price_micros is below the price of any relevant source.",
            code="price_limit_too_low",
            details={
                "max_price_micros": max_price_micros,
                "cheapest_source_micros": cheapest,
                "quote": {
                    "sources": len(top),
                    "total_micros": sum(c.price_micros for c in top),
                    "currency": settings.LICENSING_CURRENCY,
                },
            },
        )
    return AnswerPlan(
        request_id=request_id or new_request_id(),
        agent_id=agent_id,
        api_key_id=api_key_id,
        question=question,
        usage_type=usage_type,
        chosen=tuple(chosen),
        left_out=tuple(left_out),
        max_price_micros=max_price_micros,
        created_at=timezone.now(),
    )


# -- metering and the result ------------------------------------------------------------------


def names_for(*, collection_ids=(), organization_ids=()) -> dict[str, str]:
    """Return display names of collections and organizations, keyed by id as a string."""
    names = {str(i): n for i, n in catalog.collection_names(collection_ids=collection_ids).items()}
    names.update(
        (str(i), n)
        for i, n in accounts.organization_names(organization_ids=organization_ids).items()
    )
    return names


def _meter(
    answer_plan: AnswerPlan, cited: set, weights: dict, *, settle: bool = False
) -> licensing.MeteredAnswer:
    uses = tuple(
        licensing.SourceUse(
            collection_id=c.hit.collection_id,
            provider_id=c.hit.provider_org_id,
            offer_version_id=c.terms.offer_version_id,
            agreement_id=c.terms.agreement_id,
            document_id=c.hit.document_id,
            chunk_id=c.hit.chunk_id,
            tokens=c.tokens,
            cited=c.source_id in cited,
            attribution_weight_ppm=weights.get(c.source_id, 0),
        )
        for c in answer_plan.chosen
    )
    record = licensing.UseRecord(
        request_id=answer_plan.request_id,
        agent_id=answer_plan.agent_id,
        usage_type=answer_plan.usage_type,
        sources=uses,
        api_key_id=answer_plan.api_key_id,
        created_at=answer_plan.created_at,
    )
    metered = licensing.settle_use(record) if settle else licensing.record_use(record)
    if not metered.created:
        # Another run of the same request was metered first: this text must not go out free.
        raise idempotency.already_metered(answer_plan.request_id)
    return metered


def _meter_before_delivery(answer_plan: AnswerPlan) -> licensing.MeteredAnswer:
    """Meter a streamed answer before its first text leaves: every planned source, as quoted.

    The sources were chosen and priced (as if cited) before inference, so the answer can be
    charged before it is written; which sources it cites, and their weights, replace this
    when the text is complete (`finish(..., settle=True)`).
    """
    chosen = answer_plan.chosen
    share = 1_000_000 // len(chosen)
    return _meter(answer_plan, {c.source_id for c in chosen}, {c.source_id: share for c in chosen})


def _receipt(result: AnswerResult) -> dict:
    return sign_receipt(
        {
            "id": result.id,
            "created_at": result.created_at.isoformat(),
            "usage_type": result.usage_type,
            "currency": result.currency,
            "total_micros": result.total_micros,
            "unattributed_ppm": result.unattributed_ppm,
            "method": f"{result.attribution_method}/{result.attribution_version}",
            "sources": [
                {
                    "source_id": s.source_id,
                    "document_id": s.document_id,
                    "provider_id": str(s.provider_id),
                    "offer_id": str(s.offer_id),
                    "offer_version": s.offer_version,
                    "weight_ppm": s.weight_ppm,
                    "amount_micros": s.amount_micros,
                }
                for s in result.sources
            ],
        }
    )


def finish(
    answer_plan: AnswerPlan,
    *,
    text: str,
    citations=(),
    attribution: inference_client.Attribution | None = None,
    metadata=None,
    usage=None,
    dropped_citations=(),
    settle: bool = False,
) -> AnswerResult:
    """Meter the planned sources with the answer's citations and weights; sign the receipt.

    With `settle`, the answer was metered before it was written and this replaces that.
    """
    cited = {c.source_id for c in citations}
    if attribution is not None:
        weights = {w.source_id: w.weight_ppm for w in attribution.sources}
        unattributed = attribution.unattributed_ppm
        method, version = attribution.method, attribution.version
    else:  # a search: each snippet shown counts equally
        share = 1_000_000 // len(answer_plan.chosen)
        weights = {c.source_id: share for c in answer_plan.chosen}
        unattributed = 1_000_000 - share * len(answer_plan.chosen)
        method, version = "equal-share", "1"
    metered = _meter(answer_plan, cited, weights, settle=settle)
    events = {e.chunk_id: e for e in metered.events}
    names = {c.hit.provider_org_id: c.hit.provider_name for c in answer_plan.chosen}
    sources = []
    for number, c in enumerate(answer_plan.chosen, start=1):
        event = events.get(c.hit.chunk_id)
        sources.append(
            UsedSource(
                number=number,
                source_id=c.source_id,
                chunk_id=c.hit.chunk_id,
                document_id=c.hit.document_id,
                collection_id=c.hit.collection_id,
                title=c.hit.document_title,
                url=c.hit.document_url,
                author=c.hit.document_author,
                published_at=c.hit.document_published_at,
                provider_id=c.hit.provider_org_id,
                provider_name=names.get(c.hit.provider_org_id, ""),
                offer_id=c.terms.offer_id,
                offer_name=c.terms.offer_name,
                offer_version=c.terms.version,
                agreement_id=event.agreement_id if event else c.terms.agreement_id,
                payment_type=c.terms.payment_type,
                price_unit=c.terms.price_unit,
                citation_required=c.terms.citation_required,
                text=c.snippet,
                char_start=c.hit.char_start,
                char_end=c.hit.char_start + len(c.snippet),
                score=c.hit.score,
                cited=c.source_id in cited,
                weight_ppm=weights.get(c.source_id, 0),
                units=event.units if event else 0,
                amount_micros=event.amount_micros if event else 0,
            )
        )
    shares: dict = {}
    for s in sources:
        weight, amount = shares.get(s.provider_id, (0, 0))
        shares[s.provider_id] = (weight + s.weight_ppm, amount + s.amount_micros)
    providers = tuple(
        ProviderShare(provider_id=p, provider_name=names.get(p, ""), weight_ppm=w, amount_micros=a)
        for p, (w, a) in sorted(shares.items(), key=lambda item: (-item[1][0], str(item[0])))
    )
    result = AnswerResult(
        id=answer_plan.request_id,
        created_at=answer_plan.created_at,
        usage_type=answer_plan.usage_type,
        question=answer_plan.question,
        text=text,
        citations=tuple(citations),
        sources=tuple(sources),
        providers=providers,
        unattributed_ppm=unattributed,
        attribution_method=method,
        attribution_version=version,
        total_micros=metered.total_micros,
        currency=metered.currency,
        max_price_micros=answer_plan.max_price_micros,
        left_out=answer_plan.left_out,
        metadata=metadata,
        usage=usage,
        dropped_citations=tuple(dropped_citations),
        receipt={},
        metered=metered.created,
    )
    return replace(result, receipt=_receipt(result))


def _inference_sources(answer_plan: AnswerPlan) -> list[inference_client.Source]:
    return [
        inference_client.Source(
            id=c.source_id,
            text=c.snippet,
            title=c.hit.document_title,
            url=c.hit.document_url,
            owner_id=str(c.hit.provider_org_id),
            license_id=str(c.terms.offer_version_id),
        )
        for c in answer_plan.chosen
    ]


def _finish_answer(
    answer_plan: AnswerPlan, answer: inference_client.Answer, *, settle: bool = False
) -> AnswerResult:
    return finish(
        answer_plan,
        text=answer.text,
        citations=answer.citations,
        attribution=answer.attribution,
        metadata=answer.metadata,
        usage=answer.usage,
        dropped_citations=answer.dropped_citations,
        settle=settle,
    )


def answer_question(answer_plan: AnswerPlan, *, max_tokens: int | None = None) -> AnswerResult:
    """Write the planned answer with the configured inference backend and meter it."""
    answer = _client().answer(
        answer_plan.question, _inference_sources(answer_plan), max_tokens=max_tokens
    )
    return _finish_answer(answer_plan, answer)


def stream_answer(
    answer_plan: AnswerPlan, *, max_tokens: int | None = None
) -> Iterator[StreamDelta | StreamDone]:
    """Yield the answer's text as it is written, then the metered result.

    The answer is metered before its first text is yielded, so a client that goes away
    mid-stream has paid for what it read (the quoted price of every planned source). If
    inference fails after that, the text was never completed: the metering is undone and
    AnswerInterrupted is raised, so the agent pays nothing for a broken answer.
    """
    events = _client().stream_answer(
        answer_plan.question, _inference_sources(answer_plan), max_tokens=max_tokens
    )
    metered, answer = False, None
    try:
        for event in events:
            if isinstance(event, inference_client.AnswerComplete):
                answer = event.answer
                break
            if event.text and not metered:
                _meter_before_delivery(answer_plan)
                metered = True
            yield StreamDelta(event.text)
        if answer is None:
            raise inference_client.InferenceError("The stream ended without an answer.")
    except Exception as exc:
        if metered:  # the text was never completed: the agent does not pay for it
            licensing.void_use(request_id=answer_plan.request_id)
        if isinstance(exc, inference_client.InferenceError):
            raise AnswerInterrupted(
                "The answer could not be completed; nothing was charged for it. Retry.",
                details={"request_id": answer_plan.request_id},
            ) from exc
        raise
    finally:
        events.close()
    yield StreamDone(_finish_answer(answer_plan, answer, settle=metered))


def search(answer_plan: AnswerPlan) -> AnswerResult:
    """Meter the planned snippets as a search: each one shown is a use."""
    return finish(answer_plan, text="")
