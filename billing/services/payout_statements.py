"""What a provider sees of its payouts: each payout and the statement of what it paid for."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Sum

from accounts import services as accounts
from billing import errors
from billing.models import Entry, Payout, Purpose, Transaction
from billing.services.payouts import PayoutInfo, _payout_info, _provider

STATEMENT_ITEMS_MAX = 500


@dataclass(frozen=True)
class PayoutItem:
    transaction_id: int
    kind: str
    effective_at: datetime
    usage_event_id: int | None
    agreement_id: uuid.UUID | None
    amount_micros: int  # earned (positive) or taken back (negative)
    memo: str


@dataclass(frozen=True)
class PayoutLine:
    kind: str
    agreement_id: uuid.UUID | None
    transactions: int
    amount_micros: int


@dataclass(frozen=True)
class PayoutStatement:
    payout: PayoutInfo
    earned_micros: int  # what the entries it covers add up to
    carried_micros: int  # the fraction of a minor unit (and any shortfall) left payable
    lines: tuple[PayoutLine, ...]  # by kind and licence
    items: tuple[PayoutItem, ...]  # the entries themselves, oldest first (the first 500)
    items_total: int


def _covered(row: Payout):  # type: ignore[no-untyped-def]
    """The provider-payable entries a payout pays for: earnings since the last payout that
    stood when it was made (its range), payouts left out. A payout undone before this one was
    made is re-covered by the range itself; one reversed after a later payout had paid (its
    earnings lie before the range) comes back as its reversal: kind `reversal`, the memo
    naming the payout."""
    earlier = Payout.objects.filter(
        organization_id=row.organization_id,
        currency=row.currency,
        status__in=[Payout.Status.FAILED, Payout.Status.REVERSED],
        entries_through_id__lte=row.entries_after_id,
    ).values_list("id", flat=True)
    paid_again = [f"payout:{payout_id}" for payout_id in earlier]
    undone = Q(transaction__reverses__kind=Transaction.Kind.PAYOUT) & ~Q(
        transaction__reverses__idempotency_key__in=paid_again
    )
    return (
        Entry.objects.filter(
            account__organization_id=row.organization_id,
            account__purpose=Purpose.PROVIDER_PAYABLE,
            account__currency=row.currency,
            id__gt=row.entries_after_id,
            id__lte=row.entries_through_id,
        )
        .exclude(Q(transaction__kind=Transaction.Kind.PAYOUT) | undone)
        .select_related("transaction")
    )


def list_payouts(
    *,
    actor: accounts.Actor,
    organization_id: uuid.UUID | str | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[PayoutInfo]:
    """Return the acting provider's payouts, newest first."""
    org_id = _provider(actor, organization_id)
    rows = Payout.objects.filter(organization_id=org_id)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return [_payout_info(r) for r in rows.order_by("-created_at")[: max(1, min(limit, 200))]]


def get_payout_statement(
    *, actor: accounts.Actor, payout_id: uuid.UUID, organization_id: uuid.UUID | str | None = None
) -> PayoutStatement:
    """Return one of the acting provider's payouts with the statement of what it pays for."""
    org_id = _provider(actor, organization_id)
    row = Payout.objects.filter(id=payout_id, organization_id=org_id).first()
    if row is None:
        raise errors.NotFound("Payout not found.")
    covered = _covered(row)
    # A payable entry is a credit (negative): what the provider earned is its negation.
    earned = -(covered.aggregate(total=Sum("amount_micros"))["total"] or 0)
    grouped = (
        covered.values("transaction__kind", "transaction__agreement_id")
        .annotate(n=Count("id"), total=Sum("amount_micros"))
        .order_by("transaction__kind", "transaction__agreement_id")
    )
    lines = tuple(
        PayoutLine(
            kind=g["transaction__kind"],
            agreement_id=g["transaction__agreement_id"],
            transactions=g["n"],
            amount_micros=-g["total"],
        )
        for g in grouped
    )
    items = tuple(
        PayoutItem(
            transaction_id=e.transaction_id,
            kind=e.transaction.kind,
            effective_at=e.effective_at,
            usage_event_id=e.transaction.usage_event_id,
            agreement_id=e.transaction.agreement_id,
            amount_micros=-e.amount_micros,
            memo=e.transaction.memo,
        )
        for e in covered.order_by("id")[:STATEMENT_ITEMS_MAX]
    )
    return PayoutStatement(
        payout=_payout_info(row),
        earned_micros=earned,
        carried_micros=earned - row.amount_micros,
        lines=lines,
        items=items,
        items_total=sum(line.transactions for line in lines),
    )
