"""The published offers that would cover a question the agent is not licensed to answer."""

import uuid
from typing import TypedDict

from catalog.services import search_chunks
from licensing import errors as licensing_errors
from licensing import services as licensing
from marketplace import errors
from marketplace.services.answers.relevance import relevant_hits


def _market_offers(
    question: str,
    usage_type: str,
    entitled: set[uuid.UUID],
    wanted: set[uuid.UUID] | None,
    k: int,
    agent_id: uuid.UUID,
) -> list[licensing.OfferInfo]:
    """Return the published offers the agent may see whose collections match the question."""
    offers = licensing.list_published_offers(agent_id=agent_id, usage_type=usage_type)
    by_collection: dict[uuid.UUID, list[licensing.OfferInfo]] = {}
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
    matching: list[licensing.OfferInfo] = []
    seen: set[uuid.UUID] = set()
    for hit in hits:
        for offer in by_collection[hit.collection_id]:
            if offer.id not in seen:
                seen.add(offer.id)
                matching.append(offer)
    return matching


class OfferSummary(TypedDict):
    """An offer as a refusal (402) or the MCP tools show it to an agent."""

    offer_id: str
    name: str
    provider_id: str
    provider_name: str
    version: int
    usage_types: list[str]
    payment_type: str
    price_micros: int
    price_unit: str
    currency: str
    period: str
    revenue_share_bps: int
    auto_accept: bool
    accept_url: str


def offer_summary(offer: licensing.OfferInfo) -> OfferSummary:
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


def _no_entitled_content(
    question: str,
    usage_type: str,
    entitled: set[uuid.UUID],
    wanted: set[uuid.UUID] | None,
    k: int,
    agent_id: uuid.UUID,
    *,
    ceilings: licensing.PriceCeilings | None = None,
) -> errors.DomainError:
    offers = _market_offers(question, usage_type, entitled, wanted, k, agent_id)
    if not offers:
        return errors.NotFound(
            "No licensed content in the marketplace matches this question.",
            code="no_matching_content",
        )
    details: dict[str, object] = {
        "usage_type": usage_type,
        "offers": [offer_summary(o) for o in offers],
    }
    message = (
        "No content you are licensed to use matches this question; these offers would cover it."
    )
    lapsed = licensing.lapsed_agreements(agent_id=agent_id, offer_ids=[o.id for o in offers])
    if lapsed:
        # A licence the agent had is gone: say so, and why (a renewal left unpaid).
        names = ", ".join(f"'{a.offer_name}'" for a in lapsed)
        message += f" Your licence to {names} lapsed: its renewal was not paid."
        details["lapsed"] = [
            {
                "agreement_id": str(a.agreement_id),
                "offer_id": str(a.offer_id),
                "reason": a.reason,
                "ended_at": a.ended_at.isoformat() if a.ended_at else None,
            }
            for a in lapsed
        ]
    if ceilings is not None and any(o.auto_accept for o in offers):
        # An auto-accept offer listed here costs more than the agent consented to.
        message += " Auto-accept offers apply only within your price ceilings."
        details["price_ceilings"] = {
            "per_source_micros": ceilings.per_source_micros,
            "per_answer_micros": ceilings.per_answer_micros,
            "currency": ceilings.currency,
        }
    return licensing_errors.PaymentRequired(message, code="license_required", details=details)
