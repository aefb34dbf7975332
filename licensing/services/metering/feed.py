"""What billing reads of metering: the usage events that move money, in id order, up to a
mark below which every event is committed, and the revenue-share uses of a period."""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum

from licensing.models import PaymentType, UsageEvent

# What rating reads of an event, with the accepted terms and the answer's declared revenue:
# (the column's name in `ratable_usage_query`'s SELECT, the field it is read from).
_RATABLE = (
    ("id", "id"),
    ("created_at", "created_at"),
    ("agent_id", "agent_id"),
    ("provider_id", "provider_id"),
    ("agreement_id", "agreement_id"),
    ("payment_type", "payment_type"),
    ("amount_micros", "amount_micros"),
    ("currency", "currency"),
    ("attribution_weight_ppm", "attribution_weight_ppm"),
    ("revenue_micros", "answer__revenue_micros"),
    ("answer_currency", "answer__currency"),
    ("revenue_share_bps", "offer_version__revenue_share_bps"),
    ("revenue_share_min_micros", "offer_version__revenue_share_min_micros"),
)
# The columns of `ratable_usage_query`, in order.
RATABLE_COLUMNS = tuple(column for column, _ in _RATABLE)
_RATABLE_FIELDS = tuple(field for _, field in _RATABLE)


@dataclass(frozen=True)
class RatableUse:
    """One usage event that may move money: a priced use, or a revenue-share use whose
    answer declared its revenue or whose offer sets a minimum per use."""

    id: int
    created_at: datetime
    agent_id: uuid.UUID
    provider_id: uuid.UUID
    agreement_id: uuid.UUID
    payment_type: str
    amount_micros: int
    currency: str
    attribution_weight_ppm: int
    revenue_micros: int | None  # the answer's declared revenue, in the event's currency
    revenue_share_bps: int
    revenue_share_min_micros: int


def _ratable() -> Q:
    return Q(payment_type=PaymentType.USE, amount_micros__gt=0) | Q(
        Q(answer__revenue_micros__isnull=False) | Q(offer_version__revenue_share_min_micros__gt=0),
        payment_type=PaymentType.REVENUE_SHARE,
    )


def usage_high_water_mark() -> int:
    """Return an event id at or below which every usage event is committed (or deleted).

    On PostgreSQL ids are taken before their transactions commit, so a later id can be visible
    while an earlier one is not; a SHARE lock waits for the transactions writing events to end
    (holding off new ones for that moment) before the largest id is read.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(UsageEvent._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
        mark: int | None = UsageEvent.objects.aggregate(mark=Max("id"))["mark"]
    return mark or 0


def usage_window_end(*, after_id: int, upto_id: int, size: int) -> int:
    """Return the last id of a window of `size` event ids that starts at the first event after
    `after_id` (at most `upto_id`; `upto_id` when there is none).

    A reader that goes window by window reads a bounded id range each time, whatever the
    planner believes of the newest rows (their statistics lag behind the inserts, and a plain
    `ORDER BY id LIMIT n` over them may be planned as a scan of every row up to the mark).
    """
    first = (
        UsageEvent.objects.filter(id__gt=after_id, id__lte=upto_id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    return upto_id if first is None else min(upto_id, first + size - 1)


def _ratable_rows(
    *, after_id: int, upto_id: int, limit: int
) -> QuerySet[UsageEvent, tuple[Any, ...]]:
    """Return up to `limit` ratable events with after_id < id <= upto_id, by id, as rows of
    _RATABLE_FIELDS."""
    return (
        UsageEvent.objects.filter(id__gt=after_id, id__lte=upto_id)
        .filter(_ratable())
        .order_by("id")
        .values_list(*_RATABLE_FIELDS)[:limit]
    )


def ratable_usage(*, after_id: int, upto_id: int, limit: int) -> list[RatableUse]:
    """Return up to `limit` events that may move money with after_id < id <= upto_id, by id."""
    rows = _ratable_rows(after_id=after_id, upto_id=upto_id, limit=limit)
    if connection.vendor == "postgresql":  # the ORM's SQL, without its per-row conversions
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            # psycopg's own (C) timestamp loader: the session's time zone is UTC already, and
            # Django's Python loader costs more than the rest of a row.
            cursor.cursor.adapters.register_loader("timestamptz", _timestamptz_loader())
            cursor.execute(sql, params)
            return [_ratable_use(row) for row in cursor.fetchall()]
    return [_ratable_use(row) for row in rows]


def ratable_usage_query(
    *, after_id: int, upto_id: int, limit: int
) -> tuple[str, tuple[object, ...]]:
    """Return the SQL and parameters of `ratable_usage` as one SELECT of RATABLE_COLUMNS (by
    id), for a caller that rates events inside the database without reading them out.

    `revenue_micros` is the answer's declared revenue in `answer_currency`; it counts only
    where that is the event's currency.
    """
    rows = _ratable_rows(after_id=after_id, upto_id=upto_id, limit=limit)
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)


@functools.cache
def _timestamptz_loader() -> type:
    import psycopg

    oid = psycopg.postgres.types["timestamptz"].oid
    loader: type = psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT)  # type: ignore[assignment]
    return loader


def _ratable_use(row: tuple) -> RatableUse:  # type: ignore[type-arg]
    (
        event_id,
        created_at,
        agent_id,
        provider_id,
        agreement_id,
        payment_type,
        amount,
        currency,
        weight,
        revenue,
        answer_currency,
        bps,
        minimum,
    ) = row
    return RatableUse(
        id=event_id,
        created_at=created_at,
        agent_id=agent_id,
        provider_id=provider_id,
        agreement_id=agreement_id,
        payment_type=payment_type,
        amount_micros=amount,
        currency=currency,
        attribution_weight_ppm=weight,
        revenue_micros=revenue if answer_currency == currency else None,
        revenue_share_bps=bps,
        revenue_share_min_micros=minimum,
    )


def ratable_usage_ids(*, after_id: int, upto_id: int) -> list[int]:
    """Return the ids of every event that may move money with after_id < id <= upto_id."""
    rows = UsageEvent.objects.filter(id__gt=after_id, id__lte=upto_id).filter(_ratable())
    return list(rows.order_by("id").values_list("id", flat=True))


def existing_usage_event_ids(*, ids: list[int]) -> set[int]:
    """Return which of these usage event ids still exist (metering voids undelivered ones)."""
    if not ids:
        return set()
    return set(UsageEvent.objects.filter(id__in=ids).values_list("id", flat=True))


@dataclass(frozen=True)
class RevenueShareUse:
    id: int
    created_at: datetime
    provider_id: uuid.UUID
    agreement_id: uuid.UUID
    attribution_weight_ppm: int
    revenue_share_bps: int
    revenue_share_min_micros: int


def _period_uses(
    agent_id: uuid.UUID,
    start: datetime,
    end: datetime,
    currency: str,
    agreement_id: uuid.UUID | None,
) -> Q:
    scope = Q(
        agent_id=agent_id,
        payment_type=PaymentType.REVENUE_SHARE,
        currency=currency,
        created_at__gte=start,
        created_at__lt=end,
        answer__revenue_micros__isnull=True,  # a declared revenue was shared already
    )
    if agreement_id is not None:
        scope &= Q(agreement_id=agreement_id)
    return scope


def revenue_share_weight(
    *,
    agent_id: uuid.UUID,
    start: datetime,
    end: datetime,
    currency: str,
    agreement_id: uuid.UUID | None = None,
) -> tuple[int, int]:
    """Return (uses, total attribution weight in ppm) of an agent's revenue-share uses in
    [start, end) whose answers declared no revenue (optionally under one agreement)."""
    scope = _period_uses(agent_id, start, end, currency, agreement_id)
    found = UsageEvent.objects.filter(scope).aggregate(
        uses=Count("id"), weight=Sum("attribution_weight_ppm")
    )
    return int(found["uses"] or 0), int(found["weight"] or 0)


def revenue_share_uses(
    *,
    agent_id: uuid.UUID,
    start: datetime,
    end: datetime,
    currency: str,
    agreement_id: uuid.UUID | None = None,
    after_id: int = 0,
    limit: int = 5000,
) -> list[RevenueShareUse]:
    """Return a page (by id, after `after_id`) of the uses `revenue_share_weight` counts."""
    scope = _period_uses(agent_id, start, end, currency, agreement_id)
    rows = (
        UsageEvent.objects.filter(scope, id__gt=after_id)
        .order_by("id")
        .values_list(
            "id",
            "created_at",
            "provider_id",
            "agreement_id",
            "attribution_weight_ppm",
            "offer_version__revenue_share_bps",
            "offer_version__revenue_share_min_micros",
        )[:limit]
    )
    return [RevenueShareUse(*row) for row in rows]
