"""The ledger's invariants, checked over everything written (`manage.py billing_check`)."""

from dataclasses import dataclass, field

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from billing.models import Account, Entry, Purpose, RatingCursor, Transaction
from billing.services.rating.usage import RATED_KINDS, USAGE_CURSOR, use_charge
from licensing import services as licensing

PAGE = 20_000


@dataclass(frozen=True)
class CheckReport:
    transactions: int
    trial_balance: dict[str, int]  # currency -> sum of every entry (zero when all is well)
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(*, examples: int = 5) -> CheckReport:
    """Check that every transaction balances per currency and has entries, that the trial
    balance is zero per currency, that every balance row equals its entries, that every rated
    usage event has exactly one rating transaction, that no rating transaction lacks its
    event (unless it was reversed), and that each ad revenue transaction is paid by one
    advertiser's prepaid funds alone."""
    problems: list[str] = []

    unbalanced = list(
        Entry.objects.values("transaction_id", "currency")
        .annotate(total=Sum("amount_micros"))
        .exclude(total=0)
        .values_list("transaction_id", "currency", "total")[:examples]
    )
    for transaction_id, currency, total in unbalanced:
        problems.append(f"transaction {transaction_id} is off by {total} {currency}")
    empty = list(
        Transaction.objects.annotate(n=Count("entries"))
        .filter(n__lt=2)
        .values_list("id", flat=True)[:examples]
    )
    problems += [f"transaction {t} has fewer than two entries" for t in empty]

    trial = {
        currency: int(total)
        for currency, total in Entry.objects.values("currency")
        .annotate(total=Sum("amount_micros"))
        .values_list("currency", "total")
    }
    problems += [f"trial balance in {c} is {t}, not zero" for c, t in sorted(trial.items()) if t]

    summed = (
        Entry.objects.filter(account_id=OuterRef("id"))
        .values("account_id")
        .annotate(total=Sum("amount_micros"))
        .values("total")
    )
    drifted = list(
        Account.objects.annotate(entries_total=Coalesce(Subquery(summed), 0))
        .exclude(balance_micros=F("entries_total"))
        .values_list("id", "balance_micros", "entries_total")[:examples]
    )
    problems += [f"account {a}: balance row {b}, entries sum to {s}" for a, b, s in drifted]

    # Entries carry their transaction's kind and time for statements: they must agree.
    kind_of = Transaction.objects.filter(id=OuterRef("transaction_id"))
    astray = list(
        Entry.objects.annotate(
            posted_kind=Subquery(kind_of.values("kind")[:1]),
            posted_at=Subquery(kind_of.values("effective_at")[:1]),
        )
        .exclude(kind=F("posted_kind"), effective_at=F("posted_at"))
        .values_list("id", "transaction_id")[:examples]
    )
    problems += [f"entry {e} differs from transaction {t} in kind or time" for e, t in astray]

    problems += _check_usage(examples)
    problems += _check_ad_revenue(examples)
    return CheckReport(
        transactions=Transaction.objects.count(), trial_balance=trial, problems=tuple(problems)
    )


def _check_usage(examples: int) -> list[str]:
    problems: list[str] = []
    cursor = RatingCursor.objects.filter(name=USAGE_CURSOR).first()
    rated_upto = cursor.position if cursor else 0
    after = 0
    while True:  # every event up to the cursor that charges has exactly one transaction
        uses = licensing.ratable_usage(after_id=after, upto_id=rated_upto, limit=PAGE)
        if not uses:
            break
        after = uses[-1].id
        charging = {u.id for u in uses if use_charge(u) > 0}
        counts: dict[int, int] = {}
        for event_id in Transaction.objects.filter(
            usage_event_id__in=[u.id for u in uses], kind__in=RATED_KINDS
        ).values_list("usage_event_id", flat=True):
            if event_id is not None:
                counts[event_id] = counts.get(event_id, 0) + 1
        for u in uses:
            want = 1 if u.id in charging else 0
            if counts.get(u.id, 0) != want and len(problems) < examples:
                problems.append(
                    f"usage event {u.id} has {counts.get(u.id, 0)} rating transactions, not {want}"
                )
    last = 0
    while True:  # every rating transaction not reversed has its usage event
        rows = list(
            Transaction.objects.filter(
                id__gt=last, kind__in=[*RATED_KINDS, Transaction.Kind.REVENUE_REPORT]
            )
            .filter(reversal__isnull=True)
            .order_by("id")
            .values_list("id", "usage_event_id")[:PAGE]
        )
        if not rows:
            break
        last = rows[-1][0]
        existing = licensing.existing_usage_event_ids(ids=[e for _, e in rows if e is not None])
        for transaction_id, event_id in rows:
            if event_id not in existing and len(problems) < examples * 2:
                problems.append(f"transaction {transaction_id} lacks its usage event {event_id}")
    return problems


def _check_ad_revenue(examples: int) -> list[str]:
    """Every ad revenue transaction has one debit, on an advertiser's prepaid funds."""
    misfunded = (
        Entry.objects.filter(kind=Transaction.Kind.AD_REVENUE, amount_micros__gt=0)
        .values("transaction_id")
        .annotate(
            debits=Count("id"),
            prepaid=Count("id", filter=Q(account__purpose=Purpose.ADVERTISER_PREPAID)),
        )
        .exclude(debits=1, prepaid=1)
        .values_list("transaction_id", flat=True)[:examples]
    )
    return [
        f"ad revenue transaction {t} is not paid by one advertiser's prepaid funds"
        for t in misfunded
    ]
