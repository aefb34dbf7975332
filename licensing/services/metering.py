"""Usage metering: one AnswerRecord per request id and one immutable UsageEvent per source.

Recording is exactly-once: the answer row is inserted with `ON CONFLICT DO NOTHING RETURNING`,
so a retried or duplicated delivery inserts nothing and charges nothing, even when two arrive at
once. Spend caps hold because the agreements a batch charges are locked before it is priced.

On PostgreSQL the hot statements are written by hand (array parameters, COPY) to reach tens of
thousands of events a second; their table and column names come from model metadata only.
"""

import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from licensing import errors
from licensing.models import AnswerRecord, LicenseAgreement, OfferVersion, UsageEvent
from licensing.services.agreements import ensure_agreement
from licensing.services.terms import price_use

INSERT_BATCH = 2000


@dataclass(frozen=True)
class SourceUse:
    """One source used in an answer, under the terms the agent had for its collection."""

    collection_id: uuid.UUID
    provider_id: uuid.UUID
    offer_version_id: int
    agreement_id: uuid.UUID | None
    document_id: int | None = None
    chunk_id: int | None = None
    tokens: int = 0
    cited: bool = False
    attribution_weight_ppm: int = 0


@dataclass(frozen=True)
class UseRecord:
    request_id: str
    agent_id: uuid.UUID
    usage_type: str
    sources: tuple[SourceUse, ...]
    api_key_id: uuid.UUID | None = None
    created_at: datetime | None = None
    kind: str = ""  # answer, search or content; by default from the usage type


def _default_kind(usage_type: str) -> str:
    return AnswerRecord.Kind.SEARCH if usage_type == "search" else AnswerRecord.Kind.ANSWER


@dataclass(frozen=True)
class MeteredEvent:
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    document_id: int | None
    chunk_id: int | None
    agreement_id: uuid.UUID
    offer_version_id: int
    payment_type: str
    price_unit: str
    units: int
    unit_price_micros: int
    amount_micros: int
    currency: str
    attribution_weight_ppm: int
    cited: bool


@dataclass(frozen=True)
class MeteredAnswer:
    answer_id: uuid.UUID
    request_id: str
    created: bool
    total_micros: int
    currency: str
    events: tuple[MeteredEvent, ...]


@dataclass(frozen=True)
class BatchResult:
    recorded: tuple[str, ...]
    duplicates: tuple[str, ...]
    over_cap: tuple[str, ...]


def _event_key(request_id: str, index: int, source: SourceUse) -> str:
    target = source.chunk_id or source.document_id or source.collection_id
    return f"{request_id}:{index}:{target}"


_ANSWER_PG_TYPES = {
    "id": "uuid",
    "request_id": "text",
    "agent_id": "uuid",
    "api_key_id": "uuid",
    "usage_type": "text",
    "kind": "text",
    "sources_count": "integer",
    "total_micros": "bigint",
    "currency": "text",
    "created_at": "timestamptz",
}


def _insert_answers_returning_new(rows: list[dict]) -> set[str]:
    """Insert answer rows, skipping request ids already recorded; return the new ones."""
    if not rows:
        return set()
    names = list(_ANSWER_PG_TYPES)  # the answer dicts' keys, which are the table's columns
    table = connection.ops.quote_name(AnswerRecord._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(n) for n in names)
    conflict = "ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter per column: the statement stays small whatever the batch size.
            arrays = ", ".join(f"%s::{_ANSWER_PG_TYPES[n]}[]" for n in names)
            sql = f"INSERT INTO {table} ({column_sql}) SELECT * FROM unnest({arrays}) {conflict}"  # noqa: S608
            cursor.execute(sql, [[row[n] for row in rows] for n in names])
            return {r[0] for r in cursor.fetchall()}
        fields = [
            AnswerRecord._meta.get_field(n.removesuffix("_id"))
            if n.endswith("_id") and n != "request_id"
            else AnswerRecord._meta.get_field(n)
            for n in names
        ]
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, len(rows), 200):
            chunk = rows[start : start + 200]
            params = [
                field.get_db_prep_save(row[name], connection)
                for row in chunk
                for name, field in zip(names, fields, strict=True)
            ]
            values = ", ".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {table} ({column_sql}) VALUES {values} {conflict}"  # noqa: S608
            cursor.execute(sql, params)
            inserted.update(r[0] for r in cursor.fetchall())
    return inserted


def _add_spend(charged: dict) -> None:
    """Add each agreement's charge to what it has spent, in one statement on PostgreSQL."""
    if not charged:
        return
    if connection.vendor != "postgresql":
        for agreement_id, amount in charged.items():
            LicenseAgreement.objects.filter(id=agreement_id).update(
                spent_micros=F("spent_micros") + amount
            )
        return
    table = connection.ops.quote_name(LicenseAgreement._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET spent_micros = a.spent_micros + v.amount "  # noqa: S608
            "FROM unnest(%s::uuid[], %s::bigint[]) AS v(id, amount) WHERE a.id = v.id",
            [list(charged), list(charged.values())],
        )


def _insert_events(events: list[dict]) -> None:
    """Insert event rows: COPY on PostgreSQL (no model objects on the hot path), else bulk."""
    if not events:
        return
    if connection.vendor != "postgresql":
        UsageEvent.objects.bulk_create(
            [UsageEvent(**event) for event in events], batch_size=INSERT_BATCH
        )
        return
    names = list(events[0])
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in names)
    sql = f"COPY {table} ({column_sql}) FROM STDIN"
    row = itemgetter(*names)
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for event in events:
            copy.write_row(row(event))


_LOCKED_FIELDS = (
    "id",
    "spend_cap_micros",
    "spent_micros",
    "offer_version_id",
    "offer_version__payment_type",
    "offer_version__price_unit",
    "offer_version__price_micros",
    "offer_version__currency",
)


@functools.cache
def _lock_sql() -> str:
    agreement, version = LicenseAgreement._meta, OfferVersion._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"v.{quote(version.get_field(name.split('__')[1]).column)}"
        if name.startswith("offer_version__")
        else f"a.{quote(agreement.get_field(name.removesuffix('_id')).column)}"
        for name in _LOCKED_FIELDS
    )
    offer_version = quote(agreement.get_field("offer_version").column)
    return (
        f"SELECT {columns} FROM {quote(agreement.db_table)} AS a "  # noqa: S608
        f"JOIN {quote(version.db_table)} AS v ON v.id = a.{offer_version} "
        "WHERE a.id = ANY(%s::uuid[]) ORDER BY a.id FOR UPDATE OF a"
    )


def _lock_agreements(agreement_ids: list[str]) -> list[dict]:
    """Lock the agreements a batch charges, in id order, and read their accepted terms."""
    if connection.vendor != "postgresql":
        return list(
            LicenseAgreement.objects.select_for_update(of=("self",))
            .filter(id__in=agreement_ids)
            .order_by("id")
            .values(*_LOCKED_FIELDS)
        )
    # By hand on PostgreSQL: one array parameter, and no ORM compilation on every answer.
    sql = _lock_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [agreement_ids])
        return [dict(zip(_LOCKED_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def _resolve_agreements(records: list[UseRecord]) -> dict:
    """Map agent -> offer version -> agreement id, creating auto-accept agreements."""
    resolved: dict = defaultdict(dict)
    for record in records:
        agent_agreements = resolved[record.agent_id]
        for source in record.sources:
            offer_version_id = source.offer_version_id
            if offer_version_id in agent_agreements:
                continue
            if source.agreement_id is not None:
                agent_agreements[offer_version_id] = source.agreement_id
            else:
                agent_agreements[offer_version_id] = ensure_agreement(
                    agent_id=record.agent_id, offer_version_id=offer_version_id
                )
    return resolved


def record_uses(records: list[UseRecord]) -> BatchResult:
    """Meter a batch of uses exactly once each; uses that would pass a spend cap are refused."""
    return _record_batch(records)[0]


def _record_batch(records: list[UseRecord]) -> tuple[BatchResult, dict]:
    """Meter the batch; also return the rows written, by request id."""
    if not records:
        return BatchResult((), (), ()), {}
    resolved = _resolve_agreements(records)
    now = timezone.now()
    with transaction.atomic():
        agreement_ids = sorted(
            {str(a) for by_version in resolved.values() for a in by_version.values()}
        )
        agreements = {row["id"]: row for row in _lock_agreements(agreement_ids)}
        # The agreement's accepted version sets the price, whatever the offer says now; an
        # agent's agreement for an offer version is on that version, so prices are memoised
        # per (version, tokens, cited).
        terms = {
            agreement_id: (
                agreement_id,
                row["offer_version__payment_type"],
                row["offer_version__price_unit"],
                row["offer_version__price_micros"],
                row["offer_version__currency"],
                row["offer_version_id"],
            )
            for agreement_id, row in agreements.items()
        }
        by_agent = {
            agent_id: {version: terms[agreement] for version, agreement in by_version.items()}
            for agent_id, by_version in resolved.items()
        }
        prices: dict = {}
        priced = []
        for record in records:
            agent_id = record.agent_id
            agent_agreements = by_agent[agent_id]
            usage_type = record.usage_type
            request_id = record.request_id
            created_at = record.created_at or now
            events = []
            total = 0
            for index, source in enumerate(record.sources):
                agreement_id, payment_type, price_unit, price_micros, currency, version_id = (
                    agent_agreements[source.offer_version_id]
                )
                price_key = (version_id, source.tokens, source.cited)
                price = prices.get(price_key)
                if price is None:
                    price = prices[price_key] = price_use(
                        payment_type=payment_type,
                        price_unit=price_unit,
                        price_micros=price_micros,
                        tokens=source.tokens,
                        cited=source.cited,
                    )
                units, amount = price
                total += amount
                events.append(
                    {
                        "agent_id": agent_id,
                        "provider_id": source.provider_id,
                        "collection_id": source.collection_id,
                        "document_id": source.document_id,
                        "chunk_id": source.chunk_id,
                        "agreement_id": agreement_id,
                        "offer_version_id": version_id,
                        "usage_type": usage_type,
                        "payment_type": payment_type,
                        "price_unit": price_unit,
                        "units": units,
                        "unit_price_micros": price_micros,
                        "amount_micros": amount,
                        "currency": currency,
                        "attribution_weight_ppm": source.attribution_weight_ppm,
                        "cited": source.cited,
                        "idempotency_key": _event_key(request_id, index, source),
                        "created_at": created_at,
                    }
                )
            answer = {
                "id": uuid.uuid4(),
                "request_id": request_id,
                "agent_id": agent_id,
                "api_key_id": record.api_key_id,
                "usage_type": usage_type,
                "kind": record.kind or _default_kind(usage_type),
                "sources_count": len(events),
                "total_micros": total,
                "currency": events[0]["currency"] if events else "USD",
                "created_at": created_at,
            }
            priced.append((answer, events))

        new_ids = _insert_answers_returning_new([answer for answer, _ in priced])
        spend = defaultdict(int)
        recorded, over_cap, duplicates, to_insert, refused_ids = [], [], [], [], []
        seen = set()
        for answer, events in priced:
            request_id = answer["request_id"]
            if request_id not in new_ids or request_id in seen:
                duplicates.append(request_id)
                continue
            seen.add(request_id)
            extra = defaultdict(int)
            if answer["total_micros"]:  # a free answer charges nothing and passes no cap
                for event in events:
                    if event["amount_micros"]:
                        extra[event["agreement_id"]] += event["amount_micros"]
            if any(
                agreements[a]["spend_cap_micros"] is not None
                and agreements[a]["spent_micros"] + spend[a] + amount
                > agreements[a]["spend_cap_micros"]
                for a, amount in extra.items()
                if amount
            ):
                over_cap.append(request_id)
                refused_ids.append(request_id)
                continue
            for agreement_id, amount in extra.items():
                spend[agreement_id] += amount
            for event in events:
                event["answer_id"] = answer["id"]
            to_insert.extend(events)
            recorded.append(request_id)
        if refused_ids:
            AnswerRecord.objects.filter(request_id__in=refused_ids).delete()
        _insert_events(to_insert)
        _add_spend({a: amount for a, amount in spend.items() if amount})
    written = {answer["request_id"]: (answer, events) for answer, events in priced}
    return BatchResult(tuple(recorded), tuple(duplicates), tuple(over_cap)), {
        request_id: written[request_id] for request_id in recorded
    }


_EVENT_FIELDS = (
    "collection_id",
    "provider_id",
    "document_id",
    "chunk_id",
    "agreement_id",
    "offer_version_id",
    "payment_type",
    "price_unit",
    "units",
    "unit_price_micros",
    "amount_micros",
    "currency",
    "attribution_weight_ppm",
    "cited",
)


def _metered_from_rows(answer: dict, events: list[dict]) -> MeteredAnswer:
    return MeteredAnswer(
        answer_id=answer["id"],
        request_id=answer["request_id"],
        created=True,
        total_micros=answer["total_micros"],
        currency=answer["currency"],
        events=tuple(MeteredEvent(**{f: e[f] for f in _EVENT_FIELDS}) for e in events),
    )


def _metered(answer: AnswerRecord, created: bool) -> MeteredAnswer:
    events = tuple(
        MeteredEvent(
            collection_id=e.collection_id,
            provider_id=e.provider_id,
            document_id=e.document_id,
            chunk_id=e.chunk_id,
            agreement_id=e.agreement_id,
            offer_version_id=e.offer_version_id,
            payment_type=e.payment_type,
            price_unit=e.price_unit,
            units=e.units,
            unit_price_micros=e.unit_price_micros,
            amount_micros=e.amount_micros,
            currency=e.currency,
            attribution_weight_ppm=e.attribution_weight_ppm,
            cited=e.cited,
        )
        for e in answer.events.order_by("id")
    )
    return MeteredAnswer(
        answer_id=answer.id,
        request_id=answer.request_id,
        created=created,
        total_micros=answer.total_micros,
        currency=answer.currency,
        events=events,
    )


def record_use(record: UseRecord) -> MeteredAnswer:
    """Meter one answer exactly once; raise SpendCapReached if it would pass a cap."""
    result, written = _record_batch([record])
    if result.over_cap:
        raise errors.SpendCapReached(
            "This use would pass an agreement's spend cap.",
            details={"request_id": record.request_id},
        )
    if record.request_id in written:
        return _metered_from_rows(*written[record.request_id])
    answer = AnswerRecord.objects.get(request_id=record.request_id)
    return _metered(answer, created=False)


def is_metered(*, request_id: str) -> bool:
    """Return whether an answer was metered under this request id."""
    return AnswerRecord.objects.filter(request_id=request_id).exists()


def void_use(*, request_id: str) -> bool:
    """Undo the metering of an answer that was never delivered; return whether one was found.

    Its events are deleted and their amounts given back to the agreements' spend, so a
    retry under the same request id is metered afresh.
    """
    with transaction.atomic():
        answer = AnswerRecord.objects.filter(request_id=request_id).first()
        if answer is None:
            return False
        charged: dict = defaultdict(int)
        for agreement_id, amount in answer.events.values_list("agreement_id", "amount_micros"):
            charged[agreement_id] += amount
        _lock_agreements(sorted(str(a) for a in charged))
        for agreement_id, amount in charged.items():
            if amount:
                LicenseAgreement.objects.filter(id=agreement_id).update(
                    spent_micros=F("spent_micros") - amount
                )
        answer.events.all().delete()
        answer.delete()
    return True


def settle_use(record: UseRecord) -> MeteredAnswer:
    """Replace an answer metered before it was written with its final uses, in one transaction.

    A streamed answer is metered when its first text leaves, with every planned source at
    its quoted price; once the text is complete, which sources it cited and their weights
    are known, and this records them instead. Metering that never happened is done now.
    """
    with transaction.atomic():
        void_use(request_id=record.request_id)
        return record_use(record)


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
    *, agent_id=None, provider_id=None, limit: int = 100, before_id: int | None = None
) -> list[UsageEventInfo]:
    """Return usage events newest first, seen by the agent that used or the provider used."""
    page = usage_events_page(
        agent_id=agent_id, provider_id=provider_id, limit=limit, before_id=before_id
    )
    return list(page.results)


def usage_events_page(
    *, agent_id=None, provider_id=None, limit: int = 100, before_id: int | None = None
) -> UsageEventPage:
    """Return one page of usage events newest first, and where the next page starts."""
    if (agent_id is None) == (provider_id is None):
        raise ValueError("name exactly one of agent_id and provider_id")
    limit = max(1, min(limit, USAGE_PAGE_MAX))
    rows = UsageEvent.objects.select_related("answer", "offer_version")
    rows = rows.filter(agent_id=agent_id) if agent_id else rows.filter(provider_id=provider_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    rows = list(rows.order_by("-id")[: limit + 1])  # one more tells whether a next page exists
    more = len(rows) > limit
    rows = rows[:limit]
    return UsageEventPage(
        results=tuple(_usage_event_info(e) for e in rows),
        next_before_id=rows[-1].id if more else None,
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
