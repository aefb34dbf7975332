"""The advertiser's pages: campaigns, ad units, performance and decision traces."""

from django.urls import path

from portal import advertiser_performance, advertiser_units, advertiser_views

ORG = "orgs/<uuid:organization_id>/"
CAMPAIGN = f"{ORG}campaigns/<uuid:campaign_id>/"
UNIT = f"{ORG}ads/<uuid:unit_id>/"

urlpatterns = [
    path(f"{ORG}campaigns/", advertiser_views.campaigns, name="campaigns"),
    path(f"{ORG}campaigns/new/", advertiser_views.campaign_new, name="campaign-new"),
    path(CAMPAIGN, advertiser_views.campaign, name="campaign"),
    path(f"{CAMPAIGN}edit/", advertiser_views.campaign_edit, name="campaign-edit"),
    path(f"{CAMPAIGN}pause/", advertiser_views.campaign_pause, name="campaign-pause"),
    path(f"{CAMPAIGN}resume/", advertiser_views.campaign_resume, name="campaign-resume"),
    path(f"{CAMPAIGN}end/", advertiser_views.campaign_end, name="campaign-end"),
    path(f"{CAMPAIGN}ads/new/", advertiser_units.unit_new, name="ad-unit-new"),
    path(UNIT, advertiser_units.unit, name="ad-unit"),
    path(f"{UNIT}edit/", advertiser_units.unit_edit, name="ad-unit-edit"),
    path(f"{UNIT}pause/", advertiser_units.unit_pause, name="ad-unit-pause"),
    path(f"{UNIT}resume/", advertiser_units.unit_resume, name="ad-unit-resume"),
    path(f"{UNIT}submit/", advertiser_units.unit_submit, name="ad-unit-submit"),
    path(f"{ORG}ad-performance/", advertiser_performance.performance, name="ad-performance"),
    path(f"{ORG}ad-traces/", advertiser_performance.traces, name="ad-traces"),
]
