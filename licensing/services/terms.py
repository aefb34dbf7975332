"""The vocabulary of terms, the one pricing rule every quote and meter uses, and the one
rule an agent's offers are compared by (the marginal cost of the use at hand)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from licensing.models import PaymentType, Period, PriceUnit, UsageType

USAGE_TYPES = tuple(UsageType.values)
USAGE_TYPE_CHOICES = tuple(UsageType.choices)  # (value, label), for forms and serializers
PAYMENT_TYPE_CHOICES = tuple(PaymentType.choices)
PRICE_UNIT_CHOICES = tuple(PriceUnit.choices)
PERIOD_CHOICES = tuple(Period.choices)
PAYMENT_TYPES = tuple(PaymentType.values)
PRICE_UNITS = tuple(PriceUnit.values)
AI_USAGES = ("ai-input", "ai-train", "ai-index")


def usage_covers(granted: tuple[str, ...] | list[str], requested: str) -> bool:
    """Say whether an offer granting `granted` usages permits `requested` (RSL semantics)."""
    if requested in granted or "all" in granted:
        return True
    return requested in AI_USAGES and "ai-all" in granted


@dataclass(frozen=True)
class Terms:
    """The terms under which one agent may use one collection."""

    collection_id: uuid.UUID
    provider_id: uuid.UUID
    offer_id: uuid.UUID
    offer_name: str
    offer_version_id: int
    version: int
    agreement_id: uuid.UUID | None
    usage_types: tuple[str, ...]
    payment_type: str
    price_micros: int
    price_unit: str
    currency: str
    revenue_share_bps: int
    max_snippet_chars: int | None
    citation_required: bool
    expires_at: datetime | None
    # True while the agent has not accepted these terms itself: an auto-accept offer, or the
    # agreement one made. Its price ceilings bound what such terms may cost.
    auto_accepted: bool = False


def price_use(
    *, payment_type: str, price_unit: str, price_micros: int, tokens: int, cited: bool
) -> tuple[int, int]:
    """Return (units, amount_micros) for one use of one source.

    Per-use offers charge per source retrieved, per source cited, or per 1,000 content tokens
    (rounded half up to the micro). Subscriptions, revenue shares, purchases and free offers
    cost nothing per use: they are billed per period, from the answer's earnings, or once.
    """
    if payment_type != PaymentType.USE:
        return 1, 0
    if price_unit == PriceUnit.RETRIEVED_SOURCE:
        return 1, price_micros
    if price_unit == PriceUnit.CITED_SOURCE:
        return (1, price_micros) if cited else (0, 0)
    if price_unit == PriceUnit.THOUSAND_TOKENS:
        return tokens, (price_micros * tokens + 500) // 1000
    return 1, 0


def charge_for(terms: Terms, *, tokens: int, cited: bool = True) -> int:
    """Return what one use of one source of `tokens` tokens is charged under `terms`, in micros
    (priced as if cited unless told otherwise, so a limit holds whatever is cited)."""
    charge: int = price_use(
        payment_type=terms.payment_type,
        price_unit=terms.price_unit,
        price_micros=terms.price_micros,
        tokens=tokens,
        cited=cited,
    )[1]
    return charge


def revenue_share_equivalent(revenue_share_bps: int) -> int:
    """Return the per-use equivalent of a revenue share, in micros: its basis points of the
    revenue an answer is taken to earn (LICENSING_REVENUE_SHARE_BASIS_MICROS), half up.

    It is what one source may take at most (a share is split by attribution weight, and a
    source's weight is at most the whole answer). It compares offers; nothing charges it.
    """
    basis: int = settings.LICENSING_REVENUE_SHARE_BASIS_MICROS
    return (revenue_share_bps * basis + 5_000) // 10_000


def marginal_cost(terms: Terms, *, tokens: int, cited: bool = True) -> int:
    """Return what one more use of one source of `tokens` tokens costs the agent, in micros.

    Pay-per-use terms cost what this use is charged (per source, per cited source, or by the
    tokens of the passage at hand). A subscription or purchase the agent holds costs nothing
    more per use; one it does not hold yet (an auto-accept offer) costs its price, since using
    it buys it. Free and attribution-only cost nothing; a revenue share costs its per-use
    equivalent (`revenue_share_equivalent`).
    """
    payment = terms.payment_type
    if payment == PaymentType.USE:
        return charge_for(terms, tokens=tokens, cited=cited)
    if payment in (PaymentType.SUBSCRIPTION, PaymentType.PURCHASE):
        return 0 if terms.agreement_id is not None else terms.price_micros
    if payment == PaymentType.REVENUE_SHARE:
        return revenue_share_equivalent(terms.revenue_share_bps)
    return 0


def choice_key(terms: Terms, cost_micros: int) -> tuple[int, bool, bool, str]:
    """Return how an agent's terms for one use are ranked, least first: by marginal cost,
    then terms it holds an agreement on, then terms it accepted itself, then by offer id."""
    return (cost_micros, terms.agreement_id is None, terms.auto_accepted, str(terms.offer_id))
