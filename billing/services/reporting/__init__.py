"""Billing's reports: a provider's earnings, an agent's costs, an advertiser's spend and the
platform's revenue, by day and by what they were for, read from the ledger in SQL."""

from billing.services.reporting.common import MAX_DAYS, MAX_ROWS, ReportRange, report_range
from billing.services.reporting.costs import COST_GROUPS, CostReport, CostRow, agent_costs
from billing.services.reporting.earnings import (
    EARNINGS_GROUPS,
    EarningsReport,
    EarningsRow,
    provider_earnings,
)
from billing.services.reporting.flows import (
    FLOW_GROUPS,
    RevenueReport,
    RevenueRow,
    SpendReport,
    SpendRow,
    advertiser_spend,
    platform_revenue,
)

__all__ = [
    "COST_GROUPS",
    "EARNINGS_GROUPS",
    "FLOW_GROUPS",
    "MAX_DAYS",
    "MAX_ROWS",
    "CostReport",
    "CostRow",
    "EarningsReport",
    "EarningsRow",
    "ReportRange",
    "RevenueReport",
    "RevenueRow",
    "SpendReport",
    "SpendRow",
    "advertiser_spend",
    "agent_costs",
    "platform_revenue",
    "provider_earnings",
    "report_range",
]
