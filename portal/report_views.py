"""The portal's report pages: a provider's earnings, an agent's costs, an advertiser's spend,
the platform's revenue for operators, and monthly statements as PDF.

Each page is a table of what billing's report services return for the signed-in member (the
same calls, checks and figures as the REST API), with links to the same report as CSV and JSON
from `/api/v1/reports/...`, which a signed-in browser may fetch.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from billing import services as billing
from core.errors import DomainError, NotFound, PermissionDenied
from core.money import format_micros

PERIODS_SHOWN = 12  # months offered for a PDF statement


@dataclass(frozen=True)
class Column:
    title: str
    field: str
    kind: str = "count"  # count, money, share or text


@dataclass(frozen=True)
class ReportPage:
    title: str
    service: object
    groups: tuple[tuple[str, str], ...]
    columns: tuple[Column, ...]
    api_name: str  # the REST route of the same report
    role: str | None  # None: operators


_USAGE = (
    Column("Uses", "uses"),
    Column("Cited", "cited_uses"),
    Column("Answers", "answers"),
)
PAGES = {
    "earnings": ReportPage(
        "Earnings",
        billing.provider_earnings,
        (("day", "Day"), ("document", "Document"), ("agent", "Agent")),
        (
            *_USAGE,
            Column("Average share of an answer", "attribution_share_ppm", "share"),
            Column("Earned", "earned_micros", "money"),
        ),
        "reports-provider-earnings",
        accounts.PROVIDER,
    ),
    "costs": ReportPage(
        "Costs",
        billing.agent_costs,
        (("day", "Day"), ("provider", "Provider")),
        (*_USAGE, Column("Charged", "charged_micros", "money")),
        "reports-agent-costs",
        accounts.AGENT,
    ),
    "spend": ReportPage(
        "Ad spend",
        billing.advertiser_spend,
        (("day", "Day"), ("kind", "Kind")),
        (
            Column("Ad charges", "charges"),
            Column("Spent", "spent_micros", "money"),
            Column("Added", "added_micros", "money"),
        ),
        "reports-advertiser-spend",
        accounts.ADVERTISER,
    ),
}
PLATFORM = ReportPage(
    "Platform revenue",
    billing.platform_revenue,
    (("day", "Day"), ("kind", "Kind")),
    (Column("Transactions", "transactions"), Column("Revenue", "revenue_micros", "money")),
    "reports-platform-revenue",
    None,
)


class ReportForm(forms.Form):
    group = forms.ChoiceField(choices=(), required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = groups


def _actor(request) -> accounts.Actor:
    return accounts.actor_for_user(user_id=request.user.pk)


def _share(ppm: int) -> str:
    return f"{ppm // 10_000}.{ppm % 10_000 // 1_000}%"


def _cell(column: Column, row) -> str:
    value = getattr(row, column.field)
    if column.kind == "money":
        return format_micros(value, min_places=2, group=True)
    if column.kind == "share":
        return _share(value)
    return str(value)


def _table(page: ReportPage, report) -> dict:
    def cells(row):
        return [(column.kind, _cell(column, row)) for column in page.columns]

    return {
        "headers": [(c.kind, c.title) for c in page.columns],
        "rows": [(row.label, cells(row)) for row in report.rows],
        "total": cells(report.total),
    }


def _downloads(page: ReportPage, query: dict, organization_id) -> dict[str, str]:
    base = {k: v for k, v in query.items() if v}
    if organization_id is not None:
        base["organization"] = str(organization_id)
    url = reverse(page.api_name)
    return {fmt: f"{url}?{urlencode({**base, 'format': fmt})}" for fmt in ("csv", "json")}


def _report_page(request, page: ReportPage, org=None):
    acting = {"actor": _actor(request)}
    if org is not None:
        acting["organization_id"] = org.id
    form = ReportForm(request.GET or None, groups=page.groups)
    context = {"page": page, "org": org, "form": form, "table": None, "report": None}
    status = 200
    if request.GET and not form.is_valid():
        status = 400
    else:
        query = {k: v for k, v in (form.cleaned_data if request.GET else {}).items() if v}
        try:
            report = page.service(**acting, **query)
        except NotFound:
            return render(request, "portal/not_found.html", status=404)
        except PermissionDenied as exc:
            context["error"], status = exc.message, 403
        except DomainError as exc:
            context["error"], status = exc.message, 400
        else:
            shown = {"group": report.group, "since": report.since, "until": report.until}
            context.update(
                report=report,
                table=_table(page, report),
                downloads=_downloads(
                    page,
                    {k: str(v) for k, v in shown.items()},
                    org.id if org is not None else None,
                ),
            )
    return render(request, "portal/reports/report.html", context, status=status)


def _organization(request, organization_id):
    try:
        return accounts.get_organization(actor=_actor(request), organization_id=organization_id)
    except NotFound:
        return None


def _months(today: date) -> list[str]:
    """The current month and the 11 before it, newest first."""
    first = today.replace(day=1)
    months = []
    for _ in range(PERIODS_SHOWN):
        months.append(first.strftime("%Y-%m"))
        first = (first - timedelta(days=1)).replace(day=1)
    return months


@login_required
def reports(request, organization_id):
    """The organization's reports, by its roles, and its monthly statements."""
    org = _organization(request, organization_id)
    if org is None:
        return render(request, "portal/not_found.html", status=404)
    shown = [(name, page) for name, page in PAGES.items() if page.role in org.roles]
    return render(
        request,
        "portal/reports/index.html",
        {
            "org": org,
            "pages": shown,
            "months": _months(timezone.now().date()),
            "operator": request.user.is_staff,
        },
    )


@login_required
def report(request, organization_id, name):
    org = _organization(request, organization_id)
    if org is None or name not in PAGES:
        return render(request, "portal/not_found.html", status=404)
    return _report_page(request, PAGES[name], org)


@login_required
def platform_revenue(request):
    return _report_page(request, PLATFORM)


@login_required
def statement_pdf(request, organization_id):
    """The organization's statement of a month (?period=YYYY-MM) as a PDF download."""
    period = request.GET.get("period", "")
    org = _organization(request, organization_id)
    if org is None:
        return render(request, "portal/not_found.html", status=404)
    try:
        pdf = billing.statement_pdf(actor=_actor(request), organization_id=org.id, period=period)
    except NotFound:
        return render(request, "portal/not_found.html", status=404)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{org.slug}-{period}.pdf"'
    return response
