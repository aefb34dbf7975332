"""Wallet top-ups through Stripe: asked for by the organization, credited when Stripe confirms.

`create_top_up` writes a pending TopUp row, then (after commit, outside any transaction) asks
Stripe for a PaymentIntent or a Checkout Session under the key `top-up-<id>`. The wallet is
credited only by the webhook that says the payment succeeded (`credit_top_up`): debit Stripe
clearing, credit the wallet, under the ledger key `top_up:<id>`. A refund (`refund_top_up`)
takes the refunded amount back out of the wallet (what the wallet no longer holds becomes a
receivable), under a key per cumulative refunded amount, so replays and any order are safe.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import Account, FundingProfile, Purpose, TopUp, Transaction
from billing.services import gateway
from billing.services.balances import billing_organization_id
from billing.services.currency import (
    from_minor_units,
    is_whole_minor_units,
    micros_per_minor_unit,
    to_minor_units,
)
from billing.services.ledger import post_transaction
from billing.services.types import NewTransaction, credit, debit, org_account, platform_account

TOP_UP_PURPOSES = {
    accounts.AGENT: Purpose.AGENT_WALLET,
    accounts.ADVERTISER: Purpose.ADVERTISER_PREPAID,
}


@dataclass(frozen=True)
class TopUpInfo:
    id: uuid.UUID
    organization_id: uuid.UUID
    purpose: str
    amount_micros: int
    currency: str
    method: str
    status: str
    refunded_micros: int
    payment_intent_id: str
    checkout_session_id: str
    failure_message: str
    created_at: datetime
    credited_at: datetime | None
    # What the client needs to pay, given only when the top-up is created.
    client_secret: str = ""
    checkout_url: str = ""


def _info(row: TopUp, *, client_secret: str = "", checkout_url: str = "") -> TopUpInfo:
    return TopUpInfo(
        id=row.id,
        organization_id=row.organization_id,
        purpose=row.purpose,
        amount_micros=row.amount_micros,
        currency=row.currency,
        method=row.method,
        status=row.status,
        refunded_micros=row.refunded_micros,
        payment_intent_id=row.payment_intent_id,
        checkout_session_id=row.checkout_session_id,
        failure_message=row.failure_message,
        created_at=row.created_at,
        credited_at=row.credited_at,
        client_secret=client_secret,
        checkout_url=checkout_url,
    )


def _check_amount(amount_micros: int, currency: str) -> None:
    low, high = settings.BILLING_TOP_UP_MIN_MICROS, settings.BILLING_TOP_UP_MAX_MICROS
    if isinstance(amount_micros, bool) or not isinstance(amount_micros, int):
        raise errors.ValidationFailed("amount_micros is an integer.")
    if amount_micros <= 0:
        raise errors.ValidationFailed(
            "A top-up adds more than zero.", details={"amount_micros": ["More than zero."]}
        )
    if not low <= amount_micros <= high:
        raise errors.ValidationFailed(
            f"A top-up is between {low} and {high} micros.",
            details={"amount_micros": [f"Between {low} and {high}."]},
        )
    if not is_whole_minor_units(amount_micros, currency):
        step = micros_per_minor_unit(currency)
        raise errors.ValidationFailed(
            f"A top-up is a whole number of the currency's minor units (a multiple of {step} "
            "micros).",
            details={"amount_micros": [f"A multiple of {step}."]},
        )


def ensure_customer(organization_id: uuid.UUID) -> str:
    """Return the organization's Stripe customer id, creating the customer the first time."""
    profile, _ = FundingProfile.objects.get_or_create(organization_id=organization_id)
    if profile.stripe_customer_id:
        return profile.stripe_customer_id
    names = accounts.organization_names(organization_ids=[organization_id])
    customer_id = gateway.create_customer(
        name=names.get(organization_id, str(organization_id)),
        organization_id=str(organization_id),
        idempotency_key=f"customer-{organization_id}",  # two racing calls get one customer
    )
    FundingProfile.objects.filter(organization_id=organization_id).update(
        stripe_customer_id=customer_id
    )
    return customer_id


def create_top_up(
    *,
    actor: accounts.Actor,
    amount_micros: int,
    organization_id: uuid.UUID | str | None = None,
    method: str = TopUp.Method.PAYMENT_INTENT,
    purpose: str | None = None,
) -> TopUpInfo:
    """Start a top-up of the acting organization's wallet (agents) or prepaid ad funds
    (advertisers); return what the client needs to pay (a client secret or a Checkout URL).

    `purpose` (`agent_wallet` or `advertiser_prepaid`) says which, for an organization that
    is both; by default the only one its roles allow (the wallet, for one that is both)."""
    org_id = billing_organization_id(actor, organization_id)
    roles = accounts.get_organization(actor=actor, organization_id=org_id).roles
    purposes = [p for role, p in TOP_UP_PURPOSES.items() if role in roles]
    if purpose is not None and purpose not in TOP_UP_PURPOSES.values():
        raise errors.ValidationFailed(
            "purpose is agent_wallet or advertiser_prepaid.",
            details={"purpose": ["agent_wallet or advertiser_prepaid."]},
        )
    if purpose is not None and purpose not in purposes:
        raise errors.PermissionDenied(
            f"This organization has no {purpose.replace('_', ' ')} to top up.", code="wrong_role"
        )
    if not purposes:
        raise errors.PermissionDenied(
            "Only agents and advertisers top up a wallet.", code="wrong_role"
        )
    if method not in (TopUp.Method.PAYMENT_INTENT, TopUp.Method.CHECKOUT):
        raise errors.ValidationFailed("method is payment_intent or checkout.")
    currency = settings.LICENSING_CURRENCY
    _check_amount(amount_micros, currency)
    if not gateway.configured():
        raise gateway._not_configured()
    customer_id = ensure_customer(org_id)
    row = TopUp.objects.create(
        organization_id=org_id,
        purpose=purpose or purposes[0],
        amount_micros=amount_micros,
        currency=currency,
        method=method,
    )
    return _start_payment(row, customer_id)


def _start_payment(row: TopUp, customer_id: str) -> TopUpInfo:
    metadata = {
        "top_up_id": str(row.id),
        "organization_id": str(row.organization_id),
        "purpose": row.purpose,
    }
    amount_minor = to_minor_units(row.amount_micros, row.currency)
    try:
        if row.method == TopUp.Method.CHECKOUT:
            portal = settings.BILLING_PORTAL_URL
            session = gateway.create_checkout_session(
                amount_minor=amount_minor,
                currency=row.currency,
                customer_id=customer_id,
                description="Provenant wallet top-up",
                metadata=metadata,
                success_url=f"{portal}/orgs/{row.organization_id}/billing/?top_up={row.id}",
                cancel_url=f"{portal}/orgs/{row.organization_id}/billing/?top_up=canceled",
                idempotency_key=f"top-up-{row.id}",
            )
            row.checkout_session_id = session.id
            row.payment_intent_id = session.payment_intent_id
            row.save(update_fields=["checkout_session_id", "payment_intent_id"])
            return _info(row, checkout_url=session.url)
        intent = gateway.create_payment_intent(
            amount_minor=amount_minor,
            currency=row.currency,
            customer_id=customer_id,
            metadata=metadata,
            idempotency_key=f"top-up-{row.id}",
        )
    except errors.DomainError as exc:
        _fail(row.id, exc.message)
        raise
    row.payment_intent_id = intent.id
    row.save(update_fields=["payment_intent_id"])
    return _info(row, client_secret=intent.client_secret)


def _fail(top_up_id: uuid.UUID, message: str) -> None:
    TopUp.objects.filter(id=top_up_id, status=TopUp.Status.PENDING).update(
        status=TopUp.Status.FAILED, failure_message=message[:500]
    )


def list_top_ups(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None, limit: int = 50
) -> list[TopUpInfo]:
    org_id = billing_organization_id(actor, organization_id)
    return [_info(r) for r in TopUp.objects.filter(organization_id=org_id)[: max(1, limit)]]


def get_top_up(
    *, actor: accounts.Actor, top_up_id: uuid.UUID, organization_id: uuid.UUID | str | None = None
) -> TopUpInfo:
    org_id = billing_organization_id(actor, organization_id)
    row = TopUp.objects.filter(id=top_up_id, organization_id=org_id).first()
    if row is None:
        raise errors.NotFound("Top-up not found.")
    return _info(row)


# -- what Stripe's webhooks say ---------------------------------------------------------------


def find_top_up(*, metadata: dict[str, str], payment_intent_id: str = "") -> TopUp | None:
    """Return the top-up a Stripe object belongs to (by our id in its metadata, or its
    PaymentIntent), or None for a payment that is not a top-up."""
    top_up_id = metadata.get("top_up_id", "")
    try:
        if top_up_id:
            return TopUp.objects.filter(id=uuid.UUID(top_up_id)).first()
    except ValueError:
        return None
    if payment_intent_id:
        return TopUp.objects.filter(payment_intent_id=payment_intent_id).first()
    return None


def credit_top_up(
    *,
    top_up_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reference: str,
    payment_intent_id: str = "",
) -> bool:
    """Credit a top-up Stripe says was paid (once); return whether this call credited it.

    An amount or currency other than the top-up's is refused (nothing credited)."""
    with transaction.atomic():
        row = TopUp.objects.select_for_update().get(id=top_up_id)
        if row.credited_at is not None:
            return False
        paid = from_minor_units(amount_minor, currency.upper())
        if currency.upper() != row.currency or paid != row.amount_micros:
            raise errors.ValidationFailed(
                "Stripe's payment does not match the top-up.",
                code="amount_mismatch",
                details={"expected_micros": row.amount_micros, "paid_micros": paid},
            )
        post_transaction(
            NewTransaction(
                idempotency_key=f"top_up:{row.id}",
                kind=Transaction.Kind.TOP_UP,
                legs=(
                    debit(platform_account(Purpose.STRIPE_CLEARING, row.currency), paid),
                    credit(org_account(row.organization_id, row.purpose, row.currency), paid),
                ),
                effective_at=timezone.now(),
                memo=f"Top-up {row.id}",
                external_ref=reference[:200],
            )
        )
        row.status = TopUp.Status.SUCCEEDED if not row.refunded_micros else row.status
        row.credited_at = timezone.now()
        row.failure_message = ""
        if payment_intent_id and not row.payment_intent_id:
            row.payment_intent_id = payment_intent_id
        row.save(update_fields=["status", "credited_at", "failure_message", "payment_intent_id"])
        FundingProfile.objects.filter(organization_id=row.organization_id).update(
            low_balance_since=None
        )
    return True


def fail_top_up(*, top_up_id: uuid.UUID, message: str) -> None:
    """Mark a pending top-up failed (a credited one stays credited)."""
    _fail(top_up_id, message or "The payment failed.")


def refund_top_up(
    *, top_up_id: uuid.UUID, refunded_minor: int, currency: str, charge_id: str
) -> int:
    """Take a refund out of the wallet; `refunded_minor` is the charge's cumulative refunded
    amount. Return the micros taken now (0 if this refund was applied already)."""
    with transaction.atomic():
        row = TopUp.objects.select_for_update().get(id=top_up_id)
        refunded = min(from_minor_units(refunded_minor, currency.upper()), row.amount_micros)
        change = refunded - row.refunded_micros
        if change <= 0:
            return 0
        wallet_key = org_account(row.organization_id, row.purpose, row.currency)
        wallet = Account.objects.select_for_update().filter(
            organization_id=row.organization_id, purpose=row.purpose, currency=row.currency
        )
        held = -(wallet.values_list("balance_micros", flat=True).first() or 0)
        from_wallet = max(0, min(held, change))
        legs = [credit(platform_account(Purpose.STRIPE_CLEARING, row.currency), change)]
        if from_wallet:
            legs.append(debit(wallet_key, from_wallet))
        if change - from_wallet:  # spent already: the organization owes it back
            receivable = org_account(row.organization_id, Purpose.AGENT_RECEIVABLE, row.currency)
            legs.append(debit(receivable, change - from_wallet))
        post_transaction(
            NewTransaction(
                idempotency_key=f"refund:{row.id}:{refunded}",
                kind=Transaction.Kind.REFUND,
                legs=tuple(legs),
                effective_at=timezone.now(),
                memo=f"Refund of top-up {row.id}",
                external_ref=charge_id[:200],
            )
        )
        row.refunded_micros = refunded
        row.status = TopUp.Status.REFUNDED
        row.save(update_fields=["refunded_micros", "status"])
    return change
