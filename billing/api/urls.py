from django.urls import path

from billing.api import views

urlpatterns = [
    path("billing/balance", views.BalanceView.as_view(), name="billing-balance"),
    path("billing/transactions", views.TransactionListView.as_view(), name="billing-transactions"),
    path("billing/statements", views.StatementView.as_view(), name="billing-statements"),
    path(
        "billing/revenue-reports",
        views.RevenueReportListView.as_view(),
        name="billing-revenue-reports",
    ),
]
