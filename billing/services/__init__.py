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
from billing.services.charges import Charge, post_charges
from billing.services.checks import CheckReport, check_ledger
from billing.services.history import TransactionPage, list_transactions
from billing.services.ledger import (
    account_ids,
    get_transaction,
    new_key,
    post_transaction,
    post_transactions,
    reverse_transaction,
)
from billing.services.rating.acceptance import charge_at_acceptance
from billing.services.rating.agreements import ChargeRun, charge_agreements
from billing.services.rating.reports import (
    RevenueReportInfo,
    allocate_revenue_report,
    list_revenue_reports,
    period_bounds,
    submit_revenue_report,
)
from billing.services.rating.shares import revenue_share_micros, take_micros
from billing.services.rating.usage import RatingRun, rate_usage, reverse_voided_uses, use_charge
from billing.services.statements import (
    Statement,
    StatementAccount,
    StatementLine,
    month_end_statements,
    platform_statement,
    statement,
    statement_for,
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
    "Charge",
    "ChargeRun",
    "CheckReport",
    "CurrencyBalance",
    "EntryInfo",
    "Leg",
    "NewTransaction",
    "PostResult",
    "RatingRun",
    "RevenueReportInfo",
    "Statement",
    "StatementAccount",
    "StatementLine",
    "TransactionInfo",
    "TransactionPage",
    "account_ids",
    "allocate_revenue_report",
    "balance_of",
    "billing_organization_id",
    "charge_agreements",
    "charge_at_acceptance",
    "check_ledger",
    "credit",
    "debit",
    "get_balance",
    "get_transaction",
    "grant_credit",
    "is_postpaid",
    "list_revenue_reports",
    "list_transactions",
    "merged",
    "month_end_statements",
    "new_key",
    "normal_balance",
    "org_account",
    "period_bounds",
    "platform_account",
    "platform_statement",
    "post_charges",
    "post_transaction",
    "post_transactions",
    "postpaid_organizations",
    "rate_usage",
    "revenue_share_micros",
    "reverse_transaction",
    "reverse_voided_uses",
    "set_postpaid",
    "statement",
    "statement_for",
    "submit_revenue_report",
    "take_micros",
    "use_charge",
]
