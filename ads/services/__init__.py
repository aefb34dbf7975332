"""The ads app's public API: campaigns, ad units and their review, providers' ad
preferences, the units eligible for an auction; what was served (servings, impressions,
clicks, traces), what it charged, and the reports and repository of it.

Other apps import only this module (and `ads.errors`).
"""

from ads.services.campaigns import (
    CampaignInfo,
    create_campaign,
    delete_campaign,
    end_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    update_campaign,
)
from ads.services.charging import CampaignSpend, ChargeRun, campaign_spend, charge_ad_events
from ads.services.clicks import Click, click_path, record_click
from ads.services.content import CATEGORIES
from ads.services.disclosure import LABEL, Signer, sponsored_item, sponsored_payload
from ads.services.eligibility import EligibleUnit, eligible_units
from ads.services.placement import (
    AdContext,
    Placement,
    Selection,
    record_payload,
    release_selection,
    select_sponsored,
    sensitive_term,
    serve_selection,
)
from ads.services.placement.outbox import drain as record_served
from ads.services.preferences import (
    AdPreferences,
    ad_preferences_for,
    get_ad_preferences,
    set_ad_preferences,
)
from ads.services.reports import GROUPS, AdReport, ReportRow, ad_report
from ads.services.repository import RepositoryEntry, RepositoryPage, ad_repository
from ads.services.review import approve_unit, reject_unit
from ads.services.serving import (
    RecordedServing,
    ServedUnit,
    ServingInfo,
    record_serving,
    servings_for,
)
from ads.services.spend import ReconcileRun, reconcile_budgets, spend_of_record
from ads.services.targeting import Targeting
from ads.services.traces import (
    REASONS,
    TraceCandidate,
    TraceInfo,
    TracePage,
    TraceRow,
    list_traces,
    purge_traces,
)
from ads.services.units import (
    AdUnitInfo,
    create_unit,
    delete_unit,
    get_unit,
    list_units,
    pause_unit,
    resume_unit,
    submit_unit_for_review,
    update_unit,
)

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "LABEL",
    "REASONS",
    "AdContext",
    "AdPreferences",
    "AdReport",
    "AdUnitInfo",
    "CampaignInfo",
    "CampaignSpend",
    "ChargeRun",
    "Click",
    "EligibleUnit",
    "Placement",
    "ReconcileRun",
    "RecordedServing",
    "ReportRow",
    "RepositoryEntry",
    "RepositoryPage",
    "Selection",
    "ServedUnit",
    "ServingInfo",
    "Signer",
    "Targeting",
    "TraceCandidate",
    "TraceInfo",
    "TracePage",
    "TraceRow",
    "ad_preferences_for",
    "ad_report",
    "ad_repository",
    "approve_unit",
    "campaign_spend",
    "charge_ad_events",
    "click_path",
    "create_campaign",
    "create_unit",
    "delete_campaign",
    "delete_unit",
    "eligible_units",
    "end_campaign",
    "get_ad_preferences",
    "get_campaign",
    "get_unit",
    "list_campaigns",
    "list_traces",
    "list_units",
    "pause_campaign",
    "pause_unit",
    "purge_traces",
    "reconcile_budgets",
    "record_click",
    "record_payload",
    "record_served",
    "record_serving",
    "reject_unit",
    "release_selection",
    "resume_campaign",
    "resume_unit",
    "select_sponsored",
    "sensitive_term",
    "serve_selection",
    "servings_for",
    "set_ad_preferences",
    "spend_of_record",
    "sponsored_item",
    "sponsored_payload",
    "submit_unit_for_review",
    "update_campaign",
    "update_unit",
]
