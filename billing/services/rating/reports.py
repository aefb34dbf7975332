"""Period revenue reports: what an agent earned in a month, shared with revenue-share sources.

An agent reports a month's revenue once the month has ended (until BILLING_REVENUE_REPORT_DAYS
after). The revenue is spread over the month's revenue-share uses whose answers declared no
revenue of their own, by attribution weight; each use's provider earns its offer's basis
points of the revenue spread to that use, less what the use already earned as its offer's
minimum per use. One transaction per use (`revenue-report:<report>:<event>`), so allocating
again (a worker that died half-way) writes only what is missing.
"""

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import PREPAID_PURPOSES, Entry, Purpose, RevenueReport, Transaction
from billing.services.balances import postpaid_organizations
from billing.services.ledger import post_transactions
from billing.services.rating.shares import BPS, Funding, accounts_touched, earning_legs
from billing.services.types import NewTransaction
from licensing import services as licensing

PERIOD = re.compile(r"^(2[0-9]{3})-(0[1-9]|1[0-2])$")  # as the API's schema says


@dataclass(frozen=True)
class RevenueReportInfo:
    id: uuid.UUID
    agent_id: uuid.UUID
    agreement_id: uuid.UUID | None
    period: str
    revenue_micros: int
    currency: str
    status: str
    uses_count: int
    allocated_micros: int
    created_at: datetime
    allocated_at: datetime | None


def _info(report: RevenueReport) -> RevenueReportInfo:
    return RevenueReportInfo(
        id=report.id,
        agent_id=report.agent_id,
        agreement_id=report.agreement_id,
        period=report.period,
        revenue_micros=report.revenue_micros,
        currency=report.currency,
        status=report.status,
        uses_count=report.uses_count,
        allocated_micros=report.allocated_micros,
        created_at=report.created_at,
        allocated_at=report.allocated_at,
    )


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a month named YYYY-MM (400 for anything else)."""
    match = PERIOD.match(period)
    if match is None:
        raise errors.ValidationFailed(
            "A period is a month: YYYY-MM.",
            details={"period": ["Use YYYY-MM (2000-2999), e.g. 2026-01."]},
        )
    year, month = int(match[1]), int(match[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    return start, start + timedelta(days=days)


def _agent_id(actor: accounts.Actor, organization_id: uuid.UUID | str | None) -> uuid.UUID:
    return accounts.acting_organization(
        actor=actor, role=accounts.AGENT, scope=accounts.BILLING, organization_id=organization_id
    ).id


def submit_revenue_report(
    *,
    actor: accounts.Actor,
    period: str,
    revenue_micros: int,
    currency: str | None = None,
    agreement_id: uuid.UUID | str | None = None,
    organization_id: uuid.UUID | str | None = None,
    now: datetime | None = None,
) -> RevenueReportInfo:
    """Report what the acting agent earned in a month (or under one revenue-share agreement);
    its allocation to providers is queued. One report per month and agreement (or month)."""
    agent_id = _agent_id(actor, organization_id)
    if not isinstance(revenue_micros, int) or revenue_micros <= 0:
        raise errors.ValidationFailed(
            "Revenue is more than zero.", details={"revenue_micros": ["More than zero."]}
        )
    start, end = period_bounds(period)
    now = now or timezone.now()
    if end > now:
        raise errors.PeriodClosed(
            f"{period} has not ended yet: report it once it has.", code="period_open"
        )
    closes = end + timedelta(days=settings.BILLING_REVENUE_REPORT_DAYS)
    if now >= closes:
        raise errors.PeriodClosed(
            f"{period} closed for revenue reports on {closes:%Y-%m-%d}.",
            details={"closed_at": closes.isoformat()},
        )
    currency = currency or settings.LICENSING_CURRENCY
    agreement = None
    if agreement_id is not None:
        agreement = licensing.agent_agreement(agent_id=agent_id, agreement_id=agreement_id)
        if agreement.offer.terms.payment_type != "revenue_share":
            raise errors.ValidationFailed(
                "Revenue is reported for revenue-share agreements only.",
                details={"agreement_id": ["Not a revenue-share agreement."]},
            )
        currency = agreement.offer.terms.currency
    try:
        with transaction.atomic():
            report = RevenueReport.objects.create(
                agent_id=agent_id,
                agreement_id=None if agreement is None else agreement.id,
                period=period,
                period_start=start,
                period_end=end,
                revenue_micros=revenue_micros,
                currency=currency,
            )
            transaction.on_commit(lambda: _queue_allocation(report.id))
    except IntegrityError as exc:
        raise errors.Conflict(
            f"Revenue for {period} has been reported already; a report is final.",
            code="already_reported",
        ) from exc
    return _info(report)


def _queue_allocation(report_id: uuid.UUID) -> None:
    from billing.tasks import allocate_revenue_report  # tasks import services, not the reverse

    allocate_revenue_report.delay(str(report_id))


def list_revenue_reports(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> list[RevenueReportInfo]:
    """Return the acting agent's revenue reports, newest first."""
    agent_id = _agent_id(actor, organization_id)
    return [_info(r) for r in RevenueReport.objects.filter(agent_id=agent_id)[:500]]


def report_key(report_id: uuid.UUID, event_id: int) -> str:
    return f"revenue-report:{report_id}:{event_id}"


def allocate_revenue_report(*, report_id: uuid.UUID | str, batch_size: int = 5000) -> None:
    """Share a report's revenue with the providers of its period's uses (re-runnable)."""
    report = RevenueReport.objects.get(id=report_id)
    if report.status == RevenueReport.Status.ALLOCATED:
        return
    scope: dict[str, Any] = {
        "agent_id": report.agent_id,
        "start": report.period_start,
        "end": report.period_end,
        "currency": report.currency,
        "agreement_id": report.agreement_id,
    }
    uses_count, weight = licensing.revenue_share_weight(**scope)
    postpaid = report.agent_id in postpaid_organizations({report.agent_id})
    after = 0
    while weight:
        uses = licensing.revenue_share_uses(**scope, after_id=after, limit=batch_size)
        if not uses:
            break
        after = uses[-1].id
        _allocate_batch(report, weight, uses, postpaid)
    with transaction.atomic():
        report = RevenueReport.objects.select_for_update().get(id=report.id)
        report.uses_count = uses_count
        report.allocated_micros = _charged(report.id)
        report.status = RevenueReport.Status.ALLOCATED
        report.allocated_at = timezone.now()
        report.save()


def _allocate_batch(
    report: RevenueReport,
    weight: int,
    uses: list[licensing.RevenueShareUse],
    postpaid: bool,
) -> None:
    scale = weight * BPS
    amounts = []
    for use in uses:
        share = (report.revenue_micros * use.attribution_weight_ppm * use.revenue_share_bps) * 2
        share = (share + scale) // (2 * scale)  # half up
        amount = share - use.revenue_share_min_micros  # the minimum was earned at rating
        if amount > 0:
            amounts.append((use, amount))
    if not amounts:
        return
    currency = report.currency
    with transaction.atomic():
        funding = Funding(
            accounts_touched(
                [(report.agent_id, currency)], {(u.provider_id, currency) for u, _ in amounts}
            ),
            {report.agent_id} if postpaid else set(),
        )
        post_transactions(
            [
                NewTransaction(
                    idempotency_key=report_key(report.id, use.id),
                    kind=Transaction.Kind.REVENUE_REPORT,
                    legs=(
                        *funding.charge(report.agent_id, currency, amount),
                        *earning_legs(
                            provider_id=use.provider_id,
                            payment_type="revenue_share",
                            amount_micros=amount,
                            currency=currency,
                        ),
                    ),
                    # When it was reported: a closed month's statement stays as it was.
                    effective_at=report.created_at,
                    usage_event_id=use.id,
                    agreement_id=use.agreement_id,
                    revenue_report_id=report.id,
                )
                for use, amount in amounts
            ]
        )


def _charged(report_id: uuid.UUID) -> int:
    """Return what the agent was charged under a report, from its entries."""
    total = Entry.objects.filter(
        transaction__revenue_report_id=report_id,
        transaction__kind=Transaction.Kind.REVENUE_REPORT,
        account__purpose__in=(*PREPAID_PURPOSES, Purpose.AGENT_RECEIVABLE),
    ).aggregate(total=Sum("amount_micros"))["total"]
    return int(total or 0)
