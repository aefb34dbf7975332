"""The vocabulary of terms and the one pricing rule every quote and meter uses."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from licensing.models import PaymentType, PriceUnit, UsageType

USAGE_TYPES = tuple(UsageType.values)
USAGE_TYPE_CHOICES = tuple(UsageType.choices)  # (value, label), for forms and serializers
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
