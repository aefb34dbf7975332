"""Billing's public API: the double-entry ledger, balances, rating and statements.

The ledger (`post_transaction`, `post_transactions`, `reverse_transaction`) is what every
money movement goes through: rating of usage, subscription and purchase charges, revenue
reports, credits, and (through `billing/services/gateway.py`, the one module that calls
Stripe) top-ups, invoices and payouts. Amounts are signed integer micros, debit positive.
"""

from billing.services.background import background_rating, rate_soon, rating_pass
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
from billing.services.earnings import DailyEarnings, earnings_by_day
from billing.services.export_files import ExportSource, export_archive
from billing.services.exports import (
    DatasetExportInfo,
    create_dataset_export,
    open_dataset_export,
)
from billing.services.funding import (
    FundingInfo,
    LowBalanceRun,
    check_low_balances,
    get_funding,
    update_funding,
)
from billing.services.gateway import configured as stripe_configured
from billing.services.history import TransactionPage, list_transactions
from billing.services.holds import (
    HoldRelease,
    hold_for_answer,
    holds_apply,
    release_hold,
    release_wallet_holds,
    reserved_total,
    settle_hold,
)
from billing.services.invoices import InvoiceRun, invoice_organization, invoice_postpaid
from billing.services.ledger import (
    account_ids,
    get_transaction,
    new_key,
    post_transaction,
    post_transactions,
    reverse_transaction,
)
from billing.services.payout_statements import (
    PayoutItem,
    PayoutLine,
    PayoutStatement,
    get_payout_statement,
    list_payouts,
)
from billing.services.payouts import (
    ConnectInfo,
    PayoutInfo,
    get_connect_status,
    pay_provider,
    pay_providers,
    request_payout,
    start_onboarding,
)
from billing.services.rating.acceptance import charge_at_acceptance
from billing.services.rating.ads import (
    AD_ALREADY_POSTED,
    AD_NO_ANSWER,
    AD_POSTED,
    AD_UNFUNDED,
    AdCharge,
    AdChargeOutcome,
    AdRevenueSplit,
    ad_revenue_split,
    answer_transactions,
    post_ad_revenue,
)
from billing.services.rating.agreements import ChargeRun, charge_agreements
from billing.services.rating.reports import (
    RevenueReportInfo,
    allocate_revenue_report,
    list_revenue_reports,
    period_bounds,
    submit_revenue_report,
)
from billing.services.rating.shares import largest_remainder, revenue_share_micros, take_micros
from billing.services.rating.usage import RatingRun, rate_usage, reverse_voided_uses, use_charge
from billing.services.reconciliation import Difference, ReconciliationInfo, reconcile
from billing.services.reporting import (
    COST_GROUPS,
    EARNINGS_GROUPS,
    FLOW_GROUPS,
    CostReport,
    EarningsReport,
    RevenueReport,
    SpendReport,
    advertiser_spend,
    agent_costs,
    platform_revenue,
    provider_earnings,
)
from billing.services.reporting import (
    MAX_DAYS as REPORT_MAX_DAYS,
)
from billing.services.reporting import (
    MAX_ROWS as REPORT_MAX_ROWS,
)
from billing.services.statement_pdf import statement_pdf
from billing.services.statements import (
    Statement,
    StatementAccount,
    StatementLine,
    month_end_statements,
    platform_statement,
    statement,
    statement_for,
)
from billing.services.top_ups import TopUpInfo, create_top_up, get_top_up, list_top_ups
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
from billing.services.webhooks import Received, process_event, receive_event, unprocessed_event_ids

__all__ = [
    "AD_ALREADY_POSTED",
    "AD_NO_ANSWER",
    "AD_POSTED",
    "AD_UNFUNDED",
    "COST_GROUPS",
    "EARNINGS_GROUPS",
    "FLOW_GROUPS",
    "KINDS",
    "REPORT_MAX_DAYS",
    "REPORT_MAX_ROWS",
    "AccountKey",
    "AdCharge",
    "AdChargeOutcome",
    "AdRevenueSplit",
    "Balance",
    "Charge",
    "ChargeRun",
    "CheckReport",
    "ConnectInfo",
    "CostReport",
    "CurrencyBalance",
    "DailyEarnings",
    "DatasetExportInfo",
    "Difference",
    "EarningsReport",
    "EntryInfo",
    "ExportSource",
    "FundingInfo",
    "HoldRelease",
    "InvoiceRun",
    "Leg",
    "LowBalanceRun",
    "NewTransaction",
    "PayoutInfo",
    "PayoutItem",
    "PayoutLine",
    "PayoutStatement",
    "PostResult",
    "RatingRun",
    "Received",
    "ReconciliationInfo",
    "RevenueReport",
    "RevenueReportInfo",
    "SpendReport",
    "Statement",
    "StatementAccount",
    "StatementLine",
    "TopUpInfo",
    "TransactionInfo",
    "TransactionPage",
    "account_ids",
    "ad_revenue_split",
    "advertiser_spend",
    "agent_costs",
    "allocate_revenue_report",
    "answer_transactions",
    "background_rating",
    "balance_of",
    "billing_organization_id",
    "charge_agreements",
    "charge_at_acceptance",
    "check_ledger",
    "check_low_balances",
    "create_dataset_export",
    "create_top_up",
    "credit",
    "debit",
    "earnings_by_day",
    "export_archive",
    "get_balance",
    "get_connect_status",
    "get_funding",
    "get_payout_statement",
    "get_top_up",
    "get_transaction",
    "grant_credit",
    "hold_for_answer",
    "holds_apply",
    "invoice_organization",
    "invoice_postpaid",
    "is_postpaid",
    "largest_remainder",
    "list_payouts",
    "list_revenue_reports",
    "list_top_ups",
    "list_transactions",
    "merged",
    "month_end_statements",
    "new_key",
    "normal_balance",
    "open_dataset_export",
    "org_account",
    "pay_provider",
    "pay_providers",
    "period_bounds",
    "platform_account",
    "platform_revenue",
    "platform_statement",
    "post_ad_revenue",
    "post_charges",
    "post_transaction",
    "post_transactions",
    "postpaid_organizations",
    "process_event",
    "provider_earnings",
    "rate_soon",
    "rate_usage",
    "rating_pass",
    "receive_event",
    "reconcile",
    "release_hold",
    "release_wallet_holds",
    "request_payout",
    "reserved_total",
    "revenue_share_micros",
    "reverse_transaction",
    "reverse_voided_uses",
    "set_postpaid",
    "settle_hold",
    "start_onboarding",
    "statement",
    "statement_for",
    "statement_pdf",
    "stripe_configured",
    "submit_revenue_report",
    "take_micros",
    "unprocessed_event_ids",
    "update_funding",
    "use_charge",
]
