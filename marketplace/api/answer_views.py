"""The agent API: answers (JSON and SSE), licensed search, usage, and receipt verification."""

from collections.abc import Iterator

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import acting_organization, actor_from_request, requested_organization_id
from core.api.scopes import NO_AUTH
from core.api.serializers import StrictCharField, StrictSerializer
from licensing import services as licensing
from marketplace import errors
from marketplace.api.answer_bodies import answer_body, search_body
from marketplace.api.idempotent_runs import IDEMPOTENCY_KEY_HEADER, IdempotentRun, _sse
from marketplace.services import answers, receipts

ANSWERS_ENDPOINT = "answers"


class AnswerRequestSerializer(StrictSerializer):
    question = StrictCharField(allow_blank=True, trim_whitespace=False)
    collections = serializers.ListField(child=serializers.UUIDField(), required=False)
    max_sources = serializers.IntegerField(
        required=False, min_value=1, max_value=answers.MAX_SOURCES
    )
    max_price_micros = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=answers.MAX_PRICE_MICROS
    )
    max_tokens = serializers.IntegerField(required=False, min_value=1, max_value=4096)
    revenue_micros = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=answers.MAX_PRICE_MICROS,
        help_text="What this answer earns you, in micros of the offers' currency: revenue-share"
        " sources get their basis points of it, split by attribution weight.",
    )
    allow_sponsored = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Whether sponsored items may come beside the answer (`sponsored`); left out or"
        " null: your API key's default. They never change the answer, its citations or its cost.",
    )
    stream = serializers.BooleanField(default=False)


def agent_organization(request):
    """Return the agent organization the request asks for (403 without `query` or the role)."""
    return acting_organization(request, role=accounts.AGENT, scope=accounts.QUERY)


AI_GENERATED_HEADER = "X-AI-Generated"


def mark_ai_generated(response):
    """Say in a header that the response's answer was written by a machine."""
    response[AI_GENERATED_HEADER] = "true"
    return response


def sponsored_request(request, requested: bool | None) -> answers.SponsoredRequest:
    """Return whether this request's answer may carry sponsored items (the request's own
    `allow_sponsored`, else its API key's default) and the base of their click URLs."""
    key = request.auth if isinstance(request.auth, accounts.AuthenticatedKey) else None
    return answers.SponsoredRequest(
        allowed=accounts.sponsored_allowed(key=key, requested=requested),
        site_url=request.build_absolute_uri("/").rstrip("/"),
    )


def _answer_events(plan, max_tokens, sponsored) -> Iterator[tuple[str, dict]]:
    for event in answers.stream_answer(plan, max_tokens=max_tokens, sponsored=sponsored):
        if isinstance(event, answers.StreamDelta):
            yield "answer.delta", {"text": event.text}
        else:
            body = answer_body(event.result)
            yield "answer.completed", body
            yield "final", body


def _replay_answer(body: dict) -> Iterator[bytes]:
    yield _sse("answer.delta", {"text": body.get("answer", "")})
    yield _sse("answer.completed", body)


class AnswerView(APIView):
    required_scope = accounts.QUERY

    @extend_schema(
        request=AnswerRequestSerializer,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="answers_create",
    )
    def post(self, request):
        """Answer a question from licensed content, with citations, attribution and cost.

        With `stream: true` the answer comes as server-sent events: `answer.delta` events
        carry text as it is written, then `answer.completed` carries the whole answer
        (the same JSON as without streaming), or `error` if it could not be metered.
        With `allow_sponsored` (or the key's default), labelled sponsored items may come in
        `sponsored`, chosen after the answer is written; the answer is the same either way.
        """
        organization = agent_organization(request)
        serializer = AnswerRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sponsored = sponsored_request(request, data.get("allow_sponsored"))
        run = IdempotentRun(
            request,
            organization_id=organization.id,
            endpoint=ANSWERS_ENDPOINT,
            payload=request.data,
        )

        def make_plan():
            return answers.plan(
                agent_id=organization.id,
                api_key_id=getattr(request.auth, "id", None),
                request_id=run.request_id,
                question=data["question"],
                collection_ids=data.get("collections"),
                max_sources=data.get("max_sources"),
                max_price_micros=data.get("max_price_micros"),
                revenue_micros=data.get("revenue_micros"),
            )

        if data["stream"]:
            if run.replay is not None:
                return mark_ai_generated(run.stream(iter(()), replay=_replay_answer))
            try:
                plan = make_plan()  # refusals (400, 402) come before the stream starts
            except BaseException:
                run.release()
                raise
            events = _answer_events(plan, data.get("max_tokens"), sponsored)
            return mark_ai_generated(run.stream(events, replay=_replay_answer))
        return mark_ai_generated(
            run.run(
                lambda _request_id: answers.deliver_answer(
                    make_plan(),
                    run.deliver(answer_body),
                    max_tokens=data.get("max_tokens"),
                    sponsored=sponsored,
                )
            )
        )


class SearchView(APIView):
    required_scope = accounts.QUERY

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="What to search for."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": answers.SEARCH_MAX_RESULTS},
                description="Snippets to return (default 10).",
            ),
            OpenApiParameter(
                "collections", str, description="Comma-separated collection ids to search in."
            ),
            OpenApiParameter(
                "max_price_micros",
                {"type": "integer", "minimum": 0, "maximum": answers.MAX_PRICE_MICROS},
                description="The most this search may cost.",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="search",
    )
    def get(self, request):
        """Search licensed content: snippets you may use for `search`, each with its terms.

        Each snippet is metered as a `search` use under its licence. A match under a licence
        that does not permit `search` is listed by title and link (`snippet: null`), free.
        """
        organization = agent_organization(request)
        params = request.query_params
        unknown = sorted(set(params) - {"q", "limit", "collections", "max_price_micros"})
        if unknown:
            raise errors.ValidationFailed(
                "Unknown query parameters.",
                code="unknown_field",
                details={name: ["Unknown parameter."] for name in unknown},
            )
        query = params.get("q", "").strip()
        if not query:
            raise errors.ValidationFailed(
                "Say what to search for.", code="empty_question", details={"q": ["Required."]}
            )
        if len(query) > settings.ANSWER_MAX_QUESTION_CHARS:
            raise errors.ValidationFailed(
                f"A search is at most {settings.ANSWER_MAX_QUESTION_CHARS} characters.",
                code="question_too_long",
                details={"q": ["Too long."]},
            )
        limit = _int_param(params, "limit", 10)
        if not 1 <= limit <= answers.SEARCH_MAX_RESULTS:
            raise errors.ValidationFailed(
                f"limit is between 1 and {answers.SEARCH_MAX_RESULTS}.",
                details={"limit": [f"1 to {answers.SEARCH_MAX_RESULTS}."]},
            )
        max_price = _int_param(params, "max_price_micros", None)
        collections = params.get("collections")
        plan = answers.plan_search(
            agent_id=organization.id,
            api_key_id=getattr(request.auth, "id", None),
            query=query,
            collection_ids=[c for c in collections.split(",") if c] if collections else None,
            limit=limit,
            max_price_micros=max_price,
        )
        return Response(search_body(answers.search(plan), plan.question))


def _int_param(params, name: str, default):
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise errors.ValidationFailed(
            f"{name} is an integer.", details={name: ["An integer."]}
        ) from exc


def _date_param(params, name: str):
    from datetime import date

    raw = params.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise errors.ValidationFailed(
            f"{name} is a date (YYYY-MM-DD).", details={name: ["A date, YYYY-MM-DD."]}
        ) from exc


class UsageView(APIView):
    required_scope = accounts.QUERY

    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="First day (UTC)."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Last day (UTC), today."),
        ],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="usage_summary",
    )
    def get(self, request):
        """Your usage and cost by day, collection and provider (30 days by default)."""
        summary = licensing.summarize_usage(
            actor=actor_from_request(request),
            organization_id=requested_organization_id(request),
            since=_date_param(request.query_params, "since"),
            until=_date_param(request.query_params, "until"),
            group_by=("day", "collection", "provider", "usage_type"),
        )
        names = answers.names_for(
            collection_ids=[g.key for g in summary.groups["collection"]],
            organization_ids=[g.key for g in summary.groups["provider"]],
        )

        def rows(group: str, key: str) -> list[dict]:
            out = []
            for g in summary.groups[group]:
                row = {key: g.key}
                if group in ("collection", "provider"):
                    row["name"] = names.get(g.key, "")
                row.update(
                    answers=g.answers,
                    searches=g.searches,
                    content_fetches=g.content_fetches,
                    events=g.events,
                    units=g.units,
                    amount_micros=g.amount_micros,
                )
                out.append(row)
            return out

        return Response(
            {
                "since": summary.since.isoformat(),
                "until": summary.until.isoformat(),
                "currency": summary.currency,
                "totals": {
                    "answers": summary.answers,
                    "searches": summary.searches,
                    "content_fetches": summary.content_fetches,
                    "events": summary.events,
                    "amount_micros": summary.amount_micros,
                },
                "by_day": rows("day", "day"),
                "by_collection": rows("collection", "collection_id"),
                "by_provider": rows("provider", "provider_id"),
                "by_usage_type": rows("usage_type", "usage_type"),
            }
        )


class ReceiptVerifySerializer(StrictSerializer):
    receipt = serializers.JSONField()


class ReceiptVerifyView(APIView):
    required_scope = NO_AUTH

    permission_classes = [AllowAny]

    @extend_schema(
        request=ReceiptVerifySerializer,
        responses=inline_serializer(
            "ReceiptVerification",
            {
                "valid": serializers.BooleanField(),
                "reason": serializers.CharField(),
                "metered": serializers.BooleanField(allow_null=True),
            },
        ),
        operation_id="receipts_verify",
    )
    def post(self, request):
        """Check that a receipt was signed by this deployment and not altered since.

        For a valid receipt, `metered` says whether its answer is metered (null otherwise).
        """
        serializer = ReceiptVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = receipts.check_receipt(serializer.validated_data["receipt"])
        return Response({"valid": result.valid, "reason": result.reason, "metered": result.metered})


class ReceiptKeyView(APIView):
    required_scope = NO_AUTH

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "ReceiptKey",
            {
                "key_id": serializers.CharField(),
                "algorithm": serializers.CharField(),
                "public_key": serializers.CharField(),
                "encoding": serializers.CharField(),
                "canonicalization": serializers.CharField(),
                "keys": inline_serializer(
                    "ReceiptPublicKey",
                    {
                        "key_id": serializers.CharField(),
                        "algorithm": serializers.CharField(),
                        "public_key": serializers.CharField(),
                        "status": serializers.ChoiceField(choices=["current", "retired"]),
                    },
                    many=True,
                ),
            },
        ),
        operation_id="receipts_public_key",
    )
    def get(self, request):
        """Return the Ed25519 public keys that verify receipts offline: current, then retired."""
        keys = receipts.public_keys()
        key = keys[0]
        return Response(
            {
                "key_id": key.key_id,
                "algorithm": key.algorithm,
                "public_key": key.public_key,
                "encoding": "base64url, raw 32-byte key",
                "canonicalization": receipts.CANONICALIZATION,
                "keys": [
                    {
                        "key_id": k.key_id,
                        "algorithm": k.algorithm,
                        "public_key": k.public_key,
                        "status": k.status,
                    }
                    for k in keys
                ],
            }
        )
