"""Balances, transactions, statements and revenue reports (the `billing` scope)."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request, requested_organization_id
from billing import services
from billing.api import serializers as s
from billing.api.renderers import PDFRenderer, StatementCSVRenderer


def _acting(request, query: dict | None = None) -> dict:
    """Return who acts and for which organization; the services check both."""
    named = (query or {}).get("organization")
    return {
        "actor": actor_from_request(request),
        "organization_id": named or requested_organization_id(request),
    }


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params.dict())  # "" is not absent
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class BalanceView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(
        parameters=[s.OrganizationOnlyQuerySerializer],
        responses=s.BalanceSerializer,
        operation_id="billing_balance",
    )
    def get(self, request):
        """Return your organization's balances: wallet (and what is reserved), owed, earned."""
        query = _query(s.OrganizationOnlyQuerySerializer, request)
        balance = services.get_balance(**_acting(request, query))
        return Response(s.BalanceSerializer(asdict(balance)).data)


class TransactionListView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(
        parameters=[s.TransactionQuerySerializer],
        responses=s.TransactionPageSerializer,
        operation_id="billing_transactions_list",
    )
    def get(self, request):
        """List the ledger transactions that touch your organization, newest first."""
        query = _query(s.TransactionQuerySerializer, request)
        page = services.list_transactions(
            **_acting(request, query), limit=query["limit"], before_id=query.get("before_id")
        )
        return Response(s.TransactionPageSerializer(asdict(page)).data)


class StatementView(APIView):
    required_scope = accounts.BILLING
    renderer_classes = [JSONRenderer, StatementCSVRenderer, PDFRenderer]

    @extend_schema(
        parameters=[s.StatementQuerySerializer],
        responses={
            (200, "application/json"): s.StatementSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One line per account and transaction kind: period, account, "
                "currency, kind, transactions, debit_micros, credit_micros.",
            ),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The statement laid out for print: the organization, the month, "
                "each account's opening and closing balance, its lines by kind and totals.",
            ),
        },
        operation_id="billing_statement",
    )
    def get(self, request):
        """Return your organization's statement for a month: JSON, CSV (Accept: text/csv) or
        PDF (Accept: application/pdf)."""
        query = _query(s.StatementQuerySerializer, request)
        if request.accepted_renderer.format == "pdf":
            pdf = services.statement_pdf(**_acting(request, query), period=query["period"])
            response = Response(pdf)
            name = f"statement-{query['period']}.pdf"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        found = services.statement(**_acting(request, query), period=query["period"])
        return Response(s.StatementSerializer(asdict(found)).data)


class RevenueReportListView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(
        parameters=[s.OrganizationOnlyQuerySerializer],
        responses=s.RevenueReportSerializer(many=True),
        operation_id="billing_revenue_reports_list",
    )
    def get(self, request):
        """List the revenue reports your agent organization has sent."""
        query = _query(s.OrganizationOnlyQuerySerializer, request)
        reports = services.list_revenue_reports(**_acting(request, query))
        return Response([s.RevenueReportSerializer(asdict(r)).data for r in reports])

    @extend_schema(
        request=s.RevenueReportCreateSerializer,
        responses={201: s.RevenueReportSerializer},
        operation_id="billing_revenue_reports_create",
    )
    def post(self, request):
        """Report what your agent earned in an ended month; revenue-share providers get
        their share of it by attribution weight (422 once the month is closed)."""
        data = s.RevenueReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.submit_revenue_report(**_acting(request), **data.validated_data)
        return Response(
            s.RevenueReportSerializer(asdict(report)).data, status=status.HTTP_201_CREATED
        )
