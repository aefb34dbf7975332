"""Licensed search: snippets are a use of their own (usage type `search`), metered per result.

A result from a collection the agent licenses for `search` carries its snippet and is metered
as shown (each one counts as cited: it is delivered with its source). A result from a
collection the agent licenses only for other uses (`ai-input`, `ai-index`, `ai-train`) carries
its title and link, never its text, and costs nothing. One plan serves REST and MCP alike.
"""

import uuid
from collections.abc import Sequence
from dataclasses import replace

from django.utils import timezone

from catalog.services import ChunkHit, search_chunks
from licensing import services as licensing
from marketplace.services.answers.offers import _no_entitled_content
from marketplace.services.answers.planning import (
    CANDIDATES_PER_SOURCE,
    SEARCH_MAX_RESULTS,
    SEARCH_SNIPPET_CHARS,
    AnswerPlan,
    Candidate,
    _candidate,
    _clean_limits,
    _distinct_passages,
    _parse_collection_ids,
    choose_sources,
    new_request_id,
    price_limit_too_low,
)
from marketplace.services.answers.questions import clean_question
from marketplace.services.answers.relevance import relevant_hits
from marketplace.services.answers.result import AnswerResult, UsedSource, finish, unmetered

SEARCH = "search"
# Licences that let an agent see that a document matches, though not quote it in a search.
LINK_ONLY_USAGES = ("ai-input", "ai-index", "ai-train")


def _link_only_terms(
    agent_id: uuid.UUID, licensed: frozenset[uuid.UUID]
) -> dict[uuid.UUID, licensing.Terms]:
    """Return the agent's terms for collections it licenses, but not for `search`."""
    terms: dict[uuid.UUID, licensing.Terms] = {}
    for usage_type in LINK_ONLY_USAGES:
        for collection_terms in licensing.get_entitlements(
            agent_id=agent_id, usage_type=usage_type
        ).terms:
            if collection_terms.collection_id not in licensed:
                terms.setdefault(collection_terms.collection_id, collection_terms)
    return terms


def _links(
    hits: list[ChunkHit], terms: dict[uuid.UUID, licensing.Terms], shown: set[int], room: int
) -> list[Candidate]:
    """Return one title-and-link result per matching document not already shown."""
    listed: list[Candidate] = []
    for hit in hits:
        if len(listed) >= room:
            break
        if hit.collection_id in terms and hit.document_id not in shown:
            shown.add(hit.document_id)
            listed.append(
                Candidate(
                    hit=hit, terms=terms[hit.collection_id], snippet="", tokens=0, price_micros=0
                )
            )
    return listed


def plan_search(
    *,
    agent_id: uuid.UUID,
    query: str,
    api_key_id: uuid.UUID | None = None,
    request_id: str | None = None,
    collection_ids: Sequence[uuid.UUID | str] | None = None,
    limit: int | None = None,
    max_price_micros: int | None = None,
) -> AnswerPlan:
    """Decide which results a search shows, as snippets (metered) or links (free), or refuse.

    Refusals come before anything is metered: 400 for bad input, 402 with the offers that would
    cover the query when nothing the agent licenses matches, or when the price limit is below
    every licensed snippet.
    """
    query = clean_question(query)
    limit, max_price_micros = _clean_limits(limit, max_price_micros, most=SEARCH_MAX_RESULTS)
    wanted = _parse_collection_ids(collection_ids)
    search_terms = licensing.get_entitlements(agent_id=agent_id, usage_type=SEARCH).by_collection
    link_terms = _link_only_terms(agent_id, frozenset(search_terms))
    usable = {*search_terms, *link_terms}
    if wanted is not None:
        usable &= wanted
    k = min(limit * CANDIDATES_PER_SOURCE, 100)
    hits = relevant_hits(query, search_chunks(query=query, collection_ids=list(usable), k=k))
    if not hits:
        raise _no_entitled_content(query, SEARCH, set(usable), wanted, k, agent_id)
    candidates = _distinct_passages(
        [
            _candidate(h, search_terms[h.collection_id], SEARCH_SNIPPET_CHARS, query)
            for h in hits
            if h.collection_id in search_terms
        ]
    )
    chosen, left_out = choose_sources(
        candidates, max_sources=limit, max_price_micros=max_price_micros
    )
    if candidates and not chosen:
        raise price_limit_too_low(candidates, limit, max_price_micros)
    shown = {c.hit.document_id for c in chosen}
    return AnswerPlan(
        request_id=request_id or new_request_id("srch"),
        agent_id=agent_id,
        api_key_id=api_key_id,
        question=query,
        usage_type=SEARCH,
        chosen=tuple(chosen),
        left_out=tuple(left_out),
        max_price_micros=max_price_micros,
        created_at=timezone.now(),
        listed=tuple(_links(hits, link_terms, shown, limit - len(chosen))),
    )


def _link(number: int, candidate: Candidate) -> UsedSource:
    hit, terms = candidate.hit, candidate.terms
    return UsedSource(
        number=number,
        source_id=candidate.source_id,
        chunk_id=hit.chunk_id,
        document_id=hit.document_id,
        collection_id=hit.collection_id,
        title=hit.document_title,
        url=hit.document_url,
        author=hit.document_author,
        published_at=hit.document_published_at,
        provider_id=hit.provider_org_id,
        provider_name=hit.provider_name,
        offer_id=terms.offer_id,
        offer_name=terms.offer_name,
        offer_version=terms.version,
        agreement_id=terms.agreement_id,
        payment_type=terms.payment_type,
        price_unit=terms.price_unit,
        citation_required=terms.citation_required,
        text="",
        char_start=hit.char_start,
        char_end=hit.char_start,
        score=hit.score,
        cited=False,
        weight_ppm=0,
        units=0,
        amount_micros=0,
        unit_price_micros=0,
        snippet_licensed=False,
    )


def search(search_plan: AnswerPlan) -> AnswerResult:
    """Meter the planned snippets as a search (each one shown is a use); add the links.

    A search that shows only links meters nothing: no record, no usage event, no charge.
    """
    result = finish(search_plan, text="") if search_plan.chosen else unmetered(search_plan)
    first = len(result.sources) + 1
    links = tuple(_link(n, c) for n, c in enumerate(search_plan.listed, start=first))
    return replace(result, listed=links)
