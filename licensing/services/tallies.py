"""Usage tallies for billing's reports: how often an organization's usage events used, cited
and shared credit, grouped by day, document, agent or provider, counted in SQL.

These take a bare `provider_id` or `agent_id`: billing's reports authorize the organization
first (`accounts.acting_organization`), as metering's callers do.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from licensing.models import AnswerRecord, UsageEvent

TALLY_GROUPS = ("day", "document", "agent", "provider")


@dataclass(frozen=True)
class UsageTally:
    """What one group of usage events (or all of them, key "") counts."""

    key: str  # an ISO day, a document id, an organization id; "" for events of no document
    uses: int  # usage events: one source used in one metered request
    cited_uses: int  # of those, the ones the answer cited
    answers: int  # distinct answers (not searches or content fetches) among them
    attribution_weight_ppm: int  # the events' attribution weights added up
    metered_micros: int  # what metering priced them at (before rating; the ledger has the rest)


def usage_tallies(
    *,
    group: str | None,
    starts_at: datetime,
    ends_at: datetime,
    currency: str,
    provider_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
) -> list[UsageTally]:
    """Return the tallies of a provider's (or an agent's) events in [starts_at, ends_at) in one
    currency, one per group in key order (`group` None: one tally of them all)."""
    if (provider_id is None) == (agent_id is None):
        raise ValueError("tally a provider's usage or an agent's, one of them")
    owner = {"provider_id": provider_id} if provider_id else {"agent_id": agent_id}
    events = UsageEvent.objects.filter(
        **owner, created_at__gte=starts_at, created_at__lt=ends_at, currency=currency
    )
    measures = {
        "uses": Count("id"),
        "cited_uses": Count("id", filter=Q(cited=True)),
        "answers": Count(
            "answer_id", distinct=True, filter=Q(answer__kind=AnswerRecord.Kind.ANSWER)
        ),
        "weight": Sum("attribution_weight_ppm"),
        "metered": Sum("amount_micros"),
    }
    if group is None:
        return [_tally("", events.aggregate(**measures))]
    if group not in TALLY_GROUPS:
        raise ValueError(f"usage is tallied by {', '.join(TALLY_GROUPS)}, not {group!r}")
    columns = {
        "day": TruncDate("created_at", tzinfo=UTC),
        "document": F("document_id"),
        "agent": F("agent_id"),
        "provider": F("provider_id"),
    }
    # The stubs see only `group_key` in these rows: the measures come in as **kwargs.
    rows: Iterable[Mapping[str, Any]] = (
        events.annotate(group_key=columns[group])
        .values("group_key")
        .annotate(**measures)
        .order_by("group_key")
    )
    return [_tally("" if row["group_key"] is None else str(row["group_key"]), row) for row in rows]


def _tally(key: str, row: Mapping[str, Any]) -> UsageTally:
    return UsageTally(
        key=key,
        uses=row["uses"] or 0,
        cited_uses=row["cited_uses"] or 0,
        answers=row["answers"] or 0,
        attribution_weight_ppm=row["weight"] or 0,
        metered_micros=row["metered"] or 0,
    )


def usage_documents_query(*, provider_id: uuid.UUID) -> tuple[str, tuple[object, ...]]:
    """Return the SQL and parameters of one SELECT of (id, document_id) over a provider's
    usage events, for billing to join its ledger entries to the documents they paid for
    inside the database."""
    rows = UsageEvent.objects.filter(provider_id=provider_id).order_by().values("id", "document_id")
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)
