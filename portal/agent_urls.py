"""The agent operator's pages: catalog, licences, usage and cost, the playground, receipts."""

from django.urls import path

from portal import agent_playground, agent_usage, agent_views

ORG = "orgs/<uuid:organization_id>/"

urlpatterns = [
    path(f"{ORG}catalog/", agent_views.catalog_page, name="catalog"),
    path(f"{ORG}catalog/<uuid:offer_id>/", agent_views.offer_page, name="market-offer"),
    path(f"{ORG}licences/", agent_views.agreements_page, name="agreements"),
    path(f"{ORG}licences/<uuid:agreement_id>/", agent_views.agreement_page, name="agreement"),
    path(
        f"{ORG}licences/<uuid:agreement_id>/cancel/",
        agent_views.cancel_agreement,
        name="agreement-cancel",
    ),
    path(f"{ORG}usage/", agent_usage.usage_page, name="usage"),
    path(f"{ORG}playground/", agent_playground.playground, name="playground"),
    path("receipts/verify/", agent_playground.verify_receipt, name="receipt-verify"),
]
