"""What every billing report shares: its date range, its currency, how many rows it lists, and
the ledger entries it sums (by day, by kind, or by the other party of each transaction).

Reports read the ledger, not the usage events: what they call earned, charged, spent or taken is
what the entries moved, so a month of a report adds up to that month's statement. Each sum is one
aggregate query; no entry is read into Python.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Protocol, Self, TypeVar

from django.conf import settings
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum, UUIDField
from django.db.models.functions import TruncDate
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


@dataclass(frozen=True)
class Movements:
    """An account's entries in a range, paid as some kinds: `direct` of those kinds, and
    `reversals` of transactions of those kinds (a reversed use is a use taken back). Apart, so
    the many direct entries are summed without a join to their transactions."""

    direct: QuerySet[Entry]
    reversals: QuerySet[Entry]


def entries_of(account_ids: list[int], span: ReportRange, paid_as: Iterable[str]) -> Movements:
    """Return the accounts' entries dated in the range that were paid as one of these kinds."""
    kinds = [k for k in paid_as if k != Transaction.Kind.REVERSAL]
    dated = Entry.objects.filter(
        account_id__in=account_ids, effective_at__gte=span.starts_at, effective_at__lt=span.ends_at
    )
    return Movements(
        direct=dated.filter(kind__in=kinds),
        reversals=dated.filter(
            kind=Transaction.Kind.REVERSAL, transaction__reverses__kind__in=kinds
        ),
    )


def kinds_but(*left_out: str) -> tuple[str, ...]:
    """Return every kind of transaction but these (and reversals, which count as what they
    reverse)."""
    return tuple(k for k in Transaction.Kind.values if k not in left_out)


# How rows are grouped: an expression for direct entries (False) and for reversals (True).
KeyOf = Callable[[bool], Any]


def by_day(reversal: bool) -> TruncDate:
    return TruncDate("effective_at", tzinfo=UTC)


def by_kind(reversal: bool) -> F:
    """The entry's kind, or for a reversal the kind of what it reverses."""
    return F("transaction__reverses__kind") if reversal else F("kind")


def by_other_party(purposes: Iterable[str]) -> KeyOf:
    """The organization whose account of one of `purposes` the entry's transaction moves (the
    agent who paid a use, the provider it paid), or NULL."""
    found = Subquery(
        Entry.objects.filter(
            transaction_id=OuterRef("transaction_id"), account__purpose__in=list(purposes)
        )
        .order_by("id")
        .values("account__organization_id")[:1],
        output_field=UUIDField(),  # read as a UUID on every database, as licensing's ids are
    )
    return lambda reversal: found


@dataclass(frozen=True)
class Sums:
    transactions: int
    amount_micros: int  # the entries' signed sum (debit positive)


def sums_by(movements: Movements, key_of: KeyOf) -> dict[str, Sums]:
    """Return the entries' count of transactions and signed sum per group, keyed by the
    group's text ("" for NULL)."""
    found: dict[str, Sums] = {}
    for reversal, entries in ((False, movements.direct), (True, movements.reversals)):
        rows: Iterable[Mapping[str, Any]] = (
            entries.annotate(group_key=key_of(reversal))
            .values("group_key")
            .annotate(
                transactions=Count("transaction_id", distinct=True), amount=Sum("amount_micros")
            )
            .order_by("group_key")
        )
        for row in rows:
            key = NO_KEY if row["group_key"] is None else str(row["group_key"])
            before = found.get(key, Sums(0, 0))
            found[key] = Sums(
                before.transactions + row["transactions"],
                before.amount_micros + (row["amount"] or 0),
            )
    return found


def total_of(movements: Movements) -> Sums:
    """Return the count of transactions and the signed sum of all the entries."""
    total = Sums(0, 0)
    for entries in (movements.direct, movements.reversals):
        found = entries.aggregate(
            transactions=Count("transaction_id", distinct=True), amount=Sum("amount_micros")
        )
        total = Sums(
            total.transactions + (found["transactions"] or 0),
            total.amount_micros + (found["amount"] or 0),
        )
    return total


def kind_label(kind: str) -> str:
    labels: dict[str, str] = dict(Transaction.Kind.choices)
    return labels.get(kind, kind)


class GroupRow(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def uses(self) -> int: ...


RowT = TypeVar("RowT", bound=GroupRow)
TallyT = TypeVar("TallyT")


@dataclass(frozen=True)
class GroupedReport(Generic[RowT]):
    """One organization's uses beside its money: a row per day (every day of the range, oldest
    first) or per other group (most money first, the first `limit`), and their total."""

    organization_id: uuid.UUID
    group: str
    since: date
    until: date
    currency: str
    rows: tuple[RowT, ...]
    rows_total: int  # groups in all: `rows` lists the first `limit` of them
    total: RowT

    @classmethod
    def listing(
        cls,
        *,
        organization_id: uuid.UUID,
        group: str,
        span: ReportRange,
        currency: str,
        limit: int,
        keys: list[str],
        labels: Mapping[str, str],
        row: Callable[[str, str, TallyT | None, Sums | None], RowT],
        usage: Mapping[str, TallyT],
        money: Mapping[str, Sums],
        all_usage: TallyT,
        entries: Movements,
        amount: Callable[[RowT], int],
    ) -> Self:
        """Return the report of a row per key (labelled by `labels`, else by the key), its
        groups but days ordered by `amount`, then uses, most first, then by key."""
        rows = [row(k, labels.get(k, k), usage.get(k), money.get(k)) for k in keys]
        if group != "day":
            rows.sort(key=lambda r: (-amount(r), -r.uses, r.key))
        return cls(
            organization_id=organization_id,
            group=group,
            since=span.since,
            until=span.until,
            currency=currency,
            rows=tuple(rows if group == "day" else rows[:limit]),
            rows_total=len(rows),
            total=row(NO_KEY, "Total", all_usage, total_of(entries)),
        )
