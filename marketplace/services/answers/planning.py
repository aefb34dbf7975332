"""Planning an answer: which licensed sources ground it and what they cost, or a refusal.

Planning happens before any text is written, so every refusal (402, 400) comes before
inference and nothing is metered for a failed answer.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.utils import timezone

import inference_client
from catalog.services import ChunkHit, search_chunks
from licensing import errors as licensing_errors
from licensing import services as licensing
from marketplace import errors
from marketplace.services.answers.funds import hold_funds
from marketplace.services.answers.offers import _no_entitled_content
from marketplace.services.answers.questions import clean_question
from marketplace.services.answers.relevance import relevant_hits

# Candidates considered per source asked for: the price limit may need cheaper alternatives.
CANDIDATES_PER_SOURCE = 3
MAX_SOURCES = 20
MAX_PRICE_MICROS = 10**15  # a price limit above any offer's maximum price means "no limit"
# When a price limit forces a choice, sources scoring below this share of the best one are
# not worth buying at any price.
RELEVANCE_FLOOR = 0.5
SEARCH_MAX_RESULTS = 50
SEARCH_SNIPPET_CHARS = 400


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage with the terms it would be used under and what it would cost."""

    hit: ChunkHit
    terms: licensing.Terms
    snippet: str
    tokens: int
    price_micros: int  # what it is charged, if cited
    cost_micros: int = 0  # its marginal cost to the agent, which its terms were chosen by
    snippet_start: int = 0  # where the snippet starts in the passage

    @property
    def source_id(self) -> str:
        return f"chunk_{self.hit.chunk_id}"

    @property
    def unconsented_micros(self) -> int:
        """What it costs under terms the agent did not accept itself (auto-accept)."""
        return self.cost_micros if self.terms.auto_accepted else 0


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
    # What the agent declares the answer earns: shared with revenue-share sources by weight.
    revenue_micros: int | None = None
    # A search's results under licences that do not permit `search`: shown as a title and a
    # link, never their text, and not metered.
    listed: tuple[Candidate, ...] = ()
    # The collections searched: the answer's words are weighed by their statistics.
    collection_ids: frozenset[uuid.UUID] = frozenset()
    # What is held against the agent's prepaid wallet for this answer (0: nothing).
    held_micros: int = 0


def new_request_id(prefix: str = "ans") -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _clean_limits(
    max_sources: object, max_price_micros: object, *, most: int
) -> tuple[int, int | None]:
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


def _clean_revenue(revenue_micros: object) -> int | None:
    if revenue_micros is None:
        return None
    if (
        isinstance(revenue_micros, bool)
        or not isinstance(revenue_micros, int)
        or not 0 <= revenue_micros <= MAX_PRICE_MICROS
    ):
        raise errors.ValidationFailed(
            "revenue_micros is an integer, zero or more.",
            details={"revenue_micros": [f"0 to {MAX_PRICE_MICROS}."]},
        )
    return revenue_micros


def _snippet(hit: ChunkHit, max_chars: int | None, question: str) -> tuple[str, int, int]:
    """Return the passage as the offer allows it to be used, its offset and its token count.

    Under a length limit, the excerpt is the run of whole sentences within the limit that says
    the most about the question, wherever it is in the passage.
    """
    text = hit.text
    if max_chars is None or len(text) <= max_chars:
        return text, 0, hit.token_count
    start, end = inference_client.relevant_window(text, question, max_chars)
    tokens = -(-hit.token_count * (end - start) // max(1, len(text)))  # ceiling, pro rata
    return text[start:end], start, tokens


def _candidate(
    hit: ChunkHit, terms: licensing.Terms, max_chars: int | None, question: str
) -> Candidate:
    limits = [n for n in (terms.max_snippet_chars, max_chars) if n]
    snippet, offset, tokens = _snippet(hit, min(limits) if limits else None, question)
    return Candidate(
        hit=hit,
        terms=terms,
        snippet=snippet,
        tokens=tokens,
        # Priced as if cited: the limit must hold whatever the model ends up citing.
        price_micros=licensing.charge_for(terms, tokens=tokens),
        cost_micros=licensing.marginal_cost(terms, tokens=tokens, cited=True),
        snippet_start=offset,
    )


def _cheapest_candidate(
    hit: ChunkHit, entitlements: licensing.Entitlements, max_chars: int | None, question: str
) -> Candidate | None:
    """Return the passage under the agent's terms that make this use cost it least, within
    its price ceilings; None if every option passes them."""
    options = [
        _candidate(hit, t, max_chars, question) for t in entitlements.options_for(hit.collection_id)
    ]
    usable = [c for c in options if entitlements.allows(c.terms, c.cost_micros)]
    return min(usable, key=lambda c: licensing.choice_key(c.terms, c.cost_micros), default=None)


def _left_out(candidate: Candidate, reason: str = "price") -> LeftOut:
    return LeftOut(
        source_id=candidate.source_id,
        document_id=candidate.hit.document_id,
        title=candidate.hit.document_title,
        provider_id=candidate.hit.provider_org_id,
        offer_id=candidate.terms.offer_id,
        price_micros=candidate.price_micros,
        reason=reason,
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
    candidates: list[Candidate],
    *,
    max_sources: int,
    max_price_micros: int | None,
    ceiling_micros: int | None = None,
) -> tuple[list[Candidate], list[LeftOut]]:
    """Pick up to `max_sources` candidates (relevance order in, relevance order out).

    Without a price limit the most relevant are taken. With one, candidates scoring at least
    RELEVANCE_FLOOR of the best are taken by value (score per micro; free sources first) while
    they fit; the most relevant sources that did not fit are reported as left out for price.
    With `ceiling_micros` (the agent's per-answer ceiling), sources under auto-accept terms
    together cost at most that; those past it are left out (reason `price_ceiling`).
    """
    over_ceiling: set[int] = set()
    unconsented = 0

    def within_ceiling(candidate: Candidate) -> bool:
        nonlocal unconsented
        extra = candidate.unconsented_micros
        if ceiling_micros is not None and extra and unconsented + extra > ceiling_micros:
            over_ceiling.add(candidate.hit.chunk_id)
            return False
        unconsented += extra
        return True

    if max_price_micros is None:
        taken: list[Candidate] = []
        for candidate in candidates:
            if len(taken) == max_sources:
                break
            if within_ceiling(candidate):
                taken.append(candidate)
        return taken, [
            _left_out(c, "price_ceiling") for c in candidates if c.hit.chunk_id in over_ceiling
        ]
    if not candidates:
        return [], []
    floor = candidates[0].hit.score * RELEVANCE_FLOOR
    eligible = [c for c in candidates if c.hit.score >= floor]
    by_value = sorted(
        eligible, key=lambda c: (-(c.hit.score / max(c.price_micros, 1)), -c.hit.score)
    )
    chosen: set[int] = set()
    spent = 0
    for candidate in by_value:
        if len(chosen) == max_sources:
            break
        if spent + candidate.price_micros <= max_price_micros and within_ceiling(candidate):
            chosen.add(candidate.hit.chunk_id)
            spent += candidate.price_micros
    picked = [c for c in candidates if c.hit.chunk_id in chosen]
    wanted = candidates[:max_sources]
    left_out = [
        _left_out(c, "price_ceiling" if c.hit.chunk_id in over_ceiling else "price")
        for c in wanted
        if c.hit.chunk_id not in chosen
    ]
    return picked, left_out


def price_limit_too_low(
    candidates: list[Candidate], max_sources: int, max_price_micros: int | None
) -> licensing_errors.PaymentRequired:
    """Return the 402 for a price limit below every relevant candidate, quoting the first ones."""
    top = candidates[:max_sources]
    return licensing_errors.PaymentRequired(
        "max_price_micros is below the price of any relevant source.",
        code="price_limit_too_low",
        details={
            "max_price_micros": max_price_micros,
            "cheapest_source_micros": min(c.price_micros for c in candidates),
            "quote": {
                "sources": len(top),
                "total_micros": sum(c.price_micros for c in top),
                "currency": settings.LICENSING_CURRENCY,
            },
        },
    )


def _parse_collection_ids(collection_ids: object) -> set[uuid.UUID] | None:
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
    agent_id: uuid.UUID,
    question: object,
    usage_type: str = "ai-input",
    api_key_id: uuid.UUID | None = None,
    request_id: str | None = None,
    collection_ids: object = None,
    max_sources: object = None,
    max_price_micros: object = None,
    max_snippet_chars: int | None = None,
    most_sources: int = MAX_SOURCES,
    revenue_micros: object = None,
) -> AnswerPlan:
    """Decide which licensed sources ground the answer and what they cost, or refuse."""
    question = clean_question(question)
    max_sources, max_price_micros = _clean_limits(max_sources, max_price_micros, most=most_sources)
    revenue = _clean_revenue(revenue_micros)
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
    options = [(h, _cheapest_candidate(h, entitlements, max_snippet_chars, question)) for h in hits]
    candidates = _distinct_passages([c for _, c in options if c is not None])
    if not candidates:
        # Nothing licensed matches, or only passages under auto-accept offers priced above
        # the agent's ceilings: their offers are listed as ones it could accept.
        over_ceiling = {h.collection_id for h, c in options if c is None}
        entitled = set(terms_by_collection) - over_ceiling
        raise _no_entitled_content(
            question, usage_type, entitled, wanted, k, agent_id, ceilings=entitlements.ceilings
        )
    ceilings = entitlements.ceilings
    chosen, left_out = choose_sources(
        candidates,
        max_sources=max_sources,
        max_price_micros=max_price_micros,
        ceiling_micros=ceilings.per_answer_micros if ceilings else None,
    )
    if not chosen:
        raise price_limit_too_low(candidates, max_sources, max_price_micros)
    answer_plan = AnswerPlan(
        request_id=request_id or new_request_id(),
        agent_id=agent_id,
        api_key_id=api_key_id,
        question=question,
        usage_type=usage_type,
        chosen=tuple(chosen),
        left_out=tuple(left_out),
        max_price_micros=max_price_micros,
        created_at=timezone.now(),
        collection_ids=frozenset(usable),
        revenue_micros=revenue,
    )
    # A prepaid wallet that cannot cover the worst case: 402 insufficient_funds.
    return replace(answer_plan, held_micros=hold_funds(answer_plan))
