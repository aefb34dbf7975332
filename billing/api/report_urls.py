from django.urls import path

from billing.api import report_views as views

urlpatterns = [
    path(
        "reports/provider/earnings",
        views.ProviderEarningsView.as_view(),
        name="reports-provider-earnings",
    ),
    path("reports/agent/costs", views.AgentCostsView.as_view(), name="reports-agent-costs"),
    path(
        "reports/advertiser/spend",
        views.AdvertiserSpendView.as_view(),
        name="reports-advertiser-spend",
    ),
    path(
        "reports/platform/revenue",
        views.PlatformRevenueView.as_view(),
        name="reports-platform-revenue",
    ),
]
