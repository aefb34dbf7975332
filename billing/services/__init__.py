"""Billing's public API: the double-entry ledger, balances, rating and statements.

The ledger (`post_transaction`, `post_transactions`, `reverse_transaction`) is what every
money movement goes through: rating of usage, subscription and purchase charges, revenue
reports, credits, and (through `billing/services/gateway.py`, the one module that calls
Stripe) top-ups, invoices and payouts. Amounts are signed integer micros, debit positive.
"""

from billing.services.balances import (
    Balance,
    CurrencyBalance,
    balance_of,
    billing_organization_id,
    get_balance,
    grant_credit,
    is_postpaid,
    postpaid_organizations,
    set_postpaid,
)
from billing.services.ledger import (
    account_ids,
    get_transaction,
    new_key,
    post_transaction,
    post_transactions,
    reverse_transaction,
)
from billing.services.types import (
    KINDS,
    AccountKey,
    EntryInfo,
    Leg,
    NewTransaction,
    PostResult,
    TransactionInfo,
    credit,
    debit,
    merged,
    normal_balance,
    org_account,
    platform_account,
)

__all__ = [
    "KINDS",
    "AccountKey",
    "Balance",
    "CurrencyBalance",
    "EntryInfo",
    "Leg",
    "NewTransaction",
    "PostResult",
    "TransactionInfo",
    "account_ids",
    "balance_of",
    "billing_organization_id",
    "credit",
    "debit",
    "get_balance",
    "get_transaction",
    "grant_credit",
    "is_postpaid",
    "merged",
    "new_key",
    "normal_balance",
    "org_account",
    "platform_account",
    "post_transaction",
    "post_transactions",
    "postpaid_organizations",
    "reverse_transaction",
    "set_postpaid",
]
