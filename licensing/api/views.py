"""Offers for providers; the offer market, agreements and usage for agents; paid content."""

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request, requested_organization_id
from core.api.schema import ErrorSerializer
from core.api.scopes import NO_AUTH
from licensing import errors, services
from licensing.api import serializers as s
from licensing.services import OfferTerms

TERM_FIELDS = set(OfferTerms.__dataclass_fields__)


def _offer(info) -> dict:
    return s.OfferSerializer(asdict(info)).data


def _market_offer(info) -> dict:
    return s.MarketOfferSerializer(asdict(info)).data


def _acting(request) -> dict:
    """Return who acts and for which organization; the services check both."""
    return {
        "actor": actor_from_request(request),
        "organization_id": requested_organization_id(request),
    }


def _terms_from(data: dict) -> dict:
    terms = {k: v for k, v in data.items() if k in TERM_FIELDS}
    for key in (
        "collection_ids",
        "usage_types",
        "territories",
        "allowed_agent_org_ids",
        "denied_agent_org_ids",
    ):
        if key in terms:
            terms[key] = tuple(terms[key])
    return terms


class OfferListView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(responses=s.OfferSerializer(many=True), operation_id="offers_list")
    def get(self, request):
        """List your organization's offers (providers)."""
        offers = services.list_offers(**_acting(request))
        return Response([_offer(o) for o in offers])

    @extend_schema(
        request=s.OfferCreateSerializer,
        responses={201: s.OfferSerializer},
        operation_id="offers_create",
    )
    def post(self, request):
        """Create a draft offer over some of your collections."""
        data = s.OfferCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.create_offer(
            **_acting(request),
            name=data.validated_data["name"],
            auto_accept=data.validated_data["auto_accept"],
            terms=OfferTerms(**_terms_from(data.validated_data)),
        )
        return Response(_offer(offer), status=status.HTTP_201_CREATED)


class OfferDetailView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(responses=s.OfferSerializer, operation_id="offers_retrieve")
    def get(self, request, offer_id):
        offer = services.get_offer(**_acting(request), offer_id=offer_id)
        return Response(_offer(offer))

    @extend_schema(
        request=s.OfferUpdateSerializer, responses=s.OfferSerializer, operation_id="offers_update"
    )
    def patch(self, request, offer_id):
        """Change an offer: a draft in place, a published offer as a new version."""
        data = s.OfferUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.update_offer(
            **_acting(request),
            offer_id=offer_id,
            name=data.validated_data.get("name"),
            auto_accept=data.validated_data.get("auto_accept"),
            changes=_terms_from(data.validated_data),
        )
        return Response(_offer(offer))


class OfferPublishView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(request=None, responses=s.OfferSerializer, operation_id="offers_publish")
    def post(self, request, offer_id):
        offer = services.publish_offer(**_acting(request), offer_id=offer_id)
        return Response(_offer(offer))


class OfferRetireView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(request=None, responses=s.OfferSerializer, operation_id="offers_retire")
    def post(self, request, offer_id):
        offer = services.retire_offer(**_acting(request), offer_id=offer_id)
        return Response(_offer(offer))


class MarketOfferListView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.MarketFilterSerializer],
        responses=s.MarketOfferSerializer(many=True),
        operation_id="market_offers_list",
    )
    def get(self, request):
        """Browse the published offers you may accept."""
        query = s.MarketFilterSerializer(data=request.query_params.dict())  # "" is not absent
        query.is_valid(raise_exception=True)
        offers = services.list_market_offers(
            **_acting(request),
            usage_type=query.validated_data.get("usage_type"),
            provider=query.validated_data.get("provider"),
            collection_id=query.validated_data.get("collection"),
            topic=query.validated_data.get("topic"),
        )
        return Response([_market_offer(o) for o in offers])


class MarketOfferDetailView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(responses=s.MarketOfferSerializer, operation_id="market_offers_retrieve")
    def get(self, request, offer_id):
        """Return a published offer you may accept; 404 for one offered only to others."""
        offer = services.get_market_offer(**_acting(request), offer_id=offer_id)
        return Response(_market_offer(offer))


class QuoteView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        request=s.QuoteRequestSerializer, responses=s.QuoteSerializer, operation_id="offers_quote"
    )
    def post(self, request, offer_id):
        """Price a use of this offer before it happens."""
        data = s.QuoteRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.quote(**_acting(request), offer_id=offer_id, **data.validated_data)
        return Response(s.QuoteSerializer(asdict(quote)).data)


class AcceptView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        request=s.AcceptSerializer,
        responses={
            201: s.AgreementSerializer,
            200: s.AgreementSerializer,
            # insufficient_funds: a prepaid wallet cannot pay a subscription's first period
            # or a purchase, which are charged at acceptance
            402: ErrorSerializer,
        },
        operation_id="offers_accept",
    )
    def post(self, request, offer_id):
        """Accept the offer; accepting again returns the same agreement (200)."""
        acting = _acting(request)
        data = s.AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        before = {a.id for a in services.list_agreements(**acting, status="active")}
        agreement = services.accept_offer(
            **acting,
            offer_id=offer_id,
            spend_cap_micros=data.validated_data.get("spend_cap_micros"),
        )
        code = status.HTTP_200_OK if agreement.id in before else status.HTTP_201_CREATED
        return Response(s.AgreementSerializer(asdict(agreement)).data, status=code)


class AgreementListView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.AgreementQuerySerializer],
        responses=s.AgreementSerializer(many=True),
        operation_id="agreements_list",
    )
    def get(self, request):
        query = s.AgreementQuerySerializer(data=request.query_params.dict())  # "" is not absent
        query.is_valid(raise_exception=True)
        agreements = services.list_agreements(
            **_acting(request), status=query.validated_data.get("status")
        )
        return Response([s.AgreementSerializer(asdict(a)).data for a in agreements])


class AgreementDetailView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(responses=s.AgreementSerializer, operation_id="agreements_retrieve")
    def get(self, request, agreement_id):
        agreement = services.get_agreement(**_acting(request), agreement_id=agreement_id)
        return Response(s.AgreementSerializer(asdict(agreement)).data)

    @extend_schema(
        request=s.AgreementUpdateSerializer,
        responses=s.AgreementSerializer,
        operation_id="agreements_update",
    )
    def patch(self, request, agreement_id):
        """Raise, lower or remove a running agreement's spend cap; what it spent stays."""
        data = s.AgreementUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = services.update_agreement(
            **_acting(request),
            agreement_id=agreement_id,
            spend_cap_micros=data.validated_data["spend_cap_micros"],
        )
        return Response(s.AgreementSerializer(asdict(agreement)).data)


class AgreementCancelView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(request=None, responses=s.AgreementSerializer, operation_id="agreements_cancel")
    def post(self, request, agreement_id):
        agreement = services.cancel_agreement(**_acting(request), agreement_id=agreement_id)
        return Response(s.AgreementSerializer(asdict(agreement)).data)


class EntitlementsView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.UsageTypeQuerySerializer],
        responses=s.EntitlementSerializer(many=True),
        operation_id="entitlements_list",
    )
    def get(self, request):
        """List the collections you may use for a usage type, and on which terms."""
        entitlements = services.list_entitlements(
            **_acting(request), usage_type=request.query_params.get("usage_type", "ai-input")
        )
        return Response([s.EntitlementSerializer(asdict(t)).data for t in entitlements.terms])


class PriceCeilingsView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(responses=s.PriceCeilingsSerializer, operation_id="price_ceilings_retrieve")
    def get(self, request, organization_id):
        """Return the most auto-accept offers may cost your agent organization."""
        ceilings = services.get_price_ceilings(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(s.PriceCeilingsSerializer(asdict(ceilings)).data)

    @extend_schema(
        request=s.PriceCeilingsUpdateSerializer,
        responses=s.PriceCeilingsSerializer,
        operation_id="price_ceilings_update",
    )
    def patch(self, request, organization_id):
        """Change the ceilings (owners and admins, or a key with the licensing scope)."""
        data = s.PriceCeilingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ceilings = services.set_price_ceilings(
            actor=actor_from_request(request),
            organization_id=organization_id,
            **data.validated_data,
        )
        return Response(s.PriceCeilingsSerializer(asdict(ceilings)).data)


def _usage_page(request, role: str):
    query = s.UsageQuerySerializer(data=request.query_params.dict())  # "" is not absent
    query.is_valid(raise_exception=True)
    page = services.list_usage(**_acting(request), role=role, **query.validated_data)
    return Response(
        {
            "results": [s.UsageEventSerializer(asdict(e)).data for e in page.results],
            "next_before_id": page.next_before_id,
        }
    )


class AgentUsageEventsView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.UsageQuerySerializer],
        operation_id="usage_events_list",
        responses=s.UsageEventPageSerializer,
    )
    def get(self, request):
        """List your organization's usage events, newest first."""
        return _usage_page(request, accounts.AGENT)


class ProviderUsageEventsView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        parameters=[s.UsageQuerySerializer],
        operation_id="provider_usage_events_list",
        responses=s.UsageEventPageSerializer,
    )
    def get(self, request):
        """List every use of your content, newest first (providers)."""
        return _usage_page(request, accounts.PROVIDER)


class ProviderNoticeView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        request=s.NoticeRequestSerializer,
        responses=s.LicenseeSerializer,
        operation_id="provider_agreements_notice",
    )
    def post(self, request, agreement_id):
        """End an agreement an agent holds on your offer, with notice (providers): it
        entitles nothing from `notice_ends_at`. A subscription runs to the end of the last
        period that begins before then; a purchase does not end (409 `purchase_not_ended`)."""
        body = s.NoticeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ended = services.give_notice(
            **_acting(request), agreement_id=agreement_id, days=body.validated_data["days"]
        )
        return Response(s.LicenseeSerializer(asdict(ended)).data)


class RSLDocumentView(APIView):
    required_scope = NO_AUTH

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(exclude=True)
    def get(self, request, provider_slug):
        base = request.build_absolute_uri("/").rstrip("/")
        document = services.rsl_document(provider_slug=provider_slug, base_url=base)
        if document is None:
            raise errors.NotFound("No such provider.")
        return HttpResponse(document, content_type=services.RSL_CONTENT_TYPE)


def robots_txt(request):
    base = request.build_absolute_uri("/").rstrip("/")
    lines = ["User-agent: *", "Allow: /", ""]
    lines += [f"License: {base}/rsl/{slug}.xml" for slug in services.rsl_providers()]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
