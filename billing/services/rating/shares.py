"""The arithmetic of rating (the platform's take, a revenue share) and who pays a charge:
the agent's wallet as far as it goes, its receivable (owed, invoiced) for the rest."""

import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings

from billing.models import Purpose
from billing.services.ledger import account_ids, lock_accounts
from billing.services.types import AccountKey, Leg, credit, debit, org_account, platform_account

BPS = 10_000
PPM = 1_000_000


def take_micros(payment_type: str, amount_micros: int) -> int:
    """Return the platform's take of `amount_micros` moved by `payment_type`, half up
    (BILLING_TAKE_RATE_BPS; a type it does not name pays none)."""
    bps: int = settings.BILLING_TAKE_RATE_BPS.get(payment_type, 0)
    return (amount_micros * bps + BPS // 2) // BPS


def revenue_share_micros(*, revenue_micros: int, bps: int, weight_ppm: int) -> int:
    """Return a source's share of an answer's revenue: its offer's basis points of the revenue,
    times its attribution weight, half up to the micro."""
    scale = BPS * PPM
    return (revenue_micros * bps * weight_ppm + scale // 2) // scale


def earning_legs(
    *,
    provider_id: uuid.UUID,
    payment_type: str,
    amount_micros: int,
    currency: str,
    take_bps: int | None = None,
) -> list[Leg]:
    """Return the credits of a charge: the provider's payable less the platform's take
    (BILLING_TAKE_RATE_BPS, or `take_bps` read from it once for a whole batch)."""
    if take_bps is None:
        take = take_micros(payment_type, amount_micros)
    else:
        take = (amount_micros * take_bps + BPS // 2) // BPS
    legs = []
    if amount_micros - take:
        legs.append(
            credit(
                org_account(provider_id, Purpose.PROVIDER_PAYABLE, currency), amount_micros - take
            )
        )
    if take:
        legs.append(credit(platform_account(Purpose.PLATFORM_REVENUE, currency), take))
    return legs


def accounts_touched(
    agents: Iterable[tuple[uuid.UUID, str]], providers: Iterable[tuple[uuid.UUID, str]]
) -> set[AccountKey]:
    """Return every account charging these agents and paying these providers may touch."""
    keys: set[AccountKey] = set()
    for agent_id, currency in agents:
        keys.add(org_account(agent_id, Purpose.AGENT_WALLET, currency))
        keys.add(org_account(agent_id, Purpose.AGENT_RECEIVABLE, currency))
    for provider_id, currency in providers:
        keys.add(org_account(provider_id, Purpose.PROVIDER_PAYABLE, currency))
        keys.add(platform_account(Purpose.PLATFORM_REVENUE, currency))
    return keys


class Funding:
    """Who pays each charge of a batch: prepaid agents from their wallets while they hold
    funds (a wallet never goes below zero), the rest (and postpaid agents' charges) from
    their receivables. The accounts are locked when it is made and stay so until commit."""

    def __init__(self, keys: set[AccountKey], postpaid: set[uuid.UUID]) -> None:
        # Every account is opened now; only wallets are locked now (their balances decide who
        # pays), the rest when the batch's balances are added (ledger.post_transactions).
        self.ids = account_ids(keys)
        locked = lock_accounts(k for k in keys if k.purpose == Purpose.AGENT_WALLET)
        self.postpaid = postpaid
        # What each wallet holds, on its normal (credit) side.
        self.wallets = {
            key: -balance
            for key, (_, balance) in locked.items()
            if key.purpose == Purpose.AGENT_WALLET
        }

    def wallet_micros(self, agent_id: uuid.UUID, currency: str) -> int:
        return self.wallets.get(org_account(agent_id, Purpose.AGENT_WALLET, currency), 0)

    def split(self, agent_id: uuid.UUID, currency: str, amount_micros: int) -> tuple[int, int]:
        """Return (from the wallet, owed) for a charge, drawing the wallet down as it goes."""
        if agent_id in self.postpaid:
            return 0, amount_micros
        wallet = org_account(agent_id, Purpose.AGENT_WALLET, currency)
        held = self.wallets.get(wallet, 0)
        from_wallet = min(held, amount_micros)
        if from_wallet:
            self.wallets[wallet] = held - from_wallet
        return from_wallet, amount_micros - from_wallet

    def charge(self, agent_id: uuid.UUID, currency: str, amount_micros: int) -> list[Leg]:
        """Return the debits paying `amount_micros`, drawing the wallet down as it goes."""
        wallet = org_account(agent_id, Purpose.AGENT_WALLET, currency)
        from_wallet, _ = self.split(agent_id, currency, amount_micros)
        legs = []
        if from_wallet:
            legs.append(debit(wallet, from_wallet))
        if amount_micros - from_wallet:
            receivable = org_account(agent_id, Purpose.AGENT_RECEIVABLE, currency)
            legs.append(debit(receivable, amount_micros - from_wallet))
        return legs


def largest_remainder(total_micros: int, weights: Sequence[int]) -> list[int]:
    """Return `total_micros` split in proportion to `weights`, exact to the micro: each part
    is its floor, and the micros left over go one each to the largest remainders (ties to the
    earlier weight). A weight of zero gets nothing; all zero: every part is zero."""
    if total_micros < 0 or any(w < 0 for w in weights):
        raise ValueError("a total and weights of zero or more")
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    parts = [total_micros * w // whole for w in weights]
    remainders = [total_micros * w % whole for w in weights]
    left = total_micros - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return parts
