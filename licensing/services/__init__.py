"""Licensing's public API: offers, agreements, entitlements, quotes, metering and RSL.

What an interface (REST, portal, MCP) calls takes an `accounts.Actor` and checks its scope,
membership and role itself. What takes an `agent_id` is for use cases that have already
authorized the agent (the answer path, metering, public RSL).
"""

from licensing.services.access import (
    ContentGrant,
    fetch_licensed_content,
    format_price,
    parse_price,
)
from licensing.services.agreements import (
    AgreementInfo,
    Quote,
    accept_offer,
    cancel_agreement,
    get_agreement,
    list_agreements,
    quote,
    update_agreement,
)
from licensing.services.ceilings import PriceCeilings, get_price_ceilings, set_price_ceilings
from licensing.services.entitlements import Entitlements, get_entitlements, list_entitlements
from licensing.services.market import get_market_offer, list_market_offers, list_published_offers
from licensing.services.metering import (
    BatchResult,
    MeteredAnswer,
    MeteredEvent,
    SourceUse,
    UsageEventInfo,
    UsageEventPage,
    UseRecord,
    is_metered,
    record_use,
    record_uses,
    settle_use,
    void_use,
)
from licensing.services.offers import (
    OfferInfo,
    OfferTerms,
    create_offer,
    get_offer,
    list_offers,
    publish_offer,
    retire_offer,
    update_offer,
)
from licensing.services.paywall import crawler_price, public_content_terms
from licensing.services.reports import UsageGroup, UsageSummary, list_usage, summarize_usage
from licensing.services.rsl import RSL_CONTENT_TYPE, rsl_document, rsl_providers
from licensing.services.terms import (
    USAGE_TYPE_CHOICES,
    USAGE_TYPES,
    Terms,
    charge_for,
    choice_key,
    marginal_cost,
    price_use,
    revenue_share_equivalent,
    usage_covers,
)

__all__ = [
    "RSL_CONTENT_TYPE",
    "USAGE_TYPES",
    "USAGE_TYPE_CHOICES",
    "AgreementInfo",
    "BatchResult",
    "ContentGrant",
    "Entitlements",
    "MeteredAnswer",
    "MeteredEvent",
    "OfferInfo",
    "OfferTerms",
    "PriceCeilings",
    "Quote",
    "SourceUse",
    "Terms",
    "UsageEventInfo",
    "UsageEventPage",
    "UsageGroup",
    "UsageSummary",
    "UseRecord",
    "accept_offer",
    "cancel_agreement",
    "charge_for",
    "choice_key",
    "crawler_price",
    "create_offer",
    "fetch_licensed_content",
    "format_price",
    "get_agreement",
    "get_entitlements",
    "get_market_offer",
    "get_offer",
    "get_price_ceilings",
    "is_metered",
    "list_agreements",
    "list_entitlements",
    "list_market_offers",
    "list_offers",
    "list_published_offers",
    "list_usage",
    "marginal_cost",
    "parse_price",
    "price_use",
    "public_content_terms",
    "publish_offer",
    "quote",
    "record_use",
    "record_uses",
    "retire_offer",
    "revenue_share_equivalent",
    "rsl_document",
    "rsl_providers",
    "set_price_ceilings",
    "settle_use",
    "summarize_usage",
    "update_agreement",
    "update_offer",
    "usage_covers",
    "void_use",
]
