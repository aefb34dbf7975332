"""What an organization sees of its own money: its transactions, page by page, and monthly
statements aggregated in SQL. Only the organization's own entries are shown: what the other
side of a transaction got (a provider's share, the platform's take) is not its business."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, Sum, When
from django.db.models.functions import Coalesce

from accounts import services as accounts
from billing.models import Account, Entry, Transaction
from billing.services.balances import billing_organization_id
from billing.services.rating.reports import period_bounds
from billing.services.types import EntryInfo, TransactionInfo, normal_balance

PAGE_MAX = 500


@dataclass(frozen=True)
class TransactionPage:
    results: tuple[TransactionInfo, ...]
    next_before_id: int | None  # None on the last page


def list_transactions(
    *,
    actor: accounts.Actor,
    organization_id: uuid.UUID | str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> TransactionPage:
    """Return the acting organization's transactions, newest first, with its own entries."""
    org_id = billing_organization_id(actor, organization_id)
    limit = max(1, min(limit, PAGE_MAX))
    account_ids = list(Account.objects.filter(organization_id=org_id).values_list("id", flat=True))
    if not account_ids:
        return TransactionPage(results=(), next_before_id=None)
    entries = Entry.objects.filter(account_id__in=account_ids)
    if before_id is not None:
        entries = entries.filter(transaction_id__lt=before_id)
    ids = list(
        entries.order_by("-transaction_id")
        .values_list("transaction_id", flat=True)
        .distinct()[: limit + 1]
    )
    more = len(ids) > limit
    ids = ids[:limit]
    own: defaultdict[int, list[EntryInfo]] = defaultdict(list)
    for e in (
        Entry.objects.filter(transaction_id__in=ids, account_id__in=account_ids)
        .select_related("account")
        .order_by("id")
    ):
        own[e.transaction_id].append(
            EntryInfo(
                account_id=e.account_id,
                organization_id=e.account.organization_id,
                purpose=e.account.purpose,
                currency=e.currency,
                amount_micros=e.amount_micros,
            )
        )
    rows = Transaction.objects.filter(id__in=ids).order_by("-id")
    results = tuple(
        TransactionInfo(
            id=t.id,
            idempotency_key=t.idempotency_key,
            kind=t.kind,
            effective_at=t.effective_at,
            created_at=t.created_at,
            memo=t.memo,
            usage_event_id=t.usage_event_id,
            agreement_id=t.agreement_id,
            revenue_report_id=t.revenue_report_id,
            external_ref=t.external_ref,
            reverses_id=t.reverses_id,
            entries=tuple(own[t.id]),
        )
        for t in rows
    )
    return TransactionPage(results=results, next_before_id=ids[-1] if more else None)


@dataclass(frozen=True)
class StatementLine:
    """What one kind of transaction moved on one of the organization's accounts."""

    account: str  # the account's purpose
    currency: str
    kind: str
    transactions: int
    debit_micros: int
    credit_micros: int  # a positive number


@dataclass(frozen=True)
class StatementAccount:
    """An account's balance on its normal side when the month opened and closed."""

    account: str
    currency: str
    opening_micros: int
    closing_micros: int


@dataclass(frozen=True)
class Statement:
    organization_id: uuid.UUID
    period: str
    starts_at: datetime
    ends_at: datetime
    lines: tuple[StatementLine, ...]
    accounts: tuple[StatementAccount, ...]


def statement(
    *, actor: accounts.Actor, period: str, organization_id: uuid.UUID | str | None = None
) -> Statement:
    """Return the acting organization's statement for a month (YYYY-MM)."""
    org_id = billing_organization_id(actor, organization_id)
    return statement_for(organization_id=org_id, period=period)


def statement_for(*, organization_id: uuid.UUID, period: str) -> Statement:
    """Return an organization's statement for a month, aggregated by the database."""
    start, end = period_bounds(period)
    accounts_by_id = {
        a.id: a for a in Account.objects.filter(organization_id=organization_id).order_by("id")
    }
    ids = list(accounts_by_id)
    positive = Case(When(amount_micros__gt=0, then="amount_micros"), default=0)
    negative = Case(When(amount_micros__lt=0, then="amount_micros"), default=0)
    grouped = (
        Entry.objects.filter(account_id__in=ids, effective_at__gte=start, effective_at__lt=end)
        .values("account_id", "transaction__kind")
        .annotate(
            count=Count("transaction_id"),
            debit=Coalesce(Sum(positive, output_field=IntegerField()), 0),
            credit=Coalesce(Sum(negative, output_field=IntegerField()), 0),
        )
        .order_by("account_id", "transaction__kind")
    )
    lines = tuple(
        StatementLine(
            account=accounts_by_id[row["account_id"]].purpose,
            currency=accounts_by_id[row["account_id"]].currency,
            kind=row["transaction__kind"],
            transactions=row["count"],
            debit_micros=int(row["debit"]),
            credit_micros=-int(row["credit"]),
        )
        for row in grouped
    )
    sums = (
        Entry.objects.filter(account_id__in=ids, effective_at__lt=end)
        .values("account_id")
        .annotate(
            opening=Coalesce(
                Sum("amount_micros", filter=Q(effective_at__lt=start)),
                0,
                output_field=IntegerField(),
            ),
            closing=Sum("amount_micros"),
        )
    )
    balances = {row["account_id"]: (int(row["opening"]), int(row["closing"])) for row in sums}
    accounts_lines = tuple(
        StatementAccount(
            account=account.purpose,
            currency=account.currency,
            opening_micros=normal_balance(account.purpose, balances[account.id][0]),
            closing_micros=normal_balance(account.purpose, balances[account.id][1]),
        )
        for account in accounts_by_id.values()
        if account.id in balances
    )
    return Statement(
        organization_id=organization_id,
        period=period,
        starts_at=start,
        ends_at=end,
        lines=lines,
        accounts=accounts_lines,
    )
