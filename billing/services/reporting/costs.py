"""An agent's costs by day or provider: its uses (from licensing's usage events) beside what it
was charged (from the ledger).

Charged is what the agent's wallet and receivable were debited for licences, net: uses,
revenue shares, revenue reports, subscriptions and purchases, less any of them reversed; the
whole charge, the platform's take included. Top-ups, credits, invoice payments and ad revenue
the agent earned are not costs. Metered is what metering priced the uses at (a revenue share
is priced when it is rated, so its metered amount is zero).
"""

import uuid
from dataclasses import dataclass
from datetime import date

from accounts import services as accounts
from billing.models import Purpose, Transaction
from billing.services.reporting.common import (
    DEFAULT_ROWS,
    GroupedReport,
    ReportRange,
    Sums,
    account_ids_of,
    by_day,
    by_other_party,
    check_group,
    check_limit,
    entries_of,
    report_currency,
    report_range,
    sums_by,
)
from licensing import services as licensing

COST_GROUPS = ("day", "provider")
COST_KINDS = (
    Transaction.Kind.USE,
    Transaction.Kind.REVENUE_SHARE,
    Transaction.Kind.REVENUE_REPORT,
    Transaction.Kind.SUBSCRIPTION,
    Transaction.Kind.PURCHASE,
)
PAYING_PURPOSES = (Purpose.AGENT_WALLET, Purpose.AGENT_RECEIVABLE)


@dataclass(frozen=True)
class CostRow:
    key: str  # the ISO day or the provider's id; "" for charges that paid no provider
    label: str
    uses: int
    cited_uses: int
    answers: int
    metered_micros: int
    transactions: int
    charged_micros: int


@dataclass(frozen=True)
class CostReport(GroupedReport[CostRow]):
    """An agent's uses and charges per day or provider."""


def agent_costs(
    *,
    actor: accounts.Actor,
    group: str = "day",
    since: date | None = None,
    until: date | None = None,
    currency: str | None = None,
    limit: int = DEFAULT_ROWS,
    organization_id: uuid.UUID | str | None = None,
) -> CostReport:
    """Return the acting agent's uses and what it was charged per day (every day of the
    range, oldest first) or provider (most charged first, the first `limit`)."""
    agent = accounts.acting_organization(
        actor=actor, role=accounts.AGENT, scope=accounts.BILLING, organization_id=organization_id
    )
    check_group(group, COST_GROUPS)
    check_limit(limit)
    span = report_range(since, until)
    currency = report_currency(currency)
    paying = account_ids_of(organization_id=agent.id, purposes=PAYING_PURPOSES, currency=currency)
    entries = entries_of(paying, span, COST_KINDS)
    key = by_day if group == "day" else by_other_party((Purpose.PROVIDER_PAYABLE,))
    money = sums_by(entries, key)
    usage = {t.key: t for t in _tallies(agent.id, group, span, currency)}
    (all_usage,) = _tallies(agent.id, None, span, currency)
    if group == "day":
        keys = [d.isoformat() for d in span.days()]
        labels: dict[str, str] = {}
    else:
        keys = list(money | usage)
        names = accounts.organization_names(organization_ids=[uuid.UUID(k) for k in keys if k])
        labels = {k: names.get(uuid.UUID(k), k) if k else "No provider" for k in keys}
    return CostReport.listing(
        organization_id=agent.id,
        group=group,
        span=span,
        currency=currency,
        limit=limit,
        keys=keys,
        labels=labels,
        row=_row,
        usage=usage,
        money=money,
        all_usage=all_usage,
        entries=entries,
        amount=lambda r: r.charged_micros,
    )


def _tallies(
    agent_id: uuid.UUID, group: str | None, span: ReportRange, currency: str
) -> list[licensing.UsageTally]:
    return licensing.usage_tallies(
        agent_id=agent_id,
        group=group,
        starts_at=span.starts_at,
        ends_at=span.ends_at,
        currency=currency,
    )


def _row(key: str, label: str, usage: licensing.UsageTally | None, money: Sums | None) -> CostRow:
    return CostRow(
        key=key,
        label=label,
        uses=usage.uses if usage else 0,
        cited_uses=usage.cited_uses if usage else 0,
        answers=usage.answers if usage else 0,
        metered_micros=usage.metered_micros if usage else 0,
        transactions=money.transactions if money else 0,
        charged_micros=money.amount_micros if money else 0,
    )
