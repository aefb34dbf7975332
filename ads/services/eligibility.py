"""The units that may take part in an auction now: approved, active, in an active campaign
within its schedule. One query, plain values, frozen results (the auction keeps a snapshot).

What depends on the question or the moment of serving (relevance, budgets left, pacing,
frequency caps, providers' and agents' block lists) is the auction's to decide.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from ads.models import AdUnit, Campaign
from ads.services.targeting import KEYS, Targeting, targeting_of


@dataclass(frozen=True)
class EligibleUnit:
    """An approved unit of a running campaign, with what the auction and disclosure need."""

    unit_id: uuid.UUID
    version: int
    campaign_id: uuid.UUID
    advertiser_id: uuid.UUID
    advertiser_name: str
    title: str
    body: str
    url: str
    call_to_action: str
    context_hints: str
    targeting: Targeting
    category: str
    bid_type: str
    max_bid_micros: int
    currency: str
    pacing: str
    total_budget_micros: int
    daily_budget_micros: int | None
    starts_at: datetime
    ends_at: datetime | None


_UNIT_FIELDS = (
    "id",
    "version",
    "campaign_id",
    "title",
    "body",
    "url",
    "call_to_action",
    "context_hints",
    "category",
    "bid_type",
    "max_bid_micros",
)
_CAMPAIGN_FIELDS = (
    "advertiser_id",
    "advertiser__name",
    "currency",
    "pacing",
    "total_budget_micros",
    "daily_budget_micros",
    "starts_at",
    "ends_at",
)


def eligible_units(
    *, now: datetime | None = None, currency: str | None = None, until: datetime | None = None
) -> list[EligibleUnit]:
    """Return every unit that may serve at `now` (default: now), in one query; with `until`,
    every unit that may serve at some moment from `now` until then (a snapshot kept that long
    checks each campaign's schedule when it serves)."""
    now = now or timezone.now()
    starts = Q(campaign__starts_at__lte=now) if until is None else Q(campaign__starts_at__lt=until)
    queryset = AdUnit.objects.filter(
        starts,
        review_state=AdUnit.ReviewState.APPROVED,
        status=AdUnit.Status.ACTIVE,
        campaign__status=Campaign.Status.ACTIVE,
    ).filter(Q(campaign__ends_at__isnull=True) | Q(campaign__ends_at__gt=now))
    if currency is not None:
        queryset = queryset.filter(campaign__currency=currency)
    rows = queryset.order_by("id").values(
        *_UNIT_FIELDS, *KEYS, *(f"campaign__{field}" for field in _CAMPAIGN_FIELDS)
    )
    return [
        EligibleUnit(
            unit_id=row["id"],
            version=row["version"],
            campaign_id=row["campaign_id"],
            advertiser_id=row["campaign__advertiser_id"],
            advertiser_name=row["campaign__advertiser__name"],
            title=row["title"],
            body=row["body"],
            url=row["url"],
            call_to_action=row["call_to_action"],
            context_hints=row["context_hints"],
            targeting=targeting_of(row),
            category=row["category"],
            bid_type=row["bid_type"],
            max_bid_micros=row["max_bid_micros"],
            currency=row["campaign__currency"],
            pacing=row["campaign__pacing"],
            total_budget_micros=row["campaign__total_budget_micros"],
            daily_budget_micros=row["campaign__daily_budget_micros"],
            starts_at=row["campaign__starts_at"],
            ends_at=row["campaign__ends_at"],
        )
        for row in rows
    ]
