"""What unlicensed content costs: the terms a 402 carries, to agents and anonymous crawlers.

A 402 names one offer (the cheapest pay-per-use offer, which `crawler-max-price` can take at
once; else the cheapest other) with its real terms, and lists every offer that would cover the
fetch: a subscription with its price and period, a revenue share with its basis points.
"""

import uuid
from typing import Any

from catalog import services as catalog
from licensing import errors
from licensing.models import PaymentType
from licensing.services.market import list_published_offers
from licensing.services.offers import OfferInfo
from licensing.services.terms import price_use, usage_covers

# Among offers with the same price, the one that asks least of the agent is named first.
_LEAST_DEMANDING = (
    PaymentType.FREE,
    PaymentType.ATTRIBUTION,
    PaymentType.REVENUE_SHARE,
    PaymentType.USE,
    PaymentType.SUBSCRIPTION,
    PaymentType.PURCHASE,
)
LICENCE_MESSAGE = "A licence is required for this content."
ANONYMOUS_MESSAGE = (
    "A licence is required for this content. Sign up for an API key (signup_url), accept one "
    "of these offers, and fetch again with the key; pay-per-use offers can also be taken on "
    "the fetch itself with a crawler-max-price header."
)


def fetch_units(offer: OfferInfo, tokens: int) -> tuple[int, int]:
    """Return (units, amount_micros) of one fetch of `tokens` under the offer, as if cited.

    Only pay-per-use offers charge a fetch; the others cost nothing per use.
    """
    units_and_amount: tuple[int, int] = price_use(
        payment_type=offer.terms.payment_type,
        price_unit=offer.terms.price_unit,
        price_micros=offer.terms.price_micros,
        tokens=tokens,
        cited=True,
    )
    return units_and_amount


def cheapest_per_use(offers: list[OfferInfo], tokens: int) -> OfferInfo | None:
    """Return the pay-per-use offer under which one fetch of `tokens` costs least, if any."""
    payable = [o for o in offers if o.terms.payment_type == PaymentType.USE]
    if not payable:
        return None
    return min(payable, key=lambda o: (fetch_units(o, tokens)[1], str(o.id)))


def _named_offer(offers: list[OfferInfo], tokens: int) -> OfferInfo | None:
    per_use = cheapest_per_use(offers, tokens)
    if per_use is not None or not offers:
        return per_use
    return min(
        offers,
        key=lambda o: (
            o.terms.price_micros,
            _LEAST_DEMANDING.index(PaymentType(o.terms.payment_type)),
            str(o.id),
        ),
    )


def _offer_terms(offer: OfferInfo, tokens: int) -> dict[str, Any]:
    terms = offer.terms
    per_use = terms.payment_type == PaymentType.USE
    return {
        "offer_id": str(offer.id),
        "name": offer.name,
        "version": offer.version,
        "usage_types": list(terms.usage_types),
        "payment_type": terms.payment_type,
        "price_micros": terms.price_micros,
        "price_unit": terms.price_unit,
        "currency": terms.currency,
        "period": terms.period,
        "revenue_share_bps": terms.revenue_share_bps,
        "citation_required": terms.citation_required,
        "max_snippet_chars": terms.max_snippet_chars,
        "fetch_price_micros": fetch_units(offer, tokens)[1] if per_use else None,
        "accept_url": f"/api/v1/market/offers/{offer.id}/accept",
    }


def payment_required(
    content: catalog.DocumentContent,
    offers: list[OfferInfo],
    usage_type: str,
    *,
    message: str = LICENCE_MESSAGE,
) -> errors.PaymentRequired:
    """Return the 402 for a fetch of `content` that the `offers` would license.

    `price_micros` is what taking the named offer costs for this document, in `units` of
    `price_unit` at `unit_price_micros` each: this fetch (per use), one period (subscription),
    once (purchase), or nothing per use (free, attribution, revenue share, whose share of the
    answer's revenue is `revenue_share_bps`).
    """
    named = _named_offer(offers, content.token_count)
    details: dict[str, Any] = {
        "document_id": content.id,
        "usage_type": usage_type,
        "provider": content.provider_slug,
        "offer_id": None,
        "payment_type": None,
        "price_micros": None,
        "price_unit": None,
        "units": None,
        "unit_price_micros": None,
        "currency": None,
        "period": "",
        "revenue_share_bps": 0,
        "offers": [str(o.id) for o in offers],
        "terms": [_offer_terms(o, content.token_count) for o in offers],
    }
    if named is not None:
        terms = named.terms
        if terms.payment_type == PaymentType.USE:
            units, price = fetch_units(named, content.token_count)
        else:
            units, price = 1, terms.price_micros
        details.update(
            offer_id=str(named.id),
            payment_type=terms.payment_type,
            price_micros=price,
            price_unit=terms.price_unit,
            units=units,
            unit_price_micros=terms.price_micros,
            currency=terms.currency,
            period=terms.period,
            revenue_share_bps=terms.revenue_share_bps,
        )
    return errors.PaymentRequired(message, details=details)


def crawler_price(details: dict[str, Any]) -> int | None:
    """Return the price of this fetch for a `crawler-price` header, if the 402 names a
    pay-per-use offer (the one a `crawler-max-price` header can take on the fetch itself)."""
    if details.get("payment_type") != PaymentType.USE:
        return None
    price: int | None = details.get("price_micros")
    return price


def content_to_fetch(
    *, document_id: int, collection_id: uuid.UUID | str | None
) -> catalog.DocumentContent:
    """Return a ready document (in `collection_id`, when given); NotFound if there is none."""
    content = catalog.get_document_content(document_id=document_id)
    if content is None or (
        collection_id is not None and str(collection_id) != str(content.collection_id)
    ):
        raise errors.NotFound("Document not found.")
    return content


def offers_for(
    content: catalog.DocumentContent, *, agent_id: uuid.UUID | None, usage_type: str
) -> list[OfferInfo]:
    """Return the published offers `agent_id` (None: anyone) may see that cover `usage_type`.

    A document under no offer the agent may see is NotFound exactly like a missing one, so a
    402 never tells anyone that content they cannot license exists.
    """
    visible = list_published_offers(agent_id=agent_id, collection_id=content.collection_id)
    if not visible:
        raise errors.NotFound("Document not found.")
    return [o for o in visible if usage_covers(o.terms.usage_types, usage_type)]


def public_content_terms(
    *, document_id: int, collection_id: uuid.UUID | str | None = None, usage_type: str = "ai-input"
) -> errors.PaymentRequired:
    """Return the 402 an anonymous request for a document gets: its public offers' terms.

    Only offers open to every agent are shown (no private offer, no allow or deny list); a
    document under none of them raises NotFound, exactly like a missing one.
    """
    content = content_to_fetch(document_id=document_id, collection_id=collection_id)
    offers = offers_for(content, agent_id=None, usage_type=usage_type)
    return payment_required(content, offers, usage_type, message=ANONYMOUS_MESSAGE)
