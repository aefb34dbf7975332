"""Low-balance thresholds and automatic top-ups with a saved card (off session).

An organization sets a threshold on its wallet's available balance and, optionally, an amount
to top up automatically with a card it saved. `check_low_balances` (a periodic task) flags the
wallets under their threshold and, for those with auto top-up, starts one off-session
PaymentIntent unless one is already in flight; the webhook credits it like any top-up.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import Account, FundingProfile, Purpose, TopUp
from billing.services import gateway
from billing.services.balances import billing_organization_id
from billing.services.currency import to_minor_units
from billing.services.top_ups import _check_amount, _fail, ensure_customer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FundingInfo:
    organization_id: uuid.UUID
    low_balance_micros: int
    auto_top_up_micros: int
    has_payment_method: bool
    low_balance_since: datetime | None
    stripe_configured: bool


def _funding_info(row: FundingProfile) -> FundingInfo:
    return FundingInfo(
        organization_id=row.organization_id,
        low_balance_micros=row.low_balance_micros,
        auto_top_up_micros=row.auto_top_up_micros,
        has_payment_method=bool(row.payment_method_id),
        low_balance_since=row.low_balance_since,
        stripe_configured=gateway.configured(),
    )


def get_funding(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> FundingInfo:
    org_id = billing_organization_id(actor, organization_id)
    row, _ = FundingProfile.objects.get_or_create(organization_id=org_id)
    return _funding_info(row)


def update_funding(
    *,
    actor: accounts.Actor,
    organization_id: uuid.UUID | str | None = None,
    low_balance_micros: int | None = None,
    auto_top_up_micros: int | None = None,
    payment_method_id: str | None = None,
) -> FundingInfo:
    """Set the low-balance threshold, the auto top-up amount (0: off) and the saved card."""
    org_id = billing_organization_id(actor, organization_id)
    row, _ = FundingProfile.objects.get_or_create(organization_id=org_id)
    if low_balance_micros is not None:
        if low_balance_micros < 0:
            raise errors.ValidationFailed("low_balance_micros is zero or more.")
        row.low_balance_micros = low_balance_micros
    if auto_top_up_micros is not None:
        if auto_top_up_micros:
            _check_amount(auto_top_up_micros, settings.LICENSING_CURRENCY)
        row.auto_top_up_micros = auto_top_up_micros
    if payment_method_id is not None:
        if payment_method_id and not gateway.configured():
            raise gateway._not_configured()
        if payment_method_id:
            gateway.attach_payment_method(
                payment_method_id=payment_method_id, customer_id=ensure_customer(org_id)
            )
        row.payment_method_id = payment_method_id
    if row.auto_top_up_micros and not row.payment_method_id:
        raise errors.Conflict(
            "Automatic top-up needs a saved card: send payment_method_id too (or save one first).",
            code="no_payment_method",
        )
    row.save()
    return _funding_info(row)


@dataclass(frozen=True)
class LowBalanceRun:
    low: int  # wallets under their threshold
    started: int  # automatic top-ups started


def check_low_balances() -> LowBalanceRun:
    """Flag wallets under their threshold; start their automatic top-ups (one at a time)."""
    currency = settings.LICENSING_CURRENCY
    profiles = FundingProfile.objects.filter(low_balance_micros__gt=0)
    low = started = 0
    for profile in profiles:
        wallet = (
            Account.objects.filter(
                organization_id=profile.organization_id,
                purpose=Purpose.AGENT_WALLET,
                currency=currency,
            )
            .annotate(available=-F("balance_micros") - F("reserved_micros"))
            .values_list("available", flat=True)
            .first()
        ) or 0
        if wallet >= profile.low_balance_micros:
            if profile.low_balance_since is not None:
                FundingProfile.objects.filter(pk=profile.pk).update(low_balance_since=None)
            continue
        low += 1
        if profile.low_balance_since is None:
            FundingProfile.objects.filter(pk=profile.pk).update(low_balance_since=timezone.now())
            logger.warning(
                "wallet of %s is low: %s micros available, threshold %s",
                profile.organization_id,
                wallet,
                profile.low_balance_micros,
            )
        if profile.auto_top_up_micros and profile.payment_method_id and gateway.configured():
            started += _auto_top_up(profile, currency)
    return LowBalanceRun(low=low, started=started)


def _auto_top_up(profile: FundingProfile, currency: str) -> int:
    in_flight = TopUp.objects.filter(
        organization_id=profile.organization_id,
        method=TopUp.Method.AUTOMATIC,
        status=TopUp.Status.PENDING,
    ).exists()
    if in_flight:
        return 0
    row = TopUp.objects.create(
        organization_id=profile.organization_id,
        purpose=Purpose.AGENT_WALLET,
        amount_micros=profile.auto_top_up_micros,
        currency=currency,
        method=TopUp.Method.AUTOMATIC,
    )
    try:
        intent = gateway.create_payment_intent(
            amount_minor=to_minor_units(row.amount_micros, currency),
            currency=currency,
            customer_id=ensure_customer(profile.organization_id),
            metadata={
                "top_up_id": str(row.id),
                "organization_id": str(row.organization_id),
                "purpose": row.purpose,
            },
            idempotency_key=f"top-up-{row.id}",
            payment_method_id=profile.payment_method_id,
            off_session=True,
        )
    except errors.DomainError as exc:
        _fail(row.id, exc.message)
        logger.warning("automatic top-up of %s failed: %s", profile.organization_id, exc.message)
        return 0
    TopUp.objects.filter(id=row.id).update(payment_intent_id=intent.id)
    return 1
