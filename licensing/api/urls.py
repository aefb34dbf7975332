from django.urls import path

from licensing.api import views

urlpatterns = [
    path("offers", views.OfferListView.as_view(), name="offers"),
    path("offers/<uuid:offer_id>", views.OfferDetailView.as_view(), name="offer"),
    path("offers/<uuid:offer_id>/publish", views.OfferPublishView.as_view()),
    path("offers/<uuid:offer_id>/retire", views.OfferRetireView.as_view()),
    path("market/offers", views.MarketOfferListView.as_view(), name="market-offers"),
    path("market/offers/<uuid:offer_id>", views.MarketOfferDetailView.as_view()),
    path("market/offers/<uuid:offer_id>/quote", views.QuoteView.as_view()),
    path("market/offers/<uuid:offer_id>/accept", views.AcceptView.as_view()),
    path("agreements", views.AgreementListView.as_view(), name="agreements"),
    path("agreements/<uuid:agreement_id>", views.AgreementDetailView.as_view()),
    path("agreements/<uuid:agreement_id>/cancel", views.AgreementCancelView.as_view()),
    path("entitlements", views.EntitlementsView.as_view(), name="entitlements"),
    path(
        "organizations/<uuid:organization_id>/price-ceilings",
        views.PriceCeilingsView.as_view(),
        name="price-ceilings",
    ),
    path("usage/events", views.AgentUsageEventsView.as_view(), name="usage-events"),
    path("provider/usage/events", views.ProviderUsageEventsView.as_view()),
    path("provider/agreements/<uuid:agreement_id>/notice", views.ProviderNoticeView.as_view()),
]
