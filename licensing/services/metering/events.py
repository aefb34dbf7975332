"""Reading usage events, newest first, as the agent that used or the provider used sees them."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from licensing.models import UsageEvent


@dataclass(frozen=True)
class UsageEventInfo:
    id: int
    request_id: str
    created_at: datetime
    agent_id: uuid.UUID
    provider_id: uuid.UUID
    collection_id: uuid.UUID
    document_id: int | None
    chunk_id: int | None
    agreement_id: uuid.UUID
    offer_id: uuid.UUID
    offer_version: int
    usage_type: str
    payment_type: str
    price_unit: str
    units: int
    unit_price_micros: int
    amount_micros: int
    currency: str
    attribution_weight_ppm: int
    cited: bool


USAGE_PAGE_MAX = 500


@dataclass(frozen=True)
class UsageEventPage:
    results: tuple[UsageEventInfo, ...]
    next_before_id: int | None  # None on the last page


def list_usage_events(
    *,
    agent_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[UsageEventInfo]:
    """Return usage events newest first, seen by the agent that used or the provider used."""
    page = usage_events_page(
        agent_id=agent_id, provider_id=provider_id, limit=limit, before_id=before_id
    )
    return list(page.results)


def usage_events_page(
    *,
    agent_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> UsageEventPage:
    """Return one page of usage events newest first, and where the next page starts."""
    if (agent_id is None) == (provider_id is None):
        raise ValueError("name exactly one of agent_id and provider_id")
    limit = max(1, min(limit, USAGE_PAGE_MAX))
    rows = UsageEvent.objects.select_related("answer", "offer_version")
    rows = rows.filter(agent_id=agent_id) if agent_id else rows.filter(provider_id=provider_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    found = list(rows.order_by("-id")[: limit + 1])  # one more tells whether a next page exists
    more = len(found) > limit
    found = found[:limit]
    return UsageEventPage(
        results=tuple(_usage_event_info(e) for e in found),
        next_before_id=found[-1].id if more else None,
    )


def _usage_event_info(e: UsageEvent) -> UsageEventInfo:
    return UsageEventInfo(
        id=e.id,
        request_id=e.answer.request_id,
        created_at=e.created_at,
        agent_id=e.agent_id,
        provider_id=e.provider_id,
        collection_id=e.collection_id,
        document_id=e.document_id,
        chunk_id=e.chunk_id,
        agreement_id=e.agreement_id,
        offer_id=e.offer_version.offer_id,
        offer_version=e.offer_version.version,
        usage_type=e.usage_type,
        payment_type=e.payment_type,
        price_unit=e.price_unit,
        units=e.units,
        unit_price_micros=e.unit_price_micros,
        amount_micros=e.amount_micros,
        currency=e.currency,
        attribution_weight_ppm=e.attribution_weight_ppm,
        cited=e.cited,
    )
