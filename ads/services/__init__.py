"""The ads app's public API: campaigns, ad units and their review, providers' ad
preferences, and the units eligible for an auction.

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
from ads.services.content import CATEGORIES
from ads.services.eligibility import EligibleUnit, eligible_units
from ads.services.preferences import (
    AdPreferences,
    ad_preferences_for,
    get_ad_preferences,
    set_ad_preferences,
)
from ads.services.review import approve_unit, reject_unit
from ads.services.targeting import Targeting
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
    "AdPreferences",
    "AdUnitInfo",
    "CampaignInfo",
    "EligibleUnit",
    "Targeting",
    "ad_preferences_for",
    "approve_unit",
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
    "list_units",
    "pause_campaign",
    "pause_unit",
    "reject_unit",
    "resume_campaign",
    "resume_unit",
    "set_ad_preferences",
    "submit_unit_for_review",
    "update_campaign",
    "update_unit",
]
