"""Wallet holds: a prepaid agent's answer holds its worst-case cost before it is written.

`hold_for_answer` adds the amount to the wallet's `reserved_micros` in one conditional UPDATE
(only if the wallet's available balance, wallet minus reserved, covers it) and writes a hold
row keyed by the request id; otherwise 402 `insufficient_funds`, before any text is written.
`settle_hold` replaces the worst case with what the answer was metered at (`release_hold`
drops it if the answer failed). A settled hold stays reserved until rating has drawn the
wallet for the answer's usage events (`release_wallet_holds`, after each rating pass), so
money an answer owes is never promised to another one. An answer metered at its worst case
is not settled (nothing to change): its hold is due when it is BILLING_HOLD_TTL_S old.
Postpaid organizations hold nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from billing import errors
from billing.models import Account, BillingProfile, Purpose, RatingCursor, WalletHold
from billing.services import hold_sql
from billing.services.rating.usage import USAGE_CURSOR
from billing.services.types import normal_balance
from core.money import format_money
from licensing import services as licensing


@dataclass(frozen=True)
class HoldRelease:
    marked: int  # holds found due (their answers over): released once rated
    released: int  # holds whose answers' charges rating has drawn from the wallet


def holds_apply(organization_id: uuid.UUID) -> bool:
    """Say whether answers of this organization are held against its wallet."""
    if not settings.BILLING_WALLET_HOLDS:
        return False
    return not BillingProfile.objects.filter(
        organization_id=organization_id, postpaid=True
    ).exists()


def _wallet(organization_id: uuid.UUID, currency: str):  # type: ignore[no-untyped-def]
    return Account.objects.filter(
        organization_id=organization_id, purpose=Purpose.AGENT_WALLET, currency=currency
    )


def hold_for_answer(
    *, organization_id: uuid.UUID, request_id: str, amount_micros: int, currency: str
) -> bool:
    """Hold an answer's worst-case cost against the agent's wallet; return whether it did.

    Nothing is held for a free answer, a postpaid organization, or with holds turned off.
    Holding the same request id again holds nothing more. Raises InsufficientFunds (402)
    when the available balance cannot cover the amount.
    """
    if amount_micros <= 0 or not settings.BILLING_WALLET_HOLDS:
        return False
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.BILLING_HOLD_TTL_S)
    if connection.vendor == "postgresql":  # one round trip on the answer path
        held = hold_sql.hold(
            organization_id=organization_id,
            request_id=request_id,
            amount_micros=amount_micros,
            currency=currency,
            now=now,
            expires_at=expires_at,
        )
    else:
        held = _hold(organization_id, request_id, amount_micros, currency, now, expires_at)
    if held is None:  # this request holds already (a retry)
        return False
    if held:
        return True
    if not holds_apply(organization_id):  # postpaid: looked up only when nothing was held
        return False
    raise _insufficient(organization_id, currency, amount_micros)


def _hold(
    organization_id: uuid.UUID,
    request_id: str,
    amount_micros: int,
    currency: str,
    now: datetime,
    expires_at: datetime,
) -> bool | None:
    try:
        with transaction.atomic():
            held = (
                _wallet(organization_id, currency)
                # available = -balance - reserved (a wallet's balance is a credit) >= amount
                .filter(balance_micros__lte=-(F("reserved_micros") + amount_micros))
                .exclude(organization__billing_profile__postpaid=True)
                .update(reserved_micros=F("reserved_micros") + amount_micros)
            )
            if held:
                WalletHold.objects.create(
                    request_id=request_id,
                    organization_id=organization_id,
                    currency=currency,
                    amount_micros=amount_micros,
                    created_at=now,
                    expires_at=expires_at,
                )
    except IntegrityError:  # a hold of this request exists: the update rolled back
        return None
    return bool(held)


def _insufficient(
    organization_id: uuid.UUID, currency: str, amount_micros: int
) -> errors.InsufficientFunds:
    row = _wallet(organization_id, currency).values_list("balance_micros", "reserved_micros")
    balance, reserved = row.first() or (0, 0)
    wallet = normal_balance(Purpose.AGENT_WALLET, balance)
    available = wallet - reserved
    needed, free = format_money(amount_micros, currency), format_money(max(available, 0), currency)
    held, total = format_money(reserved, currency), format_money(wallet, currency)
    return errors.InsufficientFunds(
        f"Your wallet cannot cover this answer: it needs up to {needed} and {free} is available"
        f" ({total} in the wallet, {held} held for answers in progress)."
        " Top up with POST /api/v1/billing/top-ups.",
        details={
            "currency": currency,
            "needed_micros": amount_micros,
            "available_micros": available,
            "wallet_micros": wallet,
            "reserved_micros": reserved,
        },
    )


def settle_hold(
    *,
    organization_id: uuid.UUID,
    request_id: str,
    currency: str,
    held_micros: int,
    amount_micros: int,
) -> None:
    """Replace an answer's held worst case (`held_micros`) with what it was metered at; a
    hold settled (or released) before is left as it is."""
    amount = max(amount_micros, 0)
    if connection.vendor == "postgresql":  # one round trip on the answer path
        hold_sql.settle(
            organization_id=organization_id,
            request_id=request_id,
            currency=currency,
            held_micros=held_micros,
            amount_micros=amount,
        )
        return
    with transaction.atomic():
        holds = WalletHold.objects.filter(
            request_id=request_id, status=WalletHold.Status.HELD, amount_micros=held_micros
        )
        if amount:
            changed = holds.update(status=WalletHold.Status.SETTLED, amount_micros=amount)
        else:
            changed = holds.delete()[0]
        if changed and amount != held_micros:
            _wallet(organization_id, currency).update(
                reserved_micros=F("reserved_micros") + amount - held_micros
            )


def release_hold(*, request_id: str) -> None:
    """Release an answer's hold: it failed, so it owes nothing."""
    if connection.vendor == "postgresql":
        hold_sql.release(request_id=request_id)
        return
    with transaction.atomic():
        hold = WalletHold.objects.select_for_update().filter(request_id=request_id).first()
        if hold is None:
            return
        hold.delete()
        _wallet(hold.organization_id, hold.currency).update(
            reserved_micros=F("reserved_micros") - hold.amount_micros
        )


def release_wallet_holds(*, now: datetime | None = None) -> HoldRelease:
    """Release the holds whose answers rating has drawn from the wallet. Re-running it
    releases nothing twice.

    A hold is due once its answer is over: settled, or older than BILLING_HOLD_TTL_S (an
    answer that completed at its worst case is not settled; one whose process died never
    is). A due hold is marked with the usage high-water mark (its answer's events, if any,
    were committed before: at or below it) and released when rating has passed the mark.
    """
    now = now or timezone.now()
    due = WalletHold.objects.filter(rated_after_event_id__isnull=True).filter(
        Q(status=WalletHold.Status.SETTLED) | Q(expires_at__lte=now)
    )
    marked = (
        due.update(rated_after_event_id=licensing.usage_high_water_mark()) if due.exists() else 0
    )
    cursor = RatingCursor.objects.filter(name=USAGE_CURSOR).values_list("position", flat=True)
    position = cursor.first() or 0
    released = _release(WalletHold.objects.filter(rated_after_event_id__lte=position))
    return HoldRelease(marked=marked, released=released)


def _release(holds) -> int:  # type: ignore[no-untyped-def]
    """Delete these holds and take their amounts off their wallets' reserved, in one go."""
    with transaction.atomic():
        rows = list(
            holds.select_for_update(skip_locked=True).values_list(
                "request_id", "organization_id", "currency", "amount_micros"
            )
        )
        if not rows:
            return 0
        WalletHold.objects.filter(request_id__in=[r[0] for r in rows]).delete()
        totals: dict[tuple[uuid.UUID, str], int] = {}
        for _, organization_id, currency, amount in rows:
            key = (organization_id, currency)
            totals[key] = totals.get(key, 0) + amount
        for (organization_id, currency), amount in sorted(totals.items(), key=str):
            _wallet(organization_id, currency).update(reserved_micros=F("reserved_micros") - amount)
    return len(rows)


def reserved_total(*, organization_id: uuid.UUID, currency: str) -> int:
    """Return what the organization's holds add up to (equals the wallet's reserved)."""
    total: int | None = WalletHold.objects.filter(
        organization_id=organization_id, currency=currency
    ).aggregate(total=Sum("amount_micros"))["total"]
    return total or 0
