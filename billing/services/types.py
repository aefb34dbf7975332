"""What the ledger takes (transactions of legs on accounts) and what it gives back."""

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from billing import errors
from billing.models import CREDIT_NORMAL, ORGANIZATION_PURPOSES, PLATFORM_PURPOSES, Transaction

KINDS = tuple(Transaction.Kind.values)


@dataclass(frozen=True)
class AccountKey:
    """Names an account: an organization's purpose in a currency, or the platform's."""

    purpose: str
    currency: str
    organization_id: uuid.UUID | None = None


# Account keys are immutable values asked for once per leg of every rated event: made once.
@functools.lru_cache(maxsize=64)
def platform_account(purpose: str, currency: str) -> AccountKey:
    return AccountKey(purpose=purpose, currency=currency)


@functools.lru_cache(maxsize=65_536)
def org_account(organization_id: uuid.UUID, purpose: str, currency: str) -> AccountKey:
    return AccountKey(purpose=purpose, currency=currency, organization_id=organization_id)


@dataclass(frozen=True)
class Leg:
    """One entry to write: a signed amount on an account (debit positive, credit negative)."""

    account: AccountKey
    amount_micros: int


def debit(account: AccountKey, amount_micros: int) -> Leg:
    return Leg(account, amount_micros)


def credit(account: AccountKey, amount_micros: int) -> Leg:
    return Leg(account, -amount_micros)


@dataclass(frozen=True)
class NewTransaction:
    """A transaction to post. `idempotency_key` is derived from what caused it: posting the
    same key again writes nothing."""

    idempotency_key: str
    kind: str
    legs: tuple[Leg, ...]
    effective_at: datetime
    memo: str = ""
    usage_event_id: int | None = None
    agreement_id: uuid.UUID | None = None
    revenue_report_id: uuid.UUID | None = None
    external_ref: str = ""
    reverses_id: int | None = None


@dataclass(frozen=True)
class PostResult:
    """What a batch wrote: the keys of new transactions with their ids, and the keys that
    were already posted (nothing written for them)."""

    written: dict[str, int]
    duplicates: tuple[str, ...]


@dataclass(frozen=True)
class EntryInfo:
    account_id: int
    organization_id: uuid.UUID | None
    purpose: str
    currency: str
    amount_micros: int


@dataclass(frozen=True)
class TransactionInfo:
    id: int
    idempotency_key: str
    kind: str
    effective_at: datetime
    created_at: datetime
    memo: str
    usage_event_id: int | None
    agreement_id: uuid.UUID | None
    revenue_report_id: uuid.UUID | None
    external_ref: str
    reverses_id: int | None
    entries: tuple[EntryInfo, ...]
    created: bool = False  # True when this call wrote it


def normal_balance(purpose: str, balance_micros: int) -> int:
    """Return an account's balance on its normal side (what a wallet holds, what is owed)."""
    return -balance_micros if purpose in CREDIT_NORMAL else balance_micros


def validate(transaction: NewTransaction) -> None:
    """Refuse a transaction that is empty, has a zero leg, names an unknown kind or account,
    or does not sum to zero in each currency."""
    if transaction.kind not in KINDS:
        raise errors.ValidationFailed(f"Unknown transaction kind {transaction.kind!r}.")
    if not transaction.idempotency_key or len(transaction.idempotency_key) > 200:
        raise errors.ValidationFailed("A transaction needs an idempotency key of 1-200 chars.")
    if len(transaction.legs) < 2:
        raise errors.Unbalanced("A transaction has at least two entries.")
    sums: defaultdict[str, int] = defaultdict(int)
    for leg in transaction.legs:
        _check_account(leg.account)
        if leg.amount_micros == 0 or not isinstance(leg.amount_micros, int):
            raise errors.ValidationFailed("An entry moves a non-zero integer amount of micros.")
        sums[leg.account.currency] += leg.amount_micros
    off = {currency: total for currency, total in sums.items() if total}
    if off:
        raise errors.Unbalanced(
            "A ledger transaction's entries sum to zero in each currency.",
            details={"key": transaction.idempotency_key, "off_by_micros": off},
        )


def _check_account(account: AccountKey) -> None:
    organization = account.organization_id is not None
    if account.purpose not in (ORGANIZATION_PURPOSES if organization else PLATFORM_PURPOSES):
        raise errors.ValidationFailed(
            f"{account.purpose!r} is not an {'organization' if organization else 'platform'} "
            "account."
        )
    if len(account.currency) != 3 or not account.currency.isupper():
        raise errors.ValidationFailed(f"{account.currency!r} is not a currency code.")


def merged(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """Return the legs with one per account (amounts added), dropping those that net to zero."""
    totals: dict[AccountKey, int] = {}
    for leg in legs:
        totals[leg.account] = totals.get(leg.account, 0) + leg.amount_micros
    return tuple(Leg(account, amount) for account, amount in totals.items() if amount)
