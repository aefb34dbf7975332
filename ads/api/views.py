"""Advertisers' campaigns and ad units (the `ads` scope), and providers' ad preferences (the
`licensing` scope: they are part of a provider's terms). Views validate, call one service,
serialize."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request, requested_organization_id
from ads import services
from ads.api import serializers as s

SCOPE = accounts.ADS


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query(serializer_class, request) -> dict:
    return _valid(serializer_class, request.query_params.dict())  # "" is not absent


def _organization(request, query: dict | None = None):
    return (query or {}).get("organization") or requested_organization_id(request)


def _campaign(campaign: services.CampaignInfo, status_code: int = 200) -> Response:
    return Response(s.CampaignSerializer(asdict(campaign)).data, status=status_code)


def _unit(unit: services.AdUnitInfo, status_code: int = 200) -> Response:
    return Response(s.AdUnitSerializer(asdict(unit)).data, status=status_code)


class CampaignListView(APIView):
    required_scope = SCOPE

    @extend_schema(
        parameters=[s.CampaignListQuerySerializer],
        responses=s.CampaignSerializer(many=True),
        operation_id="ads_campaigns_list",
    )
    def get(self, request):
        """List your advertiser organization's campaigns, newest first."""
        query = _query(s.CampaignListQuerySerializer, request)
        campaigns = services.list_campaigns(
            actor=actor_from_request(request),
            organization_id=_organization(request, query),
            status=query.get("status"),
        )
        return Response(s.CampaignSerializer([asdict(c) for c in campaigns], many=True).data)

    @extend_schema(
        parameters=[s.OrganizationQuerySerializer],
        request=s.CampaignCreateSerializer,
        responses={201: s.CampaignSerializer},
        operation_id="ads_campaigns_create",
    )
    def post(self, request):
        """Create a campaign: a budget (total, and per day if you like), a schedule, pacing."""
        query = _query(s.OrganizationQuerySerializer, request)
        data = _valid(s.CampaignCreateSerializer, request.data)
        campaign = services.create_campaign(
            actor=actor_from_request(request), organization_id=_organization(request, query), **data
        )
        return _campaign(campaign, status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.CampaignSerializer, operation_id="ads_campaigns_retrieve")
    def get(self, request, campaign_id):
        """Return one of your campaigns."""
        return _campaign(
            services.get_campaign(actor=actor_from_request(request), campaign_id=campaign_id)
        )

    @extend_schema(
        request=s.CampaignUpdateSerializer,
        responses=s.CampaignSerializer,
        operation_id="ads_campaigns_update",
    )
    def patch(self, request, campaign_id):
        """Change a campaign's name, budgets, schedule or pacing (409 once it has ended)."""
        data = _valid(s.CampaignUpdateSerializer, request.data)
        campaign = services.update_campaign(
            actor=actor_from_request(request), campaign_id=campaign_id, **data
        )
        return _campaign(campaign)

    @extend_schema(responses={204: None}, operation_id="ads_campaigns_destroy")
    def delete(self, request, campaign_id):
        """Delete a campaign none of whose units was ever approved; otherwise 409
        `unit_was_served`: end it instead."""
        services.delete_campaign(actor=actor_from_request(request), campaign_id=campaign_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _campaign_action(verb, operation_id: str, doc: str):
    class View(APIView):
        required_scope = SCOPE

        @extend_schema(request=None, responses=s.CampaignSerializer, operation_id=operation_id)
        def post(self, request, campaign_id):
            return _campaign(verb(actor=actor_from_request(request), campaign_id=campaign_id))

    View.post.__doc__ = doc
    View.__name__ = View.__qualname__ = f"{operation_id.title().replace('_', '')}View"
    return View


CampaignPauseView = _campaign_action(
    services.pause_campaign, "ads_campaigns_pause", "Stop serving the campaign's units."
)
CampaignResumeView = _campaign_action(
    services.resume_campaign,
    "ads_campaigns_resume",
    "Serve the campaign's approved units again (409 once it has ended).",
)
CampaignEndView = _campaign_action(
    services.end_campaign, "ads_campaigns_end", "End the campaign for good."
)


class CampaignUnitListView(APIView):
    required_scope = SCOPE

    @extend_schema(
        parameters=[s.UnitListQuerySerializer],
        responses=s.AdUnitSerializer(many=True),
        operation_id="ads_units_list",
    )
    def get(self, request, campaign_id):
        """List a campaign's ad units, newest first."""
        query = _query(s.UnitListQuerySerializer, request)
        units = services.list_units(
            actor=actor_from_request(request), campaign_id=campaign_id, **query
        )
        return Response(s.AdUnitSerializer([asdict(u) for u in units], many=True).data)

    @extend_schema(
        request=s.AdUnitCreateSerializer,
        responses={201: s.AdUnitSerializer},
        operation_id="ads_units_create",
    )
    def post(self, request, campaign_id):
        """Create an ad unit; it waits for an operator's review (`pending`) before it serves."""
        data = _valid(s.AdUnitCreateSerializer, request.data)
        unit = services.create_unit(
            actor=actor_from_request(request), campaign_id=campaign_id, **data
        )
        return _unit(unit, status.HTTP_201_CREATED)


class UnitDetailView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.AdUnitSerializer, operation_id="ads_units_retrieve")
    def get(self, request, unit_id):
        """Return one of your ad units with its review state."""
        return _unit(services.get_unit(actor=actor_from_request(request), unit_id=unit_id))

    @extend_schema(
        request=s.AdUnitUpdateSerializer,
        responses=s.AdUnitSerializer,
        operation_id="ads_units_update",
    )
    def patch(self, request, unit_id):
        """Change what a unit shows, targets or bids: a new version, `pending` review until an
        operator approves it (it does not serve meanwhile)."""
        data = _valid(s.AdUnitUpdateSerializer, request.data)
        unit = services.update_unit(actor=actor_from_request(request), unit_id=unit_id, **data)
        return _unit(unit)

    @extend_schema(responses={204: None}, operation_id="ads_units_destroy")
    def delete(self, request, unit_id):
        """Delete a unit that was never approved; otherwise 409 `unit_was_served`: pause it."""
        services.delete_unit(actor=actor_from_request(request), unit_id=unit_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _unit_action(verb, operation_id: str, doc: str):
    class View(APIView):
        required_scope = SCOPE

        @extend_schema(request=None, responses=s.AdUnitSerializer, operation_id=operation_id)
        def post(self, request, unit_id):
            return _unit(verb(actor=actor_from_request(request), unit_id=unit_id))

    View.post.__doc__ = doc
    View.__name__ = View.__qualname__ = f"{operation_id.title().replace('_', '')}View"
    return View


UnitPauseView = _unit_action(
    services.pause_unit, "ads_units_pause", "Stop serving a unit; it keeps its review."
)
UnitResumeView = _unit_action(
    services.resume_unit, "ads_units_resume", "Serve a paused unit again (once approved)."
)
UnitSubmitView = _unit_action(
    services.submit_unit_for_review,
    "ads_units_submit",
    "Send a rejected unit back for review (409 `already_approved` for an approved one).",
)


class AdPreferencesView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.OrganizationQuerySerializer],
        responses=s.AdPreferencesSerializer,
        operation_id="ads_preferences_retrieve",
    )
    def get(self, request):
        """Return your provider organization's ad preferences."""
        query = _query(s.OrganizationQuerySerializer, request)
        found = services.get_ad_preferences(
            actor=actor_from_request(request), organization_id=_organization(request, query)
        )
        return Response(s.AdPreferencesSerializer(asdict(found)).data)

    @extend_schema(
        parameters=[s.OrganizationQuerySerializer],
        request=s.AdPreferencesUpdateSerializer,
        responses=s.AdPreferencesSerializer,
        operation_id="ads_preferences_update",
    )
    def patch(self, request):
        """Allow or forbid ads beside your content, block advertisers and categories."""
        query = _query(s.OrganizationQuerySerializer, request)
        data = _valid(s.AdPreferencesUpdateSerializer, request.data)
        found = services.set_ad_preferences(
            actor=actor_from_request(request),
            organization_id=_organization(request, query),
            **data,
        )
        return Response(s.AdPreferencesSerializer(asdict(found)).data)
