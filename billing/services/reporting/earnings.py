"""A provider's earnings by day, document or agent: its uses and attribution (from licensing's
usage events) beside what it earned (from the ledger).

Earned is what the provider's payable account was credited, net: every entry on it except
payouts and their reversals, so charges of uses, revenue shares, revenue reports,
subscriptions, purchases and ad revenue, less any of them reversed. That is the charge less the
platform's take, as rating posted it; for a month it equals the payable account's credits on
the month's statement less its debits other than payouts (with no reversal in the month: the
credits). A use is earned when it is rated, so a day's uses may show before its earnings do.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from accounts import services as accounts
from billing.models import Entry, Purpose, Transaction
from billing.services.reporting.common import (
    DEFAULT_ROWS,
    NO_KEY,
    GroupedReport,
    ReportRange,
    Sums,
    account_ids_of,
    by_day,
    by_other_party,
    check_group,
    check_limit,
    entries_of,
    kinds_but,
    report_currency,
    report_range,
    sums_by,
)
from catalog import services as catalog
from licensing import services as licensing

EARNINGS_GROUPS = ("day", "document", "agent")
AGENT_PURPOSES = (Purpose.AGENT_WALLET, Purpose.AGENT_RECEIVABLE, Purpose.AGENT_PAYABLE)
# Every kind that moves the payable account but payouts (and payouts undone).
EARNING_KINDS = kinds_but(Transaction.Kind.PAYOUT)


@dataclass(frozen=True)
class EarningsRow:
    key: str  # the ISO day, the document's id or the agent's; "" for what names none
    label: str
    uses: int
    cited_uses: int
    answers: int
    attribution_weight_ppm: int  # the uses' weights added up: answers' worth of credit, in ppm
    attribution_share_ppm: int  # the average share of an answer it grounded (weight / answers)
    transactions: int
    earned_micros: int


@dataclass(frozen=True)
class EarningsReport(GroupedReport[EarningsRow]):
    """A provider's uses, attribution and earnings per day, document or agent."""


def provider_earnings(
    *,
    actor: accounts.Actor,
    group: str = "day",
    since: date | None = None,
    until: date | None = None,
    currency: str | None = None,
    limit: int = DEFAULT_ROWS,
    organization_id: uuid.UUID | str | None = None,
) -> EarningsReport:
    """Return the acting provider's uses and earnings per day (every day of the range, oldest
    first), document or agent (most earned first, the first `limit`)."""
    provider = accounts.acting_organization(
        actor=actor, role=accounts.PROVIDER, scope=accounts.BILLING, organization_id=organization_id
    )
    check_group(group, EARNINGS_GROUPS)
    check_limit(limit)
    span = report_range(since, until)
    currency = report_currency(currency)
    accounts_ = account_ids_of(
        organization_id=provider.id, purposes=(Purpose.PROVIDER_PAYABLE,), currency=currency
    )
    entries = entries_of(accounts_, span, EARNING_KINDS)
    if group == "document":
        money = _by_document(accounts_, span, provider.id)
    else:
        key = by_day if group == "day" else by_other_party(AGENT_PURPOSES)
        money = sums_by(entries, key)
    tally = {"day": "day", "document": "document", "agent": "agent"}[group]
    usage = {
        t.key: t
        for t in licensing.usage_tallies(
            provider_id=provider.id,
            group=tally,
            starts_at=span.starts_at,
            ends_at=span.ends_at,
            currency=currency,
        )
    }
    (all_usage,) = licensing.usage_tallies(
        provider_id=provider.id,
        group=None,
        starts_at=span.starts_at,
        ends_at=span.ends_at,
        currency=currency,
    )
    keys = [d.isoformat() for d in span.days()] if group == "day" else list(money | usage)
    return EarningsReport.listing(
        organization_id=provider.id,
        group=group,
        span=span,
        currency=currency,
        limit=limit,
        keys=keys,
        labels=_labels(group, keys),
        row=_row,
        usage=usage,
        money=money,
        all_usage=all_usage,
        entries=entries,
        amount=lambda r: r.earned_micros,
    )


def _row(
    key: str, label: str, usage: licensing.UsageTally | None, money: Sums | None
) -> EarningsRow:
    weight = usage.attribution_weight_ppm if usage else 0
    answers = usage.answers if usage else 0
    return EarningsRow(
        key=key,
        label=label,
        uses=usage.uses if usage else 0,
        cited_uses=usage.cited_uses if usage else 0,
        answers=answers,
        attribution_weight_ppm=weight,
        attribution_share_ppm=weight // answers if answers else 0,
        transactions=money.transactions if money else 0,
        earned_micros=-money.amount_micros if money else 0,
    )


def _labels(group: str, keys: list[str]) -> dict[str, str]:
    if group == "day":
        return {}
    if group == "document":
        titles = catalog.document_titles(document_ids=[int(k) for k in keys if k])
        found = {str(doc_id): title for doc_id, title in titles.items()}
        return {
            k: found.get(k, f"Document {k} (deleted)")
            if k
            else "No one document (subscriptions, purchases, revenue reports, ad revenue)"
            for k in keys
        }
    names = accounts.organization_names(organization_ids=[uuid.UUID(k) for k in keys if k])
    return {k: names.get(uuid.UUID(k), k) if k else "No agent (an operator's entry)" for k in keys}


def _by_document(
    account_ids: list[int], span: ReportRange, provider_id: uuid.UUID
) -> dict[str, Sums]:
    """Return what the provider earned per document its uses' events name, in one statement:
    its payable entries joined to their transactions' usage events inside the database."""
    if not account_ids:
        return {}
    events_sql, events_params = licensing.usage_documents_query(provider_id=provider_id)
    quote = connection.ops.quote_name
    entries, transactions = quote(Entry._meta.db_table), quote(Transaction._meta.db_table)
    marks = ", ".join(["%s"] * len(account_ids))
    kinds = [k for k in EARNING_KINDS if k != Transaction.Kind.REVERSAL]
    kind_marks = ", ".join(["%s"] * len(kinds))
    sql = f"""
        SELECT u.document_id, COUNT(DISTINCT e.transaction_id), SUM(e.amount_micros)
        FROM {entries} e
        JOIN {transactions} t ON t.id = e.transaction_id
        LEFT JOIN {transactions} r ON r.id = t.reverses_id
        LEFT JOIN ({events_sql}) u ON u.id = t.usage_event_id
        WHERE e.account_id IN ({marks}) AND e.effective_at >= %s AND e.effective_at < %s
            AND COALESCE(r.kind, e.kind) IN ({kind_marks})
        GROUP BY u.document_id
    """  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = [
        *events_params,
        *account_ids,
        adapt(span.starts_at),
        adapt(span.ends_at),
        *kinds,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            NO_KEY if document_id is None else str(document_id): Sums(int(count), int(amount))
            for document_id, count, amount in cursor.fetchall()
        }
