"""Paid access to full content: HTTP 402 with the terms, and pay-per-crawl prices."""

import uuid
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from accounts import services as accounts
from licensing import errors
from licensing.services.agreements import accept_for_agent, get_entitlements
from licensing.services.metering import SourceUse, UseRecord, record_use
from licensing.services.offers import MAX_PRICE_MICROS
from licensing.services.paywall import (
    cheapest_per_use,
    content_to_fetch,
    fetch_units,
    offers_for,
    payment_required,
)


def format_price(micros: int, currency: str) -> str:
    """Format micros as the pay-per-crawl header value, e.g. 'USD 0.002500'."""
    return f"{currency} {micros // 1_000_000}.{micros % 1_000_000:06d}"


def parse_price(value: str | None, currency: str) -> int | None:
    """Parse '0.01' or 'USD 0.01' into micros; None if absent, malformed or another currency.

    A price above any offer's maximum is refused (400), not scaled into a huge integer.
    """
    if not value:
        return None
    parts = value.strip().split()
    if len(parts) == 2:
        if parts[0].upper() != currency:
            return None
        parts = parts[1:]
    if len(parts) != 1:
        return None
    try:
        amount = Decimal(parts[0])
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    if amount > MAX_PRICE_MICROS // 1_000_000:  # checked before scaling: 1e1000000 is finite
        raise errors.ValidationFailed(
            "crawler-max-price is larger than any price.",
            details={"crawler-max-price": [f"At most {MAX_PRICE_MICROS // 1_000_000} {currency}."]},
        )
    return int((amount * 1_000_000).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class ContentGrant:
    document_id: int
    title: str
    text: str
    request_id: str
    offer_id: uuid.UUID
    charged_micros: int
    currency: str
    provider_slug: str


def fetch_licensed_content(
    *,
    actor: accounts.Actor,
    document_id,
    collection_id=None,
    usage_type: str = "ai-input",
    max_price_micros: int | None = None,
    request_id: str | None = None,
    organization_id=None,
) -> ContentGrant:
    """Return a document's full text to the acting agent under a licence, metered; else raise
    PaymentRequired.

    With `max_price_micros` (a crawler's `crawler-max-price`), the cheapest published pay-per-use
    offer at or under that price is accepted on the agent's behalf and the fetch is charged,
    if the actor may accept offers (an API key with the `licensing` scope, or a member);
    otherwise only an existing agreement serves, and accepting is refused (403).
    """
    agent_id = accounts.acting_organization(
        actor=actor, role=accounts.AGENT, scope=accounts.QUERY, organization_id=organization_id
    ).id
    content = content_to_fetch(document_id=document_id, collection_id=collection_id)
    entitlements = get_entitlements(agent_id=agent_id, usage_type=usage_type)
    terms = entitlements.for_collection(content.collection_id)
    if terms is None:
        offers = offers_for(content, agent_id=agent_id, usage_type=usage_type)
        cheapest = cheapest_per_use(offers, content.token_count)
        price = fetch_units(cheapest, content.token_count)[1] if cheapest else 0
        if cheapest is None or max_price_micros is None or max_price_micros < price:
            raise payment_required(content, offers, usage_type)
        if not accounts.has_scope(actor, accounts.LICENSING):
            raise errors.PermissionDenied(
                "Accepting an offer needs an API key with the 'licensing' scope; accept it "
                "with one (POST the offer's accept URL) and fetch again with this key.",
                code="insufficient_scope",
                details={"offer_id": str(cheapest.id), "price_micros": price},
            )
        accept_for_agent(agent_id=agent_id, offer_id=cheapest.id)
        terms = get_entitlements(agent_id=agent_id, usage_type=usage_type).for_collection(
            content.collection_id
        )
    request_id = request_id or f"content-{uuid.uuid4()}"
    metered = record_use(
        UseRecord(
            request_id=request_id,
            agent_id=agent_id,
            api_key_id=actor.api_key_id,
            usage_type=usage_type,
            kind="content",
            sources=(
                SourceUse(
                    collection_id=content.collection_id,
                    provider_id=content.provider_id,
                    offer_version_id=terms.offer_version_id,
                    agreement_id=terms.agreement_id,
                    document_id=content.id,
                    tokens=content.token_count,
                    cited=True,
                    attribution_weight_ppm=1_000_000,
                ),
            ),
        )
    )
    return ContentGrant(
        document_id=content.id,
        title=content.title,
        text=content.text,
        request_id=request_id,
        offer_id=terms.offer_id,
        charged_micros=metered.total_micros,
        currency=metered.currency,
        provider_slug=content.provider_slug,
    )
