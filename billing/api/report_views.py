"""Reports (the `billing` scope): a provider's earnings, an agent's costs, an advertiser's spend
and, for operators, the platform's revenue; JSON, or CSV (`Accept: text/csv`, `?format=csv`)."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request, requested_organization_id
from billing import services
from billing.api import report_serializers as s
from billing.api.renderers import ReportCSVRenderer


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params.dict())  # "" is not absent
    query.is_valid(raise_exception=True)
    found = dict(query.validated_data)
    found.pop("format", None)
    return found


def _schema(query, report, operation_id: str, columns: str):
    return extend_schema(
        parameters=[query],
        responses={
            (200, "application/json"): report,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="A header line, then one line per row (the total left out): "
                f"{columns}.",
            ),
        },
        operation_id=operation_id,
    )


class _ReportView(APIView):
    required_scope = accounts.BILLING
    renderer_classes = [JSONRenderer, ReportCSVRenderer]
    name = ""
    row_serializer: type = s.EarningsRowSerializer
    report_serializer: type = s.EarningsReportSerializer

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return s.columns_of(self.row_serializer)

    def respond(self, request, report) -> Response:
        response = Response(self.report_serializer(asdict(report)).data)
        if request.accepted_renderer.format == "csv":
            name = f"{self.name}-{report.group}-{report.since}-{report.until}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _acting(request, query: dict) -> dict:
    named = query.pop("organization", None)
    return {
        "actor": actor_from_request(request),
        "organization_id": named or requested_organization_id(request),
    }


_EARNINGS_COLUMNS = ", ".join(s.columns_of(s.EarningsRowSerializer))
_COST_COLUMNS = ", ".join(s.columns_of(s.CostRowSerializer))
_SPEND_COLUMNS = ", ".join(s.columns_of(s.SpendRowSerializer))
_REVENUE_COLUMNS = ", ".join(s.columns_of(s.PlatformRevenueRowSerializer))


class ProviderEarningsView(_ReportView):
    name = "provider-earnings"

    @_schema(
        s.EarningsQuerySerializer,
        s.EarningsReportSerializer,
        "reports_provider_earnings",
        _EARNINGS_COLUMNS,
    )
    def get(self, request):
        """Your provider's uses, attribution and earnings per day, document or agent
        (403 wrong_role for an organization that is not a provider)."""
        query = _query(s.EarningsQuerySerializer, request)
        report = services.provider_earnings(**_acting(request, query), **query)
        return self.respond(request, report)


class AgentCostsView(_ReportView):
    name = "agent-costs"
    row_serializer = s.CostRowSerializer
    report_serializer = s.CostReportSerializer

    @_schema(
        s.CostsQuerySerializer,
        s.CostReportSerializer,
        "reports_agent_costs",
        _COST_COLUMNS,
    )
    def get(self, request):
        """Your agent's uses and what it was charged per day or provider (403 wrong_role for
        an organization that is not an agent)."""
        query = _query(s.CostsQuerySerializer, request)
        report = services.agent_costs(**_acting(request, query), **query)
        return self.respond(request, report)


class AdvertiserSpendView(_ReportView):
    name = "advertiser-spend"
    row_serializer = s.SpendRowSerializer
    report_serializer = s.SpendReportSerializer

    @_schema(
        s.SpendQuerySerializer,
        s.SpendReportSerializer,
        "reports_advertiser_spend",
        _SPEND_COLUMNS,
    )
    def get(self, request):
        """What your advertiser spent on ads, and added to its funds, per day or kind (403
        wrong_role for an organization that is not an advertiser)."""
        query = _query(s.SpendQuerySerializer, request)
        report = services.advertiser_spend(**_acting(request, query), **query)
        return self.respond(request, report)


class PlatformRevenueView(_ReportView):
    name = "platform-revenue"
    row_serializer = s.PlatformRevenueRowSerializer
    report_serializer = s.PlatformRevenueReportSerializer

    @_schema(
        s.PlatformRevenueQuerySerializer,
        s.PlatformRevenueReportSerializer,
        "reports_platform_revenue",
        _REVENUE_COLUMNS,
    )
    def get(self, request):
        """What the platform took per day or kind of transaction (operators only: 403
        not_an_operator for anyone else, API keys included)."""
        query = _query(s.PlatformRevenueQuerySerializer, request)
        report = services.platform_revenue(actor=actor_from_request(request), **query)
        return self.respond(request, report)
