"""Paid access to full content: HTTP 402 with the terms, and pay-per-crawl prices."""

import functools
import uuid
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.db import transaction

from accounts import services as accounts
from catalog import services as catalog
from licensing import errors
from licensing.models import PaymentType
from licensing.services.agreements import accept_for_agent, buy_single_fetch
from licensing.services.entitlements import get_entitlements
from licensing.services.metering import MeteredAnswer, SourceUse, UseRecord, record_use
from licensing.services.offers import MAX_PRICE_MICROS
from licensing.services.paywall import (
    cheapest_per_use,
    content_to_fetch,
    fetch_units,
    offers_for,
    payment_required,
)
from licensing.services.terms import charge_for

# Terms that buy a period or a licence, not a use: a fetch buys them only as a standing agreement.
BOUGHT_FOR_A_TERM = (PaymentType.SUBSCRIPTION, PaymentType.PURCHASE)


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


def _meter_fetch(
    offer_version_id: int,
    agreement_id: uuid.UUID | None,
    *,
    actor: accounts.Actor,
    agent_id: uuid.UUID,
    content: catalog.DocumentContent,
    usage_type: str,
    request_id: str,
) -> MeteredAnswer:
    return record_use(
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
                    offer_version_id=offer_version_id,
                    agreement_id=agreement_id,
                    document_id=content.id,
                    tokens=content.token_count,
                    cited=True,
                    attribution_weight_ppm=1_000_000,
                ),
            ),
        )
    )


def fetch_licensed_content(
    *,
    actor: accounts.Actor,
    document_id: int,
    collection_id: uuid.UUID | str | None = None,
    usage_type: str = "ai-input",
    max_price_micros: int | None = None,
    standing: bool = False,
    request_id: str | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> ContentGrant:
    """Return a document's full text to the acting agent under a licence, metered; else raise
    PaymentRequired.

    The fetch is made under the agent's terms that cost least for this document, within its
    price ceilings. With `max_price_micros` (a crawler's `crawler-max-price`), it never costs
    more than that, and without usable terms the cheapest published pay-per-use offer at or
    under that price pays for this fetch only: an agreement capped at the fetch's price that
    ends at once. With `standing` (`crawler-accept: standing`) the offer is accepted instead and
    serves later fetches too. Buying or accepting an offer that is not auto-accept needs an
    actor that may accept offers (an API key with the `licensing` scope, or a member); without
    one it is refused (403).
    """
    agent_id = accounts.acting_organization(
        actor=actor, role=accounts.AGENT, scope=accounts.QUERY, organization_id=organization_id
    ).id
    if standing and max_price_micros is None:
        raise errors.ValidationFailed(
            "crawler-accept: standing accepts an offer at a price: send crawler-max-price too.",
            details={"crawler-max-price": ["Required with crawler-accept."]},
        )
    if standing and not accounts.has_scope(actor, accounts.LICENSING):
        raise errors.PermissionDenied(
            "Accepting an offer needs an API key with the 'licensing' scope.",
            code="insufficient_scope",
        )
    content = content_to_fetch(document_id=document_id, collection_id=collection_id)
    tokens = content.token_count
    terms = get_entitlements(agent_id=agent_id, usage_type=usage_type).choose(
        content.collection_id, tokens=tokens
    )
    if terms is not None and max_price_micros is not None:
        # The crawler's price is the most this fetch may cost; and a subscription or a purchase
        # the agent does not hold is never bought for one fetch.
        buys_a_term = terms.agreement_id is None and terms.payment_type in BOUGHT_FOR_A_TERM
        cost = terms.price_micros if buys_a_term else charge_for(terms, tokens=tokens)
        if cost > max_price_micros or (buys_a_term and not standing):
            terms = None
    if terms is None:
        offers = offers_for(content, agent_id=agent_id, usage_type=usage_type)
        cheapest = cheapest_per_use(offers, tokens)
        price = fetch_units(cheapest, tokens)[1] if cheapest else 0
        if cheapest is None or max_price_micros is None or max_price_micros < price:
            raise payment_required(content, offers, usage_type)
        if not accounts.has_scope(actor, accounts.LICENSING):
            raise errors.PermissionDenied(
                "Accepting an offer needs an API key with the 'licensing' scope; accept it "
                "with one (POST the offer's accept URL) and fetch again with this key.",
                code="insufficient_scope",
                details={"offer_id": str(cheapest.id), "price_micros": price},
            )
        offer_id = cheapest.id
    else:
        offer_id, price = terms.offer_id, charge_for(terms, tokens=tokens)
    meter = functools.partial(
        _meter_fetch,
        actor=actor,
        agent_id=agent_id,
        content=content,
        usage_type=usage_type,
        request_id=request_id or f"content-{uuid.uuid4()}",
    )
    if terms is not None and (terms.agreement_id is not None or max_price_micros is None):
        # Under an agreement the agent holds, or an auto-accept offer within its ceilings.
        return _grant(content, offer_id, meter(terms.offer_version_id, terms.agreement_id))
    if standing:
        agreement = accept_for_agent(agent_id=agent_id, offer_id=offer_id)
        # One the agent held already, on an older version, may cost more than the crawler pays.
        held_price = fetch_units(agreement.offer, tokens)[1]
        if max_price_micros is not None and held_price <= max_price_micros:
            return _grant(content, offer_id, meter(agreement.offer.version_id, agreement.id))
    with transaction.atomic():
        bought = buy_single_fetch(agent_id=agent_id, offer_id=offer_id, price_micros=price)
        metered = meter(bought.offer.version_id, bought.id)
        if not metered.created:  # a retry: the first fetch paid, under its own licence
            transaction.set_rollback(True)
    return _grant(content, offer_id, metered)


def _grant(
    content: catalog.DocumentContent, offer_id: uuid.UUID, metered: MeteredAnswer
) -> ContentGrant:
    return ContentGrant(
        document_id=content.id,
        title=content.title,
        text=content.text,
        request_id=metered.request_id,
        offer_id=offer_id,
        charged_micros=metered.total_micros,
        currency=metered.currency,
        provider_slug=content.provider_slug,
    )
