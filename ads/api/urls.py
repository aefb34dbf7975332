from django.urls import path

from ads.api import report_views, views

urlpatterns = [
    path("ads/campaigns", views.CampaignListView.as_view(), name="ads-campaigns"),
    path(
        "ads/campaigns/<uuid:campaign_id>",
        views.CampaignDetailView.as_view(),
        name="ads-campaign",
    ),
    path(
        "ads/campaigns/<uuid:campaign_id>/pause",
        views.CampaignPauseView.as_view(),
        name="ads-campaign-pause",
    ),
    path(
        "ads/campaigns/<uuid:campaign_id>/resume",
        views.CampaignResumeView.as_view(),
        name="ads-campaign-resume",
    ),
    path(
        "ads/campaigns/<uuid:campaign_id>/end",
        views.CampaignEndView.as_view(),
        name="ads-campaign-end",
    ),
    path(
        "ads/campaigns/<uuid:campaign_id>/units",
        views.CampaignUnitListView.as_view(),
        name="ads-campaign-units",
    ),
    path("ads/units/<uuid:unit_id>", views.UnitDetailView.as_view(), name="ads-unit"),
    path("ads/units/<uuid:unit_id>/pause", views.UnitPauseView.as_view(), name="ads-unit-pause"),
    path("ads/units/<uuid:unit_id>/resume", views.UnitResumeView.as_view(), name="ads-unit-resume"),
    path("ads/units/<uuid:unit_id>/submit", views.UnitSubmitView.as_view(), name="ads-unit-submit"),
    path("ads/preferences", views.AdPreferencesView.as_view(), name="ads-preferences"),
    path("ads/reports", report_views.ReportView.as_view(), name="ads-reports"),
    path("ads/traces", report_views.TraceListView.as_view(), name="ads-traces"),
    path("ads/repository", report_views.RepositoryView.as_view(), name="ads-repository"),
]
