"""Provider payouts: Connect Express onboarding, and transfers of payable balances.

A payout is decided in one database transaction: the Payout row (pending) and its ledger
transaction (debit provider payable, credit Stripe clearing, key `payout:<id>`), so the same
money is never paid twice. The transfer is asked of Stripe after commit, under the key
`payout-<id>`: a retry (the periodic task retries pending payouts) repeats the same request and
Stripe answers it once. A transfer Stripe refuses fails the payout and reverses its ledger
transaction; `transfer.reversed` does the same for a paid one. Each payout pays for the
provider-payable entries posted since the previous payout (its statement).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import Account, ConnectedAccount, Entry, Payout, Purpose, Transaction
from billing.services import gateway
from billing.services.balances import billing_organization_id
from billing.services.currency import from_minor_units, to_minor_units
from billing.services.ledger import post_transaction, reverse_transaction
from billing.services.types import NewTransaction, credit, debit, org_account, platform_account

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectInfo:
    account_id: str
    payouts_enabled: bool
    details_submitted: bool
    onboarding_url: str = ""  # a one-time link, given when onboarding is started
    onboarding_expires_at: int | None = None


@dataclass(frozen=True)
class PayoutInfo:
    id: uuid.UUID
    organization_id: uuid.UUID
    stripe_account_id: str
    amount_micros: int
    currency: str
    status: str
    transfer_id: str
    failure_message: str
    created_at: datetime
    paid_at: datetime | None


def _provider(actor: accounts.Actor, organization_id: uuid.UUID | str | None) -> uuid.UUID:
    org_id = billing_organization_id(actor, organization_id)
    organization = accounts.get_organization(actor=actor, organization_id=org_id)
    if accounts.PROVIDER not in organization.roles:
        raise errors.PermissionDenied(
            "Only providers are paid out; this organization is not one.", code="wrong_role"
        )
    return org_id


def _connect_info(
    row: ConnectedAccount, link: gateway.AccountLinkInfo | None = None
) -> ConnectInfo:
    return ConnectInfo(
        account_id=row.stripe_account_id,
        payouts_enabled=row.payouts_enabled,
        details_submitted=row.details_submitted,
        onboarding_url=link.url if link else "",
        onboarding_expires_at=link.expires_at if link else None,
    )


def start_onboarding(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> ConnectInfo:
    """Create the provider's Express account (the first time) and a fresh onboarding link."""
    org_id = _provider(actor, organization_id)
    if not gateway.configured():
        raise gateway._not_configured()
    row = ConnectedAccount.objects.filter(organization_id=org_id).first()
    if row is None:
        account = gateway.create_express_account(
            organization_id=str(org_id), idempotency_key=f"connect-{org_id}"
        )
        try:
            row, _ = ConnectedAccount.objects.get_or_create(
                organization_id=org_id,
                defaults={
                    "stripe_account_id": account.id,
                    "payouts_enabled": account.payouts_enabled,
                    "details_submitted": account.details_submitted,
                },
            )
        except IntegrityError:  # made meanwhile by a racing request (same idempotency key)
            row = ConnectedAccount.objects.get(organization_id=org_id)
    portal = settings.BILLING_PORTAL_URL
    link = gateway.create_account_link(
        account_id=row.stripe_account_id,
        refresh_url=f"{portal}/orgs/{org_id}/billing/?connect=expired",
        return_url=f"{portal}/orgs/{org_id}/billing/?connect=done",
    )
    return _connect_info(row, link)


def get_connect_status(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> ConnectInfo:
    org_id = _provider(actor, organization_id)
    row = ConnectedAccount.objects.filter(organization_id=org_id).first()
    if row is None:
        raise errors.NotFound(
            "No connected Stripe account yet: start onboarding with POST /api/v1/billing/connect.",
            code="no_connected_account",
        )
    return _connect_info(row)


def apply_account_update(*, account: dict[str, object], event_created: datetime) -> bool:
    """Apply an account.updated event unless a newer one was applied; return whether it was."""
    with transaction.atomic():
        row = (
            ConnectedAccount.objects.select_for_update()
            .filter(stripe_account_id=str(account.get("id", "")))
            .first()
        )
        if row is None or (row.updated_by_event_at and row.updated_by_event_at > event_created):
            return False
        row.payouts_enabled = bool(account.get("payouts_enabled"))
        row.details_submitted = bool(account.get("details_submitted"))
        row.updated_by_event_at = event_created
        row.save(update_fields=["payouts_enabled", "details_submitted", "updated_by_event_at"])
    return True


def _payout_info(row: Payout) -> PayoutInfo:
    return PayoutInfo(
        id=row.id,
        organization_id=row.organization_id,
        stripe_account_id=row.stripe_account_id,
        amount_micros=row.amount_micros,
        currency=row.currency,
        status=row.status,
        transfer_id=row.transfer_id,
        failure_message=row.failure_message,
        created_at=row.created_at,
        paid_at=row.paid_at,
    )


def request_payout(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> PayoutInfo:
    """Pay the acting provider's payable balance now (at least BILLING_PAYOUT_MINIMUM_MICROS)."""
    org_id = _provider(actor, organization_id)
    return pay_provider(organization_id=org_id, currency=settings.LICENSING_CURRENCY)


def pay_provider(*, organization_id: uuid.UUID, currency: str) -> PayoutInfo:
    """Pay a provider's payable balance (whole minor units) to its connected account.

    Refused, with the balance untouched: no connected account or payouts not enabled (409),
    Stripe not configured (409), a balance below the minimum (409).
    """
    connected = ConnectedAccount.objects.filter(organization_id=organization_id).first()
    if connected is None:
        raise errors.Conflict(
            "This provider has no connected Stripe account: onboard first "
            "(POST /api/v1/billing/connect). Its payable balance is untouched.",
            code="no_connected_account",
        )
    if not connected.payouts_enabled:
        raise errors.Conflict(
            "Stripe has not enabled payouts for this provider's account yet: finish onboarding. "
            "Its payable balance is untouched.",
            code="payouts_not_enabled",
        )
    if not gateway.configured():
        raise gateway._not_configured()
    payout = _decide_payout(organization_id, currency, connected.stripe_account_id)
    return _transfer(payout.id)


def _decide_payout(organization_id: uuid.UUID, currency: str, stripe_account_id: str) -> Payout:
    with transaction.atomic():
        account = (
            Account.objects.select_for_update()
            .filter(
                organization_id=organization_id,
                purpose=Purpose.PROVIDER_PAYABLE,
                currency=currency,
            )
            .first()
        )
        pending = Payout.objects.filter(
            organization_id=organization_id, currency=currency, status=Payout.Status.PENDING
        ).first()
        if pending is not None:  # in flight: its transfer is retried, nothing new is decided
            return pending
        payable = -account.balance_micros if account else 0
        amount = from_minor_units(to_minor_units(payable, currency), currency)
        minimum = settings.BILLING_PAYOUT_MINIMUM_MICROS
        if account is None or amount < max(minimum, 1):
            raise errors.Conflict(
                f"The payable balance ({payable} micros) is below the payout minimum "
                f"({minimum} micros).",
                code="below_payout_minimum",
                details={"payable_micros": payable, "minimum_micros": minimum},
            )
        through = Entry.objects.filter(account_id=account.id).aggregate(last=Max("id"))["last"]
        after = (
            Payout.objects.filter(
                organization_id=organization_id,
                currency=currency,
                status__in=[Payout.Status.PENDING, Payout.Status.PAID],
            ).aggregate(last=Max("entries_through_id"))["last"]
            or 0
        )
        payout = Payout.objects.create(
            organization_id=organization_id,
            stripe_account_id=stripe_account_id,
            amount_micros=amount,
            currency=currency,
            entries_after_id=after,
            entries_through_id=through or 0,
        )
        post_transaction(
            NewTransaction(
                idempotency_key=f"payout:{payout.id}",
                kind=Transaction.Kind.PAYOUT,
                legs=(
                    debit(org_account(organization_id, Purpose.PROVIDER_PAYABLE, currency), amount),
                    credit(platform_account(Purpose.STRIPE_CLEARING, currency), amount),
                ),
                effective_at=payout.created_at,
                memo=f"Payout {payout.id}",
            )
        )
    return payout


def _transfer(payout_id: uuid.UUID) -> PayoutInfo:
    """Ask Stripe to transfer a pending payout (again, under the same key); record the answer."""
    row = Payout.objects.get(id=payout_id)
    if row.status != Payout.Status.PENDING:
        return _payout_info(row)
    Payout.objects.filter(id=row.id).update(attempts=row.attempts + 1)
    try:
        transfer_id = gateway.create_transfer(
            amount_minor=to_minor_units(row.amount_micros, row.currency),
            currency=row.currency,
            destination=row.stripe_account_id,
            metadata={"payout_id": str(row.id), "organization_id": str(row.organization_id)},
            idempotency_key=f"payout-{row.id}",
        )
    except errors.StripeUnavailable:
        logger.warning("payout %s: Stripe unavailable; the transfer will be retried", row.id)
        return _payout_info(Payout.objects.get(id=row.id))
    except errors.DomainError as exc:
        _undo(row.id, Payout.Status.FAILED, exc.message)
        return _payout_info(Payout.objects.get(id=row.id))
    with transaction.atomic():
        row = Payout.objects.select_for_update().get(id=row.id)
        if row.status == Payout.Status.PENDING:
            row.status = Payout.Status.PAID
            row.paid_at = timezone.now()
        row.transfer_id = transfer_id
        row.save(update_fields=["status", "paid_at", "transfer_id"])
    return _payout_info(row)


def _undo(payout_id: uuid.UUID, status: str, message: str) -> bool:
    """Fail or reverse a payout: its ledger transaction is reversed (payable again)."""
    with transaction.atomic():
        row = Payout.objects.select_for_update().get(id=payout_id)
        if row.status in (Payout.Status.FAILED, Payout.Status.REVERSED):
            return False
        original = Transaction.objects.get(idempotency_key=f"payout:{row.id}")
        reverse_transaction(transaction_id=original.id, memo=f"Payout {row.id} {status}")
        row.status = status
        row.failure_message = message[:500]
        row.save(update_fields=["status", "failure_message"])
    return True


def reverse_payout(*, transfer: dict[str, object]) -> bool:
    """Apply transfer.reversed: the provider's payable balance is restored (once)."""
    metadata = transfer.get("metadata") or {}
    payout_id = metadata.get("payout_id") if isinstance(metadata, dict) else None
    rows = Payout.objects.filter(transfer_id=str(transfer.get("id", "")))
    if payout_id:
        try:
            rows = Payout.objects.filter(id=uuid.UUID(str(payout_id)))
        except ValueError:
            return False
    row = rows.first()
    if row is None:
        return False
    return _undo(row.id, Payout.Status.REVERSED, "The transfer was reversed.")


def pay_providers(*, currency: str | None = None) -> list[PayoutInfo]:
    """Retry pending payouts, then pay every provider with payouts enabled whose payable
    balance reaches the minimum (the periodic task)."""
    currency = currency or settings.LICENSING_CURRENCY
    done = [
        _transfer(pid)
        for pid in Payout.objects.filter(status=Payout.Status.PENDING).values_list("id", flat=True)
    ]
    if not gateway.configured():
        return done
    due = Account.objects.filter(
        purpose=Purpose.PROVIDER_PAYABLE,
        currency=currency,
        balance_micros__lte=-max(settings.BILLING_PAYOUT_MINIMUM_MICROS, 1),
        organization__connected_account__payouts_enabled=True,
    ).values_list("organization_id", flat=True)
    for organization_id in due:
        try:
            done.append(pay_provider(organization_id=organization_id, currency=currency))
        except errors.DomainError as exc:  # one provider's problem stops no other payout
            logger.warning("payout for %s not made: %s", organization_id, exc.message)
    return done
