from django.urls import path

from billing.api import payment_views as views

urlpatterns = [
    path("billing/top-ups", views.TopUpListView.as_view(), name="billing-top-ups"),
    path("billing/top-ups/<uuid:top_up_id>", views.TopUpDetailView.as_view()),
    path("billing/funding", views.FundingView.as_view(), name="billing-funding"),
    path("billing/connect", views.ConnectView.as_view(), name="billing-connect"),
    path("billing/payouts", views.PayoutListView.as_view(), name="billing-payouts"),
    path("billing/payouts/<uuid:payout_id>", views.PayoutDetailView.as_view()),
]
