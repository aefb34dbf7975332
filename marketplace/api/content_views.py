"""Paid content for agents: a document's full text under a licence, 402 with the price otherwise.

An anonymous request (a crawler without a key) is answered 402 too, with the public offers'
terms and how to get a key, as pay-per-crawl does; only a wrong or revoked key is a 401.
"""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import HasRequiredScope, acting_organization, actor_from_request
from licensing import errors as licensing_errors
from licensing import services as licensing
from marketplace.services import idempotency

CONTENT_ENDPOINT = "documents.content"


class UsageTypeQuerySerializer(serializers.Serializer):
    usage_type = serializers.ChoiceField(choices=licensing.USAGE_TYPE_CHOICES, default="ai-input")


class DocumentContentView(APIView):
    required_scope = accounts.QUERY
    # Anonymous requests are let through to be answered 402 with the public terms.
    permission_classes = [HasRequiredScope]
    anonymous_payment_required = True

    @extend_schema(
        parameters=[
            UsageTypeQuerySerializer,
            OpenApiParameter(
                "crawler-max-price",
                str,
                location="header",
                description="The most you pay to fetch: 'USD 0.01' (needs the licensing scope). "
                "It pays for this fetch only.",
            ),
            OpenApiParameter(
                "crawler-accept",
                str,
                location="header",
                enum=["standing"],
                description="'standing': accept the offer crawler-max-price buys, so it serves "
                "later fetches too (needs the licensing scope).",
            ),
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
        operation_id="documents_content",
    )
    def get(self, request, document_id, collection_id=None):
        """Return a document's full text under a licence; 402 with the price otherwise."""
        usage_type = request.query_params.get("usage_type", "ai-input")
        if usage_type not in licensing.USAGE_TYPES:
            raise licensing_errors.ValidationFailed(
                "Unknown usage type.", details={"usage_type": list(licensing.USAGE_TYPES)}
            )
        if not _signed_in(request):
            terms = licensing.public_content_terms(
                document_id=document_id, collection_id=collection_id, usage_type=usage_type
            )
            response = _payment_required(request, terms)
            response["WWW-Authenticate"] = 'Bearer realm="provenant"'
            return response
        agent = acting_organization(request, role=accounts.AGENT, scope=accounts.QUERY)
        currency = settings.LICENSING_CURRENCY
        max_price = licensing.parse_price(request.headers.get("crawler-max-price"), currency)
        standing = _standing(request.headers.get("crawler-accept"))
        keyed = _claim_key(request, agent.id)
        try:
            grant = licensing.fetch_licensed_content(
                actor=actor_from_request(request),
                organization_id=agent.id,
                document_id=document_id,
                collection_id=collection_id,
                usage_type=usage_type,
                max_price_micros=max_price,
                standing=standing,
                request_id=keyed.request_id if keyed else None,
            )
        except licensing_errors.PaymentRequired as exc:
            if keyed:
                keyed.release()
            return _payment_required(request, exc)
        except BaseException:
            if keyed:
                keyed.release()
            raise
        if keyed:
            keyed.complete(grant)
        response = HttpResponse(grant.text, content_type="text/plain; charset=utf-8")
        response["Link"] = _license_link(request, grant.provider_slug)
        response["crawler-charged"] = licensing.format_price(grant.charged_micros, grant.currency)
        response["X-Request-Id"] = grant.request_id
        return response


def _signed_in(request: Request) -> bool:
    return request.auth is not None or bool(request.user and request.user.is_authenticated)


def _payment_required(request: Request, exc: licensing_errors.PaymentRequired) -> Response:
    """Answer 402 in the error format: the terms, where to get a key, and pay-per-crawl headers.

    `crawler-price` is the price of this fetch, sent only when a pay-per-use offer is named.
    """
    slug = exc.details.get("provider")
    details = {
        **exc.details,
        "signup_url": request.build_absolute_uri("/signup/"),
        "docs_url": request.build_absolute_uri("/api/docs/"),
        "rsl_url": request.build_absolute_uri(f"/rsl/{slug}.xml") if slug else None,
    }
    response = Response(
        {"code": exc.code, "message": exc.message, "details": details},
        status=status.HTTP_402_PAYMENT_REQUIRED,
    )
    price = licensing.crawler_price(details)
    if price is not None:
        response["crawler-price"] = licensing.format_price(price, details["currency"])
    if slug:
        response["Link"] = _license_link(request, slug)
    return response


class _KeyedFetch:
    """A content fetch sent with an `Idempotency-Key`, bound to its method, path and query.

    A retry is served the same document again under the first fetch's request id, so it is
    metered once; the same key on another document, collection or usage type is refused.
    """

    def __init__(self, request, agent_id):
        self.agent_id = agent_id
        self.key = idempotency.clean_key(request.headers["Idempotency-Key"])
        digest = idempotency.request_fingerprint(
            method=request.method, path=request.path, query=dict(request.query_params.lists())
        )
        self.request_id = idempotency.request_id_for(
            organization_id=agent_id,
            endpoint=CONTENT_ENDPOINT,
            key=self.key,
            digest=digest,
            prefix="content",
        )
        idempotency.claim(
            organization_id=agent_id, endpoint=CONTENT_ENDPOINT, key=self.key, digest=digest
        )

    def complete(self, grant) -> None:
        idempotency.complete(
            organization_id=self.agent_id,
            endpoint=CONTENT_ENDPOINT,
            key=self.key,
            status=200,
            body={"request_id": grant.request_id, "document_id": grant.document_id},
        )

    def release(self) -> None:
        idempotency.release(
            organization_id=self.agent_id,
            endpoint=CONTENT_ENDPOINT,
            key=self.key,
            request_id=self.request_id,
        )


def _standing(value: str | None) -> bool:
    """Read `crawler-accept`: absent pays for one fetch, `standing` accepts the offer."""
    if value is None:
        return False
    if value.strip().lower() != "standing":
        raise licensing_errors.ValidationFailed(
            "crawler-accept is 'standing' or absent.",
            details={"crawler-accept": ["'standing' accepts the offer for later fetches."]},
        )
    return True


def _claim_key(request, agent_id) -> _KeyedFetch | None:
    if request.headers.get("Idempotency-Key") is None:
        return None
    return _KeyedFetch(request, agent_id)


def _license_link(request, slug: str) -> str:
    url = request.build_absolute_uri(f"/rsl/{slug}.xml")
    return f'<{url}>; rel="license"; type="{licensing.RSL_CONTENT_TYPE}"'
