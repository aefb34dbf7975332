from django.urls import path

from billing.api import export_views, report_urls, views

urlpatterns = [
    *report_urls.urlpatterns,
    path("billing/balance", views.BalanceView.as_view(), name="billing-balance"),
    path("billing/transactions", views.TransactionListView.as_view(), name="billing-transactions"),
    path("billing/statements", views.StatementView.as_view(), name="billing-statements"),
    path(
        "billing/revenue-reports",
        views.RevenueReportListView.as_view(),
        name="billing-revenue-reports",
    ),
    path(
        "agreements/<uuid:agreement_id>/dataset-export",
        export_views.DatasetExportView.as_view(),
        name="dataset-export",
    ),
    path(
        "dataset-exports/<str:token>",
        export_views.DatasetExportDownloadView.as_view(),
        name="dataset-export-download",
    ),
]
