"""Reconciliation: the ledger's Stripe clearing movements against Stripe's balance transactions.

For a window of time, every Stripe balance transaction (charges, refunds, transfers) is matched
with the ledger transactions that moved Stripe clearing for the same Stripe object (their
`external_ref`: a charge, or a transfer of a payout); refunds, whose Stripe ids the ledger
does not keep, are compared in total. Differences are logged and kept in a Reconciliation row.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from billing.models import Entry, Payout, Purpose, Reconciliation, Transaction
from billing.services import gateway
from billing.services.currency import from_minor_units

logger = logging.getLogger(__name__)
# Compared in total: the ledger does not keep the ids of Stripe's refunds and reversals.
REFUNDS = "refunds"
TRANSFER_REVERSALS = "transfer_reversals"


@dataclass(frozen=True)
class Difference:
    ref: str
    kind: str
    currency: str
    stripe_micros: int  # money into Stripe positive, out negative
    ledger_micros: int
    problem: str


@dataclass(frozen=True)
class ReconciliationInfo:
    id: int
    since: datetime
    until: datetime
    stripe_transactions: int
    ledger_transactions: int
    differences: tuple[Difference, ...]


def _ledger_movements(since: datetime, until: datetime) -> dict[tuple[str, str], tuple[str, int]]:
    """Return {(ref, currency): (kind, micros)} of Stripe clearing in the window."""
    rows = (
        Entry.objects.filter(
            account__purpose=Purpose.STRIPE_CLEARING,
            account__organization__isnull=True,
            transaction__created_at__gte=since,
            transaction__created_at__lt=until,
        )
        .values(
            "transaction__kind",
            "transaction__external_ref",
            "transaction__idempotency_key",
            "currency",
        )
        .annotate(total=Sum("amount_micros"))
    )
    transfers = {
        f"payout:{payout_id}": transfer_id
        for payout_id, transfer_id in Payout.objects.values_list("id", "transfer_id")
    }
    moved: dict[tuple[str, str], tuple[str, int]] = {}
    for row in rows:
        kind, ref = row["transaction__kind"], row["transaction__external_ref"]
        key_ = row["transaction__idempotency_key"]
        if kind == Transaction.Kind.PAYOUT:
            ref = transfers.get(key_) or key_  # a failed payout nets to zero with its reversal
        elif kind == Transaction.Kind.REVERSAL and key_.startswith("reversal:payout:"):
            payout_key = key_.removeprefix("reversal:")
            ref = TRANSFER_REVERSALS if transfers.get(payout_key) else payout_key
        elif kind == Transaction.Kind.REFUND:
            ref = REFUNDS
        key = (ref or f"unreferenced:{kind}", row["currency"])
        previous = moved.get(key, (kind, 0))[1]
        moved[key] = (kind, previous + row["total"])
    return moved


def reconcile(
    *, since: datetime | None = None, until: datetime | None = None
) -> ReconciliationInfo:
    """Compare a window (by default the last day) and keep the differences found."""
    until = until or timezone.now()
    since = since or until - timedelta(days=1)
    stripe_side: dict[tuple[str, str], tuple[str, int]] = {}
    found = gateway.list_balance_transactions(
        created_gte=int(since.timestamp()), created_lt=int(until.timestamp())
    )
    for txn in found:
        ref = {"refund": REFUNDS, "transfer_refund": TRANSFER_REVERSALS}.get(
            txn.type, txn.source or txn.id
        )
        key = (ref, txn.currency)
        amount = from_minor_units(txn.amount_minor, txn.currency)
        previous = stripe_side.get(key, (txn.type, 0))[1]
        stripe_side[key] = (txn.type, previous + amount)
    ledger_side = _ledger_movements(since, until)
    differences = []
    for key in sorted(set(stripe_side) | set(ledger_side)):
        ref, currency = key
        kind, at_stripe = stripe_side.get(key, ("", 0))
        ledger_kind, in_ledger = ledger_side.get(key, ("", 0))
        if at_stripe == in_ledger:
            continue
        if key not in ledger_side:
            problem = "at Stripe, not in the ledger"
        elif key not in stripe_side:
            problem = "in the ledger, not at Stripe"
        else:
            problem = "amounts differ"
        differences.append(
            Difference(
                ref=ref,
                kind=kind or ledger_kind,
                currency=currency,
                stripe_micros=at_stripe,
                ledger_micros=in_ledger,
                problem=problem,
            )
        )
    row = Reconciliation.objects.create(
        since=since,
        until=until,
        stripe_transactions=len(found),
        ledger_transactions=len(ledger_side),
        differences=[d.__dict__ for d in differences],
    )
    for d in differences:
        logger.warning(
            "reconciliation: %s %s %s: Stripe %s, ledger %s micros (%s)",
            d.ref,
            d.kind,
            d.currency,
            d.stripe_micros,
            d.ledger_micros,
            d.problem,
        )
    return ReconciliationInfo(
        id=row.id,
        since=since,
        until=until,
        stripe_transactions=len(found),
        ledger_transactions=len(ledger_side),
        differences=tuple(differences),
    )
