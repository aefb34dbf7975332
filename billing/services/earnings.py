"""What a provider earned, day by day: the ledger's credits to its payable account, dated when
the money moved in business terms (the use, the period, the report), payouts left out."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate

from accounts import services as accounts
from billing import errors
from billing.models import Entry, Purpose, Transaction
from billing.services.balances import billing_organization_id

MAX_DAYS = 366


@dataclass(frozen=True)
class DailyEarnings:
    day: date
    currency: str
    earned_micros: int  # net: charges credited less reversals of them


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def earnings_by_day(
    *,
    actor: accounts.Actor,
    since: date,
    until: date,
    organization_id: uuid.UUID | str | None = None,
) -> list[DailyEarnings]:
    """Return the acting provider's earnings per UTC day in [since, until], oldest first; days
    without any are left out. Paying out is not un-earning: payouts (and the reversal of a
    payout that failed) are not counted."""
    if since > until or (until - since).days >= MAX_DAYS:
        raise errors.ValidationFailed(
            f"Ask for 1 to {MAX_DAYS} days, since on or before until.",
            details={"since": [f"On or before until, at most {MAX_DAYS} days before it."]},
        )
    org_id = billing_organization_id(actor, organization_id)
    rows = (
        Entry.objects.filter(
            account__organization_id=org_id,
            account__purpose=Purpose.PROVIDER_PAYABLE,
            effective_at__gte=_start_of(since),
            effective_at__lt=_start_of(until + timedelta(days=1)),
        )
        .exclude(
            Q(kind=Transaction.Kind.PAYOUT)
            | Q(kind=Transaction.Kind.REVERSAL, transaction__reverses__kind=Transaction.Kind.PAYOUT)
        )
        .annotate(day=TruncDate("effective_at", tzinfo=UTC))
        .values("day", "currency")
        .annotate(total=Sum("amount_micros"))
        .order_by("day", "currency")
    )
    # A payable is a liability: a credit (negative, debit positive) is money earned.
    return [DailyEarnings(row["day"], row["currency"], -row["total"]) for row in rows]
