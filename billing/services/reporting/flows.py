"""What an advertiser spent from its prepaid funds, and what the platform took, by day or by
kind of transaction, read from the ledger.

An advertiser's spend is what its `advertiser_prepaid` account was debited for ad revenue (net
of reversals); what was added is the rest, net: top-ups and credits less refunds. It reads the
ledger's accounts, so it works whatever the ads app records beside them. The platform's revenue
is what its `platform_revenue` account was credited, net of reversals: the take on licence
charges and its share of ad revenue. A reversal counts under the kind it reverses.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from accounts import services as accounts
from billing.models import Purpose, Transaction
from billing.services.reporting.common import (
    NO_KEY,
    ReportRange,
    Sums,
    account_ids_of,
    by_day,
    by_kind,
    check_group,
    entries_of,
    kind_label,
    kinds_but,
    report_currency,
    report_range,
    sums_by,
    total_of,
)

FLOW_GROUPS = ("day", "kind")
SPENDING = Transaction.Kind.AD_REVENUE


@dataclass(frozen=True)
class SpendRow:
    key: str  # the ISO day or the kind of transaction
    label: str
    charges: int  # ad charges (and their reversals)
    spent_micros: int
    added_micros: int  # top-ups and credits, less refunds


@dataclass(frozen=True)
class SpendReport:
    organization_id: uuid.UUID
    group: str
    since: date
    until: date
    currency: str
    rows: tuple[SpendRow, ...]
    total: SpendRow


@dataclass(frozen=True)
class RevenueRow:
    key: str  # the ISO day or the kind of transaction
    label: str
    transactions: int
    revenue_micros: int


@dataclass(frozen=True)
class RevenueReport:
    group: str
    since: date
    until: date
    currency: str
    rows: tuple[RevenueRow, ...]
    total: RevenueRow


def _keys(group: str, span: ReportRange, found: set[str]) -> list[str]:
    return [d.isoformat() for d in span.days()] if group == "day" else sorted(found)


def advertiser_spend(
    *,
    actor: accounts.Actor,
    group: str = "day",
    since: date | None = None,
    until: date | None = None,
    currency: str | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> SpendReport:
    """Return what the acting advertiser spent and added per day or kind of transaction."""
    advertiser = accounts.acting_organization(
        actor=actor,
        role=accounts.ADVERTISER,
        scope=accounts.BILLING,
        organization_id=organization_id,
    )
    check_group(group, FLOW_GROUPS)
    span = report_range(since, until)
    currency = report_currency(currency)
    prepaid = account_ids_of(
        organization_id=advertiser.id, purposes=(Purpose.ADVERTISER_PREPAID,), currency=currency
    )
    spent_entries = entries_of(prepaid, span, (SPENDING,))
    added_entries = entries_of(prepaid, span, kinds_but(SPENDING))
    key = by_day if group == "day" else by_kind
    spent, added = sums_by(spent_entries, key), sums_by(added_entries, key)

    def row(key: str, label: str, spend: Sums | None, add: Sums | None) -> SpendRow:
        return SpendRow(
            key=key,
            label=label,
            charges=spend.transactions if spend else 0,
            spent_micros=spend.amount_micros if spend else 0,
            added_micros=-add.amount_micros if add else 0,
        )

    keys = _keys(group, span, set(spent) | set(added))
    return SpendReport(
        organization_id=advertiser.id,
        group=group,
        since=span.since,
        until=span.until,
        currency=currency,
        rows=tuple(
            row(k, k if group == "day" else kind_label(k), spent.get(k), added.get(k)) for k in keys
        ),
        total=row(NO_KEY, "Total", total_of(spent_entries), total_of(added_entries)),
    )


def platform_revenue(
    *,
    actor: accounts.Actor,
    group: str = "day",
    since: date | None = None,
    until: date | None = None,
    currency: str | None = None,
) -> RevenueReport:
    """Return what the platform took per day or kind of transaction (operators only)."""
    accounts.require_operator(user_id=actor.user_id if actor.api_key_id is None else None)
    check_group(group, FLOW_GROUPS)
    span = report_range(since, until)
    currency = report_currency(currency)
    revenue = account_ids_of(
        organization_id=None, purposes=(Purpose.PLATFORM_REVENUE,), currency=currency
    )
    entries = entries_of(revenue, span, kinds_but())
    found = sums_by(entries, by_day if group == "day" else by_kind)

    def row(key: str, label: str, sums: Sums | None) -> RevenueRow:
        return RevenueRow(
            key=key,
            label=label,
            transactions=sums.transactions if sums else 0,
            revenue_micros=-sums.amount_micros if sums else 0,
        )

    return RevenueReport(
        group=group,
        since=span.since,
        until=span.until,
        currency=currency,
        rows=tuple(
            row(k, k if group == "day" else kind_label(k), found.get(k))
            for k in _keys(group, span, set(found))
        ),
        total=row(NO_KEY, "Total", total_of(entries)),
    )
