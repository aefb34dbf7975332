"""Charging a subscription's first period or a purchase when the agent accepts the offer.

Licensing calls `charge_at_acceptance` (LICENSING_ON_ACCEPT) in the database transaction that
makes the agreement, so the agreement and its first charge are written together or not at all:
a prepaid agent whose wallet cannot pay is refused with 402 `insufficient_funds` and holds no
licence. The charge is posted under the key the periodic pass uses
(`subscription:<agreement>:0`, `purchase:<agreement>`), so that pass finds it paid and charges
nothing again; renewals, grace periods and lapses stay with the pass (`agreements.py`).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from billing import errors
from billing.models import Account, Purpose
from billing.services.balances import is_postpaid
from billing.services.ledger import get_transaction, lock_accounts
from billing.services.rating.agreements import _charge, purchase_key, subscription_key
from billing.services.types import TransactionInfo, org_account
from core.money import format_money
from licensing import services as licensing


def _available(agent_id: uuid.UUID, currency: str) -> int:
    """Lock the agent's wallet and return what it holds less what answers in flight hold."""
    wallet = org_account(agent_id, Purpose.AGENT_WALLET, currency)
    (account_id, balance) = lock_accounts([wallet])[wallet]
    reserved = Account.objects.filter(id=account_id).values_list("reserved_micros", flat=True)
    return -balance - (reserved.first() or 0)


def charge_at_acceptance(*, agreement_id: uuid.UUID) -> TransactionInfo | None:
    """Charge an agreement's first period (subscription) or its price (purchase) now; return
    the charge, or None when the agreement is paid some other way (per use, revenue share,
    free). Raises InsufficientFunds, writing nothing, when a prepaid wallet cannot pay it."""
    agreement = licensing.billable_agreement(agreement_id=agreement_id)
    if agreement is None:
        return None
    key = (
        purchase_key(agreement.id)
        if agreement.period_length is None
        else subscription_key(agreement.id, 0)
    )
    postpaid = is_postpaid(organization_id=agreement.agent_id)
    currency = agreement.currency
    with transaction.atomic():
        # What answers in flight hold on the wallet (reserved) is not the licence's to take.
        available = None if postpaid else _available(agreement.agent_id, currency)
        paid = available is None or available >= agreement.price_micros
        if paid and not _charge(agreement, key, timezone.now(), postpaid):
            paid = False
        if not paid:
            what = "first period" if agreement.period_length is not None else "price"
            raise errors.InsufficientFunds(
                f"Your wallet cannot pay this licence's {what} "
                f"({format_money(agreement.price_micros, currency)}; "
                f"{format_money(available or 0, currency)} available); top it up and accept again.",
                details={
                    "agreement_price_micros": agreement.price_micros,
                    "available_micros": available or 0,
                    "currency": currency,
                    "offer_id": str(agreement.offer_id),
                },
            )
    return get_transaction(idempotency_key=key)
