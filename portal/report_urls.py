from django.urls import path

from portal import report_views

urlpatterns = [
    path("orgs/<uuid:organization_id>/reports/", report_views.reports, name="reports"),
    path(
        "orgs/<uuid:organization_id>/reports/statement.pdf",
        report_views.statement_pdf,
        name="report-statement-pdf",
    ),
    path(
        "orgs/<uuid:organization_id>/reports/<slug:name>/",
        report_views.report,
        name="report",
    ),
    path("reports/platform/", report_views.platform_revenue, name="report-platform"),
]
