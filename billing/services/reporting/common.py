"""What every billing report shares: its date range, its currency, how many rows it lists, and
the ledger entries it sums (by day, by kind, or by the other party of each transaction).

Reports read the ledger, not the usage events: what they call earned, charged, spent or taken is
what the entries moved, so a month of a report adds up to that month's statement. Each sum is one
aggregate query; no entry is read into Python.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, UUIDField
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing import errors
from billing.models import Account, Entry, Transaction

MAX_DAYS = 400
DEFAULT_DAYS = 30
MAX_ROWS = 1000
DEFAULT_ROWS = 100
NO_KEY = ""  # the group of entries that name no document, agent or provider
_LAST_DAY = date.max - timedelta(days=1)  # a range ends the day after its last: still a date


@dataclass(frozen=True)
class ReportRange:
    """The UTC days a report covers, both included."""

    since: date
    until: date

    @property
    def starts_at(self) -> datetime:
        return datetime(self.since.year, self.since.month, self.since.day, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        end = self.until + timedelta(days=1)
        return datetime(end.year, end.month, end.day, tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


def report_range(since: date | None, until: date | None) -> ReportRange:
    """Return the range asked for: by default the last 30 days to today (UTC), at most 400."""
    until = until or timezone.now().date()
    if until > _LAST_DAY:
        raise errors.ValidationFailed(
            "until is out of range.", details={"until": ["A date before 9999-12-31."]}
        )
    if since is None:
        since = until - timedelta(days=min(DEFAULT_DAYS - 1, (until - date.min).days))
    if since > until:
        raise errors.ValidationFailed(
            "since is on or before until.", details={"since": ["On or before until."]}
        )
    if (until - since).days >= MAX_DAYS:
        raise errors.ValidationFailed(
            f"A report covers at most {MAX_DAYS} days.",
            details={"since": [f"At most {MAX_DAYS} days before until."]},
        )
    return ReportRange(since=since, until=until)


def check_group(group: str, allowed: tuple[str, ...]) -> None:
    if group not in allowed:
        raise errors.ValidationFailed(
            f"Unknown grouping {group!r}.", details={"group": [f"One of {', '.join(allowed)}."]}
        )


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_ROWS:
        raise errors.ValidationFailed(
            f"A report lists 1 to {MAX_ROWS} rows.", details={"limit": [f"1 to {MAX_ROWS}."]}
        )


def report_currency(currency: str | None) -> str:
    currency = currency or settings.LICENSING_CURRENCY
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise errors.ValidationFailed(
            f"{currency!r} is not a currency code.", details={"currency": ["Like USD."]}
        )
    return currency


def account_ids_of(
    *, organization_id: uuid.UUID | None, purposes: Iterable[str], currency: str
) -> list[int]:
    """Return the ids of an organization's (None: the platform's) accounts of these purposes."""
    rows = Account.objects.filter(purpose__in=list(purposes), currency=currency)
    if organization_id is None:
        rows = rows.filter(organization__isnull=True)
    else:
        rows = rows.filter(organization_id=organization_id)
    return list(rows.order_by("id").values_list("id", flat=True))


def entries_of(
    account_ids: list[int], span: ReportRange, paid_as: Iterable[str]
) -> QuerySet[Entry]:
    """Return the accounts' entries dated in the range that were paid as one of these kinds:
    their transaction's kind, or for a reversal the kind of what it reverses (a reversed use
    is a use taken back)."""
    kinds = [k for k in paid_as if k != Transaction.Kind.REVERSAL]
    return Entry.objects.filter(
        Q(kind__in=kinds)
        | Q(kind=Transaction.Kind.REVERSAL, transaction__reverses__kind__in=kinds),
        account_id__in=account_ids,
        effective_at__gte=span.starts_at,
        effective_at__lt=span.ends_at,
    )


def paid_as() -> Coalesce:
    """An entry's kind, or for a reversal the kind of what it reverses."""
    return Coalesce(F("transaction__reverses__kind"), F("kind"))


def kinds_but(*left_out: str) -> tuple[str, ...]:
    """Return every kind of transaction but these (and reversals, which count as what they
    reverse)."""
    return tuple(k for k in Transaction.Kind.values if k not in left_out)


def other_party(purposes: Iterable[str]) -> Subquery:
    """The organization whose account of one of `purposes` the entry's transaction moves (the
    agent who paid a use, the provider it paid), or NULL."""
    return Subquery(
        Entry.objects.filter(
            transaction_id=OuterRef("transaction_id"), account__purpose__in=list(purposes)
        )
        .order_by("id")
        .values("account__organization_id")[:1],
        output_field=UUIDField(),  # read as a UUID on every database, as licensing's ids are
    )


def day_key() -> TruncDate:
    return TruncDate("effective_at", tzinfo=UTC)


@dataclass(frozen=True)
class Sums:
    transactions: int
    amount_micros: int  # the entries' signed sum (debit positive)


def sums_by(entries: QuerySet[Entry], key: Any) -> dict[str, Sums]:
    """Return the entries' count of transactions and signed sum per group of `key` (an
    expression), keyed by the group's text ("" for NULL)."""
    rows: Iterable[Mapping[str, Any]] = (
        entries.annotate(group_key=key)
        .values("group_key")
        .annotate(transactions=Count("transaction_id", distinct=True), amount=Sum("amount_micros"))
        .order_by("group_key")
    )
    return {
        NO_KEY if row["group_key"] is None else str(row["group_key"]): Sums(
            row["transactions"], row["amount"] or 0
        )
        for row in rows
    }


def total_of(entries: QuerySet[Entry]) -> Sums:
    found = entries.aggregate(
        transactions=Count("transaction_id", distinct=True), amount=Sum("amount_micros")
    )
    return Sums(found["transactions"] or 0, found["amount"] or 0)


def kind_label(kind: str) -> str:
    labels: dict[str, str] = dict(Transaction.Kind.choices)
    return labels.get(kind, kind)
