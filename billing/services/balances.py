"""Balances as their rows keep them, wallets, credits and how an organization pays."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import Account, BillingProfile, Purpose, Transaction
from billing.services.ledger import post_transaction
from billing.services.types import (
    NewTransaction,
    TransactionInfo,
    credit,
    debit,
    normal_balance,
    org_account,
    platform_account,
)


@dataclass(frozen=True)
class CurrencyBalance:
    """An organization's balances in one currency, each on its normal side (zero or more
    for a wallet; what is owed, positive, for a receivable or a payable)."""

    currency: str
    wallet_micros: int  # prepaid funds held for the agent
    reserved_micros: int  # held against the wallet for answers not yet settled
    available_micros: int  # wallet minus reserved
    receivable_micros: int  # what the organization owes (postpaid, or beyond its wallet)
    payable_micros: int  # what the organization has earned as a provider and not been paid
    agent_payable_micros: int  # what the platform owes the organization as an agent
    advertiser_prepaid_micros: int  # campaign funds


@dataclass(frozen=True)
class Balance:
    organization_id: uuid.UUID
    postpaid: bool
    currencies: tuple[CurrencyBalance, ...]


def billing_organization_id(
    actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> uuid.UUID:
    """Return the organization whose money the actor may see (`billing` scope, membership)."""
    accounts.require_scope(actor, accounts.BILLING)
    if organization_id is None and actor.api_key_id is not None:
        organization_id = actor.organization_id
    if organization_id is None:
        mine = accounts.list_organizations(actor=actor)
        if len(mine) != 1:
            raise errors.ValidationFailed(
                "You belong to several organizations; say which one you act for.",
                code="organization_required",
                details={"organization_id": ["Name the organization you act for."]},
            )
        return mine[0].id
    return accounts.get_organization(actor=actor, organization_id=organization_id).id


def balance_of(*, organization_id: uuid.UUID) -> Balance:
    """Return an organization's balances, read from the balance rows (no history summed)."""
    by_currency: dict[str, dict[str, tuple[int, int]]] = {}
    rows = Account.objects.filter(organization_id=organization_id).values_list(
        "currency", "purpose", "balance_micros", "reserved_micros"
    )
    for currency, purpose, balance, reserved in rows:
        by_currency.setdefault(currency, {})[purpose] = (
            normal_balance(purpose, balance),
            reserved,
        )
    if not by_currency:
        by_currency[settings.LICENSING_CURRENCY] = {}
    lines = []
    for currency in sorted(by_currency):
        purposes = by_currency[currency]

        def amount(purpose: str, purposes: dict[str, tuple[int, int]] = purposes) -> int:
            return purposes.get(purpose, (0, 0))[0]

        wallet, reserved = purposes.get(Purpose.AGENT_WALLET, (0, 0))
        lines.append(
            CurrencyBalance(
                currency=currency,
                wallet_micros=wallet,
                reserved_micros=reserved,
                available_micros=wallet - reserved,
                receivable_micros=amount(Purpose.AGENT_RECEIVABLE),
                payable_micros=amount(Purpose.PROVIDER_PAYABLE),
                agent_payable_micros=amount(Purpose.AGENT_PAYABLE),
                advertiser_prepaid_micros=amount(Purpose.ADVERTISER_PREPAID),
            )
        )
    return Balance(
        organization_id=organization_id,
        postpaid=is_postpaid(organization_id=organization_id),
        currencies=tuple(lines),
    )


def get_balance(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> Balance:
    """Return the acting organization's balances (`billing` scope)."""
    return balance_of(organization_id=billing_organization_id(actor, organization_id))


def is_postpaid(*, organization_id: uuid.UUID) -> bool:
    """Say whether the organization is invoiced monthly rather than drawing on a wallet."""
    return BillingProfile.objects.filter(organization_id=organization_id, postpaid=True).exists()


def set_postpaid(*, organization_id: uuid.UUID, postpaid: bool) -> None:
    """Make an organization postpaid or prepaid (an operator's decision)."""
    BillingProfile.objects.update_or_create(
        organization_id=organization_id, defaults={"postpaid": postpaid}
    )


def postpaid_organizations(organization_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Return which of these organizations are postpaid."""
    return set(
        BillingProfile.objects.filter(
            organization_id__in=organization_ids, postpaid=True
        ).values_list("organization_id", flat=True)
    )


def grant_credit(
    *,
    organization_id: uuid.UUID,
    amount_micros: int,
    idempotency_key: str,
    currency: str | None = None,
    purpose: str = Purpose.AGENT_WALLET,
    memo: str = "Credit granted",
) -> TransactionInfo:
    """Credit an organization's wallet (or advertiser prepaid) at the platform's expense;
    granting again under the same key changes nothing."""
    if amount_micros <= 0:
        raise errors.ValidationFailed("A credit is more than zero.")
    if purpose not in (Purpose.AGENT_WALLET, Purpose.ADVERTISER_PREPAID):
        raise errors.ValidationFailed("Credits go to a wallet or an advertiser's prepaid funds.")
    currency = currency or settings.LICENSING_CURRENCY
    with transaction.atomic():
        return post_transaction(
            NewTransaction(
                idempotency_key=f"credit:{idempotency_key}",
                kind=Transaction.Kind.CREDIT,
                legs=(
                    debit(platform_account(Purpose.PLATFORM_PROMOTIONS, currency), amount_micros),
                    credit(org_account(organization_id, purpose, currency), amount_micros),
                ),
                effective_at=timezone.now(),
                memo=memo,
            )
        )
