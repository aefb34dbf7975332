"""Usage reports: what an agent used (or a provider's content earned), summed up or event by
event, for the organization the actor acts for."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts import services as accounts
from accounts.services import Actor
from licensing import errors
from licensing.models import AnswerRecord, UsageEvent
from licensing.services.acting import agent_id_for, provider_id_for
from licensing.services.metering import UsageEventPage, usage_events_page

GROUPS = ("day", "collection", "document", "provider", "agent", "usage_type")
MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class UsageGroup:
    key: str
    answers: int
    searches: int
    content_fetches: int
    events: int
    units: int
    amount_micros: int


@dataclass(frozen=True)
class UsageSummary:
    since: date
    until: date
    currency: str
    answers: int
    searches: int
    content_fetches: int
    events: int
    amount_micros: int
    groups: dict[str, tuple[UsageGroup, ...]]


def _bounds(since: date | None, until: date | None) -> tuple[date, date]:
    today = timezone.now().date()
    until = until or today
    # A summary reads [since, until + 1 day): both ends stay inside the calendar.
    if until >= date.max or until - date.min < timedelta(days=DEFAULT_DAYS - 1):
        raise errors.ValidationFailed(
            "until is out of range.", details={"until": ["A date between year 1 and 9999."]}
        )
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise errors.ValidationFailed(
            "since is on or before until.", details={"since": ["On or before until."]}
        )
    if (until - since).days >= MAX_DAYS:
        raise errors.ValidationFailed(
            f"A summary covers at most {MAX_DAYS} days.", details={"since": ["Too far back."]}
        )
    return since, until


def _requests_of(kind: str) -> Count:
    return Count("answer_id", distinct=True, filter=Q(answer__kind=kind))


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _usage_owner(
    actor: Actor, role: str, organization_id: uuid.UUID | str | None
) -> dict[str, uuid.UUID]:
    """Return whose usage the actor may read: its agent's uses, or its provider's content's."""
    if role == accounts.AGENT:
        return {"agent_id": agent_id_for(actor, organization_id, reading=True)}
    if role == accounts.PROVIDER:
        return {"provider_id": provider_id_for(actor, organization_id)}
    raise ValueError(f"usage is read as {accounts.AGENT} or {accounts.PROVIDER}, not {role!r}")


def list_usage(
    *,
    actor: Actor,
    role: str = accounts.AGENT,
    limit: int = 100,
    before_id: int | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> UsageEventPage:
    """Return one page of the acting organization's usage events, newest first.

    As an agent (`role`), the uses it made; as a provider, every use of its content.
    """
    owner = _usage_owner(actor, role, organization_id)
    return usage_events_page(**owner, limit=limit, before_id=before_id)


def summarize_usage(
    *,
    actor: Actor,
    role: str = accounts.AGENT,
    since: date | None = None,
    until: date | None = None,
    group_by: tuple[str, ...] = ("day", "collection", "provider"),
    organization_id: uuid.UUID | str | None = None,
) -> UsageSummary:
    """Return the acting organization's usage between two UTC dates (inclusive).

    As an agent (`role`), what it used; as a provider, what its content was used for.
    """
    owner = _usage_owner(actor, role, organization_id)
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise errors.ValidationFailed(
            f"Unknown grouping {unknown[0]!r}.",
            details={"group_by": [f"From {', '.join(GROUPS)}."]},
        )
    since, until = _bounds(since, until)
    events = UsageEvent.objects.filter(
        created_at__gte=_start_of(since), created_at__lt=_start_of(until + timedelta(days=1))
    )
    events = events.filter(**owner)
    measures = {  # each metered request counts once, as the kind it was
        "answers": _requests_of(AnswerRecord.Kind.ANSWER),
        "searches": _requests_of(AnswerRecord.Kind.SEARCH),
        "content_fetches": _requests_of(AnswerRecord.Kind.CONTENT),
        "events": Count("id"),
        "units": Sum("units"),
        "amount_micros": Sum("amount_micros"),
    }
    totals = events.aggregate(**measures)
    columns = {
        "day": TruncDate("created_at", tzinfo=UTC),
        "collection": F("collection_id"),
        "document": F("document_id"),
        "provider": F("provider_id"),
        "agent": F("agent_id"),
        "usage_type": F("usage_type"),
    }
    groups: dict[str, tuple[UsageGroup, ...]] = {}
    for name in group_by:
        # The stubs see only `group_key` in these rows: the measures come in as **kwargs.
        rows: Iterable[Mapping[str, Any]] = (
            events.annotate(group_key=columns[name])
            .values("group_key")
            .annotate(**measures)
            .order_by("group_key")
        )
        groups[name] = tuple(
            UsageGroup(
                key=str(row["group_key"]),
                answers=row["answers"],
                searches=row["searches"],
                content_fetches=row["content_fetches"],
                events=row["events"],
                units=row["units"] or 0,
                amount_micros=row["amount_micros"] or 0,
            )
            for row in rows
        )
    return UsageSummary(
        since=since,
        until=until,
        currency=settings.LICENSING_CURRENCY,
        answers=totals["answers"] or 0,
        searches=totals["searches"] or 0,
        content_fetches=totals["content_fetches"] or 0,
        events=totals["events"] or 0,
        amount_micros=totals["amount_micros"] or 0,
        groups=groups,
    )


# The shares of an answer's attribution weight a provider's sources carried, as buckets:
# (label, least weight in ppm, most weight in ppm), both ends included.
WEIGHT_BUCKETS = (
    ("None (used, not cited)", 0, 0),
    ("Under 25%", 1, 249_999),
    ("25% to 50%", 250_000, 499_999),
    ("50% to 75%", 500_000, 749_999),
    ("75% to 100%", 750_000, 1_000_000),
)


@dataclass(frozen=True)
class WeightBucket:
    label: str
    min_ppm: int
    max_ppm: int
    answers: int


def attribution_shares(
    *,
    actor: Actor,
    since: date | None = None,
    until: date | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> tuple[WeightBucket, ...]:
    """Return how many answers that used the acting provider's content gave its sources, together,
    each share of their attribution weight (WEIGHT_BUCKETS), between two UTC dates (inclusive)."""
    owner = _usage_owner(actor, accounts.PROVIDER, organization_id)
    since, until = _bounds(since, until)
    weights = (
        UsageEvent.objects.filter(
            **owner,
            answer__kind=AnswerRecord.Kind.ANSWER,
            created_at__gte=_start_of(since),
            created_at__lt=_start_of(until + timedelta(days=1)),
        )
        .values("answer_id")
        .annotate(weight=Sum("attribution_weight_ppm"))
        .order_by()
        .values_list("weight", flat=True)
    )
    counts = [0] * len(WEIGHT_BUCKETS)
    for weight in weights.iterator(chunk_size=10_000):
        weight = min(weight or 0, 1_000_000)
        for index, (_, low, high) in enumerate(WEIGHT_BUCKETS):
            if low <= weight <= high:
                counts[index] += 1
                break
    return tuple(
        WeightBucket(label, low, high, count)
        for (label, low, high), count in zip(WEIGHT_BUCKETS, counts, strict=True)
    )
