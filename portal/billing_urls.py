"""An organization's billing pages: its balance, top-ups, Stripe Connect and payouts."""

from django.urls import path

from portal import billing_views

BILLING = "orgs/<uuid:organization_id>/billing/"

urlpatterns = [
    path(BILLING, billing_views.billing_page, name="billing"),
    path(f"{BILLING}top-up/", billing_views.top_up, name="billing-top-up"),
    path(f"{BILLING}connect/", billing_views.connect, name="billing-connect"),
    path(f"{BILLING}payout/", billing_views.payout, name="billing-payout"),
]
