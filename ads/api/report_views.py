"""Advertisers' reports and auction traces (the `ads` scope), and the ad repository (any
signed-in organization). Views validate, call one service, serialize."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request
from ads import services
from ads.api import report_serializers as s
from ads.api.renderers import REPORT_COLUMNS, ReportCSVRenderer
from ads.api.views import _organization, _query
from core.api.scopes import ANY_SCOPE


class ReportView(APIView):
    required_scope = accounts.ADS
    renderer_classes = [JSONRenderer, ReportCSVRenderer]

    @extend_schema(
        parameters=[s.ReportQuerySerializer],
        responses={
            (200, "application/json"): s.ReportSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=f"One line per row, then the totals: {', '.join(REPORT_COLUMNS)}.",
            ),
        },
        operation_id="ads_reports",
    )
    def get(self, request):
        """Return your impressions, clicks, CTR, spend and average CPM and CPC by day,
        campaign or unit: JSON, or CSV (Accept: text/csv)."""
        query = _query(s.ReportQuerySerializer, request)
        report = services.ad_report(
            actor=actor_from_request(request),
            organization_id=_organization(request, query),
            group=query["group"],
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
        )
        return Response(s.ReportSerializer(asdict(report)).data)


class TraceListView(APIView):
    required_scope = accounts.ADS

    @extend_schema(
        parameters=[s.TraceQuerySerializer],
        responses=s.TracePageSerializer,
        operation_id="ads_traces_list",
    )
    def get(self, request):
        """Return why your units won or lost the auctions they took part in, newest first:
        your own candidates in full, every other one as its reason only."""
        query = _query(s.TraceQuerySerializer, request)
        page = services.list_traces(
            actor=actor_from_request(request),
            organization_id=_organization(request, query),
            unit_id=query.get("unit"),
            limit=query["limit"],
            before_id=query.get("before_id"),
        )
        return Response(s.TracePageSerializer(asdict(page)).data)


class RepositoryView(APIView):
    required_scope = ANY_SCOPE

    @extend_schema(
        parameters=[s.RepositoryQuerySerializer],
        responses=s.RepositoryPageSerializer,
        operation_id="ads_repository",
    )
    def get(self, request):
        """Return every ad served: what it showed, on whose behalf, who paid, when, how it was
        targeted and how many it reached (open to every organization)."""
        query = _query(s.RepositoryQuerySerializer, request)
        page = services.ad_repository(
            actor=actor_from_request(request),
            advertiser_id=query.get("advertiser"),
            limit=query["limit"],
            offset=query["offset"],
        )
        return Response(s.RepositoryPageSerializer(asdict(page)).data)
