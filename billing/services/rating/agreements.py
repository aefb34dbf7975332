"""Charging agreements paid per period (subscriptions) or once (purchases).

A subscription's period k runs from `starts_at + k * length`; it is charged (key
`subscription:<agreement>:<k>`) when it starts, the first at acceptance. A paid period moves
the agreement's end to the end of that period (a renewal). An unpaid one is tried again on
every pass; meanwhile the agreement runs on for the grace period (BILLING_GRACE_PERIOD_S,
at most one period), and lapses when the grace ends unpaid: it entitles nothing more and
says why (`renewal_unpaid`). A purchase is charged once (`purchase:<agreement>`), and lapses
the same way if it stays unpaid.

Prepaid agents pay from their wallets, in full or not at all; postpaid agents are invoiced
(their receivable), so their charges are always made.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import Transaction
from billing.services.balances import postpaid_organizations
from billing.services.ledger import post_transactions, posted_keys
from billing.services.rating.shares import Funding, accounts_touched, earning_legs
from billing.services.types import NewTransaction
from licensing import services as licensing

MAX_CATCH_UP = 400  # periods charged at most per agreement and pass (a year of days)


@dataclass(frozen=True)
class ChargeRun:
    charged: int  # periods and purchases charged
    renewed: int  # agreements whose end moved to a paid period's end
    unpaid: int  # charges due and not paid (in their grace period)
    lapsed: int  # agreements ended for an unpaid charge
    expired: int  # subscriptions past their end that nothing renews


def subscription_key(agreement_id: object, period: int) -> str:
    return f"subscription:{agreement_id}:{period}"


def purchase_key(agreement_id: object) -> str:
    return f"purchase:{agreement_id}"


def _grace(length: timedelta | None) -> timedelta:
    grace = timedelta(seconds=settings.BILLING_GRACE_PERIOD_S)
    return grace if length is None else min(grace, length)


def _keys(agreement: licensing.BillableAgreement, now: datetime) -> list[str]:
    if agreement.period_length is None:
        return [purchase_key(agreement.id)]
    started = max(0, (now - agreement.starts_at) // agreement.period_length)
    return [subscription_key(agreement.id, k) for k in range(min(started, MAX_CATCH_UP) + 1)]


def charge_agreements(*, now: datetime | None = None) -> ChargeRun:
    """Charge every subscription period and purchase that is due; renew, lapse or end the
    agreements accordingly. Re-running it charges nothing twice."""
    now = now or timezone.now()
    agreements = licensing.billable_agreements()
    posted = posted_keys(key for a in agreements for key in _keys(a, now))
    postpaid = postpaid_organizations({a.agent_id for a in agreements})
    totals = {"charged": 0, "renewed": 0, "unpaid": 0, "lapsed": 0, "expired": 0}
    for agreement in agreements:
        outcome = _settle(agreement, now, posted, agreement.agent_id in postpaid)
        for name in outcome:
            totals[name] += 1
    return ChargeRun(**totals)


def _settle(
    agreement: licensing.BillableAgreement, now: datetime, posted: set[str], postpaid: bool
) -> list[str]:
    """Bring one agreement up to date; return what happened (names of ChargeRun counts)."""
    happened: list[str] = []
    length = agreement.period_length
    if length is None:
        if purchase_key(agreement.id) in posted:
            return happened
        if _charge(agreement, purchase_key(agreement.id), now, postpaid):
            return ["charged"]
        return _unpaid(agreement, agreement.starts_at, now, happened)
    for period in range(MAX_CATCH_UP + 1):
        due_at = agreement.starts_at + period * length
        if due_at > now:
            return happened
        key = subscription_key(agreement.id, period)
        if key in posted:
            continue
        if agreement.expires_at is not None and due_at >= agreement.expires_at:
            break  # the offer version ended: nothing renews past it
        if not _charge(agreement, key, now, postpaid):
            return _unpaid(agreement, due_at, now, happened)
        happened.append("charged")
        extended = licensing.extend_agreement(agreement_id=agreement.id, ends_at=due_at + length)
        if extended and period:
            happened.append("renewed")
    if licensing.end_agreement(agreement_id=agreement.id):
        happened.append("expired")
    return happened


def _unpaid(
    agreement: licensing.BillableAgreement, due_at: datetime, now: datetime, happened: list[str]
) -> list[str]:
    grace_ends = due_at + _grace(agreement.period_length)
    if now >= grace_ends:
        if licensing.lapse_agreement(agreement_id=agreement.id, reason=licensing.RENEWAL_UNPAID):
            happened.append("lapsed")
        return happened
    licensing.extend_agreement(agreement_id=agreement.id, ends_at=grace_ends)
    happened.append("unpaid")
    return happened


def _charge(
    agreement: licensing.BillableAgreement, key: str, now: datetime, postpaid: bool
) -> bool:
    """Charge one period or purchase; return whether it was paid (and so posted)."""
    currency, price = agreement.currency, agreement.price_micros
    with transaction.atomic():
        funding = Funding(
            accounts_touched([(agreement.agent_id, currency)], [(agreement.provider_id, currency)]),
            {agreement.agent_id} if postpaid else set(),
        )
        if not postpaid and funding.wallet_micros(agreement.agent_id, currency) < price:
            return False
        kind = Transaction.Kind.PURCHASE if key.startswith("purchase") else "subscription"
        post_transactions(
            [
                NewTransaction(
                    idempotency_key=key,
                    kind=kind,
                    legs=(
                        *funding.charge(agreement.agent_id, currency, price),
                        *earning_legs(
                            provider_id=agreement.provider_id,
                            payment_type=kind,
                            amount_micros=price,
                            currency=currency,
                        ),
                    ),
                    effective_at=now,
                    agreement_id=agreement.id,
                    memo=f"{agreement.offer_name}: {kind}"[:200],
                )
            ]
        )
    return True
