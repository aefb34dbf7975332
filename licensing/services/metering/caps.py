"""The agreements a batch charges: resolved, locked in id order, and kept within their caps."""

import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models.options import Options

from licensing.models import LicenseAgreement, OfferVersion
from licensing.services.agreements import ensure_agreement
from licensing.services.metering.uses import Resolved, Row, UseRecord

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


def _columns(meta: "Options[Any]") -> dict[str, str]:
    """Return the column of each of a model's concrete fields, by attribute name."""
    return {f.attname: f.column for f in meta.concrete_fields if f.column is not None}


@functools.cache
def _lock_sql() -> str:
    agreement, version = LicenseAgreement._meta, OfferVersion._meta
    agreement_columns, version_columns = _columns(agreement), _columns(version)
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"v.{quote(version_columns[name.split('__')[1]])}"
        if name.startswith("offer_version__")
        else f"a.{quote(agreement_columns[name])}"
        for name in _LOCKED_FIELDS
    )
    offer_version = quote(agreement_columns["offer_version_id"])
    return (
        f"SELECT {columns} FROM {quote(agreement.db_table)} AS a "  # noqa: S608
        f"JOIN {quote(version.db_table)} AS v ON v.id = a.{offer_version} "
        "WHERE a.id = ANY(%s::uuid[]) ORDER BY a.id FOR UPDATE OF a"
    )


def _lock_agreements(agreement_ids: list[str]) -> list[Row]:
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


def _resolve_agreements(records: list[UseRecord]) -> Resolved:
    """Map agent -> offer version -> agreement id, creating auto-accept agreements."""
    resolved: Resolved = defaultdict(dict)
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


@dataclass
class _Admission:
    """Which answers of a batch are recorded, and what they add to each agreement's spend."""

    recorded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    over_cap: list[str] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    spend: defaultdict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))


def _admit_within_caps(
    priced: list[tuple[Row, list[Row]]], new_ids: set[str], agreements: dict[uuid.UUID, Row]
) -> _Admission:
    """Admit each newly inserted answer whose charges keep every agreement within its cap.

    A request id already recorded (or met earlier in the batch) is a duplicate; an answer that
    would pass a cap is refused whole. An admitted answer's events are tied to its row.
    """
    admitted = _Admission()
    spend = admitted.spend
    seen: set[str] = set()
    for answer, events in priced:
        request_id = answer["request_id"]
        if request_id not in new_ids or request_id in seen:
            admitted.duplicates.append(request_id)
            continue
        seen.add(request_id)
        extra: defaultdict[uuid.UUID, int] = defaultdict(int)
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
            admitted.over_cap.append(request_id)
            continue
        for agreement_id, amount in extra.items():
            spend[agreement_id] += amount
        for event in events:
            event["answer_id"] = answer["id"]
        admitted.events.extend(events)
        admitted.recorded.append(request_id)
    return admitted
