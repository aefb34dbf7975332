"""/v1/models and /v1/chat/completions."""

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts import services as accounts
from marketplace import errors
from marketplace.api.answer_views import agent_organization, mark_ai_generated, sponsored_request
from marketplace.api.idempotent_runs import IDEMPOTENCY_KEY_HEADER, IdempotentRun, sse_response
from marketplace.api.openai.bodies import Chunks, _stream, completion_body
from marketplace.api.openai.errors import OpenAIView
from marketplace.api.openai.requests import (
    CHAT_ENDPOINT,
    ID_PREFIX,
    MODEL_CREATED,
    MODEL_ID,
    OWNED_BY,
    ChatCompletionRequestSerializer,
    question_from,
)
from marketplace.services import answers

logger = logging.getLogger("provenant.api")

# -- views ------------------------------------------------------------------------------------


def model_body() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": OWNED_BY}


class ModelListView(OpenAIView):
    required_scope = accounts.QUERY

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="openai_models_list")
    def get(self, request):
        """List the models (OpenAI-compatible): `provenant` answers from licensed content."""
        return Response({"object": "list", "data": [model_body()]})


class ModelView(OpenAIView):
    required_scope = accounts.QUERY

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="openai_models_retrieve")
    def get(self, request, model_id: str):
        """Return one model (OpenAI-compatible); 404 `model_not_found` for another id."""
        if model_id != MODEL_ID:
            raise _model_not_found(model_id)
        return Response(model_body())


def _model_not_found(model_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"The model '{model_id}' does not exist; use '{MODEL_ID}'.",
        code="model_not_found",
        details={"model": [f"Use '{MODEL_ID}'."]},
    )


class ChatCompletionView(OpenAIView):
    required_scope = accounts.QUERY

    @extend_schema(
        request=ChatCompletionRequestSerializer,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="openai_chat_completions_create",
    )
    def post(self, request):
        """Answer the last user message from licensed content (OpenAI-compatible).

        The answer has `[n]` markers and `url_citation` annotations; the `provenant` field
        carries citations, sources, attribution, cost and the signed receipt. With
        `stream: true` it comes as `chat.completion.chunk` events ending in `data: [DONE]`.
        """
        organization = agent_organization(request)
        serializer = ChatCompletionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["model"] != MODEL_ID:
            raise _model_not_found(data["model"])
        question = question_from(data["messages"])
        options = data.get("provenant") or {}
        sponsored = sponsored_request(request, options.get("allow_sponsored"))
        max_tokens = data.get("max_completion_tokens") or data.get("max_tokens")
        run = IdempotentRun(
            request,
            organization_id=organization.id,
            endpoint=CHAT_ENDPOINT,
            payload=request.data,
            prefix=ID_PREFIX,
        )

        def make_plan() -> answers.AnswerPlan:
            return answers.plan(
                agent_id=organization.id,
                api_key_id=getattr(request.auth, "id", None),
                request_id=run.request_id,
                question=question,
                collection_ids=options.get("collections"),
                max_sources=options.get("max_sources"),
                max_price_micros=options.get("max_price_micros"),
                revenue_micros=options.get("revenue_micros"),
            )

        if not data.get("stream"):
            return mark_ai_generated(
                run.run(
                    lambda _request_id: answers.deliver_answer(
                        make_plan(),
                        run.deliver(completion_body),
                        max_tokens=max_tokens,
                        sponsored=sponsored,
                    )
                )
            )
        include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
        if run.replay is not None:
            stored = run.replay.body
            chunks = Chunks(
                completion_id=stored["id"], created=stored["created"], include_usage=include_usage
            )
            response = sse_response(chunks.replay(stored))
            response["Idempotent-Replayed"] = "true"
            return mark_ai_generated(response)
        try:
            plan = make_plan()  # refusals (400, 402, 404) come as JSON before the stream starts
        except BaseException:
            run.release()
            raise
        chunks = Chunks(
            completion_id=plan.request_id,
            created=int(plan.created_at.timestamp()),
            include_usage=include_usage,
        )
        return mark_ai_generated(sse_response(_stream(run, plan, chunks, max_tokens, sponsored)))
