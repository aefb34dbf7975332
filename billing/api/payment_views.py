"""Top-ups, funding, Connect onboarding and payouts (the `billing` scope), and the webhook."""

import logging
from dataclasses import asdict

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from billing import errors, services
from billing.api import payment_serializers as s
from billing.api.views import _acting, _query
from billing.payment_tasks import process_stripe_event
from core.api.schema import ErrorSerializer

logger = logging.getLogger(__name__)
STRIPE_ERRORS = {
    402: ErrorSerializer,  # payment_refused: the card was declined
    502: ErrorSerializer,  # stripe_refused
    503: ErrorSerializer,  # stripe_unavailable (no Stripe at all: 409 stripe_not_configured)
}


class TopUpListView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(
        parameters=[s.TopUpQuerySerializer],
        responses=s.TopUpListSerializer,
        operation_id="billing_top_ups_list",
    )
    def get(self, request):
        """List your organization's top-ups, newest first."""
        query = _query(s.TopUpQuerySerializer, request)
        rows = services.list_top_ups(**_acting(request, query), limit=query["limit"])
        return Response(s.TopUpListSerializer({"results": [asdict(r) for r in rows]}).data)

    @extend_schema(
        request=s.TopUpCreateSerializer,
        responses={201: s.TopUpSerializer, **STRIPE_ERRORS},
        operation_id="billing_top_ups_create",
    )
    def post(self, request):
        """Add funds to your wallet (agents) or prepaid ad funds (advertisers) through Stripe.

        Returns a PaymentIntent's `client_secret` (confirm it with Stripe.js) or a Checkout
        `checkout_url`. The wallet is credited when Stripe confirms the payment (webhook), not
        before. 409 `stripe_not_configured` on a deployment without Stripe.
        """
        body = s.TopUpCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        top_up = services.create_top_up(**_acting(request), **body.validated_data)
        return Response(s.TopUpSerializer(asdict(top_up)).data, status=status.HTTP_201_CREATED)


class TopUpDetailView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(responses=s.TopUpSerializer, operation_id="billing_top_ups_retrieve")
    def get(self, request, top_up_id):
        """Return one of your top-ups (its status says whether the wallet was credited)."""
        top_up = services.get_top_up(**_acting(request), top_up_id=top_up_id)
        return Response(s.TopUpSerializer(asdict(top_up)).data)


class FundingView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(responses=s.FundingSerializer, operation_id="billing_funding_retrieve")
    def get(self, request):
        """Return your low-balance threshold and automatic top-up settings."""
        return Response(s.FundingSerializer(asdict(services.get_funding(**_acting(request)))).data)

    @extend_schema(
        request=s.FundingUpdateSerializer,
        responses={200: s.FundingSerializer, **STRIPE_ERRORS},
        operation_id="billing_funding_update",
    )
    def patch(self, request):
        """Set the low-balance threshold, automatic top-up amount and saved card."""
        body = s.FundingUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        funding = services.update_funding(**_acting(request), **body.validated_data)
        return Response(s.FundingSerializer(asdict(funding)).data)


class ConnectView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(responses=s.ConnectSerializer, operation_id="billing_connect_retrieve")
    def get(self, request):
        """Return your connected Stripe account's state (providers)."""
        info = services.get_connect_status(**_acting(request))
        return Response(s.ConnectSerializer(asdict(info)).data)

    @extend_schema(
        request=s.EmptySerializer,
        responses={200: s.ConnectSerializer, **STRIPE_ERRORS},
        operation_id="billing_connect_start",
    )
    def post(self, request):
        """Start (or resume) Stripe Connect onboarding: returns a one-time onboarding link.

        The first call creates your Express account. Payouts start once Stripe enables them.
        """
        s.EmptySerializer(data=request.data).is_valid(raise_exception=True)
        info = services.start_onboarding(**_acting(request))
        return Response(s.ConnectSerializer(asdict(info)).data)


class PayoutListView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(
        parameters=[s.PayoutQuerySerializer],
        responses=s.PayoutListSerializer,
        operation_id="billing_payouts_list",
    )
    def get(self, request):
        """List your payouts, newest first (providers)."""
        query = _query(s.PayoutQuerySerializer, request)
        rows = services.list_payouts(**_acting(request, query), limit=query["limit"])
        return Response(s.PayoutListSerializer({"results": [asdict(r) for r in rows]}).data)

    @extend_schema(
        request=s.EmptySerializer,
        responses={201: s.PayoutSerializer, **STRIPE_ERRORS},
        operation_id="billing_payouts_create",
    )
    def post(self, request):
        """Pay out your payable balance now (at least the payout minimum).

        409 `no_connected_account` or `payouts_not_enabled` (onboard first) and
        `below_payout_minimum` leave the balance untouched.
        """
        s.EmptySerializer(data=request.data).is_valid(raise_exception=True)
        payout = services.request_payout(**_acting(request))
        return Response(s.PayoutSerializer(asdict(payout)).data, status=status.HTTP_201_CREATED)


class PayoutDetailView(APIView):
    required_scope = accounts.BILLING

    @extend_schema(responses=s.PayoutStatementSerializer, operation_id="billing_payouts_retrieve")
    def get(self, request, payout_id):
        """Return a payout with its statement: the earnings it pays for, by licence and item."""
        statement = services.get_payout_statement(**_acting(request), payout_id=payout_id)
        return Response(s.PayoutStatementSerializer(asdict(statement)).data)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Receive a Stripe webhook: verify its signature on the raw body, store it once, and
    queue its processing. A bad signature or an old timestamp is a 400 and writes nothing."""
    try:
        received = services.receive_event(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature", "")
        )
    except errors.BadSignature as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    if received.pending:
        transaction.on_commit(lambda: _queue(received.event_id))
    return HttpResponse(status=200)


def _queue(event_id: str) -> None:
    """Queue an event's processing; the event is stored, so a failure here loses nothing
    (`billing.retry_stripe_events` queues it again) and Stripe need not redeliver."""
    try:
        process_stripe_event.delay(event_id)
    except Exception:
        logger.exception("Stripe event %s stored; processing failed, it will be retried", event_id)
