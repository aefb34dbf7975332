"""The OpenAI-compatible API: `/v1/models` and `/v1/chat/completions` over the answer use case.

An agent built on the OpenAI SDK (or LangChain, LlamaIndex) changes only its base URL and key.
The question is the last `user` message; earlier messages (system prompts, history) are not
searched and do not reach the model, because what is retrieved, bought and cited must follow
from the question alone. Errors keep `{"code", "message", "details"}` and add OpenAI's `error`.
"""

import json
import logging
from collections.abc import Iterator

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StrictCharField, StrictSerializer
from config.errors import api_exception_handler, error_body
from marketplace import errors
from marketplace.api.answer_bodies import answer_body
from marketplace.api.answer_views import IdempotentRun, agent_organization, sse_response
from marketplace.services import answers

logger = logging.getLogger("provenant.api")

MODEL_ID = "provenant"
MODEL_CREATED = 1735689600  # 2025-01-01T00:00:00Z, when the model id was first served
OWNED_BY = "provenant"
CHAT_ENDPOINT = "chat.completions"
ID_PREFIX = "chatcmpl"
FINISH_REASONS = {"stop", "length", "content_filter"}
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# OpenAI parameters that are accepted and ignored: Provenant decides how answers are written.
# Tools may be offered, but the answer never calls one.
IGNORED_PARAMETERS = frozenset(
    {
        "temperature", "top_p", "seed", "user", "stop", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format",
        "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
        "metadata", "store", "service_tier", "modalities", "reasoning_effort", "verbosity",
        "prediction", "audio", "web_search_options", "prompt_cache_key", "safety_identifier",
    }
)  # fmt: skip
ONLY_N_1 = "Only n=1 is supported."
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "payment_required",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


# -- errors -----------------------------------------------------------------------------------


def _problems(details, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield (field path, message) for each message in nested validation details."""
    if isinstance(details, dict):
        for key, value in details.items():
            yield from _problems(value, f"{path}.{key}" if path else str(key))
    elif isinstance(details, list | tuple):
        for item in details:
            yield from _problems(item, path)
    else:
        yield path, str(details)


def _offer_terms(offer: dict) -> str:
    price = "free" if not offer.get("price_micros") else f"{offer['price_micros']} micros"
    unit = f" per {offer['price_unit']}" if offer.get("price_unit") else ""
    return (
        f"'{offer.get('name')}' by {offer.get('provider_name')} "
        f"({offer.get('payment_type')}, {price}{unit}; POST {offer.get('accept_url')})"
    )


def openai_error(status: int, body: dict) -> dict:
    """Return OpenAI's `error` object for one of our error bodies."""
    message, details, param = body.get("message", ""), body.get("details") or {}, None
    if status == 400 and isinstance(details, dict) and details:
        problems = [(p, m) for p, m in _problems(details) if p]
        if problems:
            param = problems[0][0]
            listed = "; ".join(f"{p}: {m}" for p, m in problems[:5])
            message = f"{message.rstrip('.')} ({listed})"
    elif body.get("code") == "license_required" and details.get("offers"):
        message = f"{message} Offers: " + "; ".join(_offer_terms(o) for o in details["offers"])
    error_type = ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    return {"message": message, "type": error_type, "param": param, "code": body.get("code")}


def openai_exception_handler(exc, context):
    """Map errors to our format and add OpenAI's `error` object, which OpenAI SDKs read."""
    response = api_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" in response.data:
        response.data["error"] = openai_error(response.status_code, response.data)
    return response


def _stream_error(body: dict, status: int) -> bytes:
    return _data({**body, "error": openai_error(status, body)})


class OpenAIView(APIView):
    def get_exception_handler(self):
        return openai_exception_handler


# -- input ------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "object"}},
        ],
        "nullable": True,
    }
)
class ContentField(serializers.Field):
    """A message's content: a string, null, or a list of typed parts."""

    default_error_messages = {
        "invalid": "A string or a list of content parts.",
        "part": "Each part is an object with a string `type`.",
        "text": "A text part has a string `text`.",
    }

    def to_internal_value(self, data):
        if data is None or isinstance(data, str):
            return data
        if not isinstance(data, list):
            self.fail("invalid")
        for part in data:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                self.fail("part")
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                self.fail("text")
        return data

    def to_representation(self, value):
        return value


class MessageSerializer(serializers.Serializer):
    """One chat message; fields beyond role and content (name, tool_calls...) are ignored."""

    role = StrictCharField(help_text=f"One of: {', '.join(ROLES)}.")
    content = ContentField(required=False, allow_null=True)

    def validate_role(self, value: str) -> str:
        if value not in ROLES:
            raise serializers.ValidationError(f"'{value}' is not a role; use one of {ROLES}.")
        return value


class StreamOptionsSerializer(StrictSerializer):
    include_usage = serializers.BooleanField(required=False, allow_null=True)
    include_obfuscation = serializers.BooleanField(required=False, allow_null=True)


class ProvenantOptionsSerializer(StrictSerializer):
    collections = serializers.ListField(child=serializers.UUIDField(), required=False)
    max_sources = serializers.IntegerField(required=False)
    max_price_micros = serializers.IntegerField(required=False, allow_null=True)


class ChatCompletionRequestSerializer(serializers.Serializer):
    model = StrictCharField()
    messages = serializers.ListField(child=MessageSerializer(), allow_empty=False)
    max_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=4096
    )
    max_completion_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=4096
    )
    n = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=1,
        error_messages={"min_value": ONLY_N_1, "max_value": ONLY_N_1},
    )
    stream = serializers.BooleanField(required=False, allow_null=True)
    stream_options = StreamOptionsSerializer(required=False, allow_null=True)
    provenant = ProvenantOptionsSerializer(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - IGNORED_PARAMETERS)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unrecognized request argument."] for name in unknown},
                    code="unknown_field",
                )
            _refuse_what_cannot_be_honoured(data)
        return super().to_internal_value(data)


def _refuse_what_cannot_be_honoured(data: dict) -> None:
    """Refuse ignored parameters whose caller relies on them: a structured reply, a tool call."""
    response_format = data.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict) or response_format.get("type") != "text"
    ):
        raise serializers.ValidationError(
            {"response_format": ["Answers are text with [n] markers; only type 'text'."]}
        )
    for name in ("tool_choice", "function_call"):
        if data.get(name) not in (None, "none", "auto"):
            raise serializers.ValidationError(
                {name: ["Answers never call tools; use 'auto' or 'none'."]}
            )


def question_from(messages: list[dict]) -> str:
    """Return the text of the last user message, which is the question."""
    users = [(i, m) for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise errors.ValidationFailed(
            "The messages hold no user message: ask the question in one.",
            code="empty_question",
            details={"messages": ["Add a message with role 'user'."]},
        )
    index, message = users[-1]
    content = message.get("content")
    if isinstance(content, list):
        unsupported = sorted({p["type"] for p in content if p["type"] != "text"})
        if unsupported:
            raise errors.ValidationFailed(
                "Only text content is supported.",
                code="unsupported_content",
                details={f"messages.{index}.content": [f"Unsupported parts: {unsupported}."]},
            )
        content = "\n".join(p["text"] for p in content)
    if not content or not content.strip():
        raise errors.ValidationFailed(
            "The last user message is empty: ask a question.",
            code="empty_question",
            details={f"messages.{index}.content": ["Required."]},
        )
    return content


# -- output -----------------------------------------------------------------------------------


def _data(body: dict) -> bytes:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def _annotations(result: answers.AnswerResult) -> list[dict]:
    return [
        {
            "type": "url_citation",
            "url_citation": {
                "start_index": c.answer_start,
                "end_index": c.answer_end,
                "url": c.url,
                "title": c.title,
            },
        }
        for c in result.citations
    ]


def _usage(result: answers.AnswerResult) -> dict:
    prompt = result.usage.prompt_tokens if result.usage else 0
    completion = result.usage.completion_tokens if result.usage else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_body(result: answers.AnswerResult) -> dict:
    """Return a `chat.completion` for an answer, with Provenant's answer JSON in `provenant`."""
    finish = result.metadata.finish_reason if result.metadata else "stop"
    return {
        "id": result.id,
        "object": "chat.completion",
        "created": int(result.created_at.timestamp()),
        "model": MODEL_ID,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": result.text,
                    "refusal": None,
                    "annotations": _annotations(result),
                },
                "logprobs": None,
                "finish_reason": finish if finish in FINISH_REASONS else "stop",
            }
        ],
        "usage": _usage(result),
        "provenant": answer_body(result),
    }


class Chunks:
    """Build the `chat.completion.chunk` events of one completion."""

    def __init__(self, *, completion_id: str, created: int, include_usage: bool):
        self.base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "system_fingerprint": None,
        }
        self.include_usage = include_usage

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body = {**self.base, "choices": [choice], **extra}
        if self.include_usage:
            body["usage"] = None
        return _data(body)

    def opening(self) -> bytes:
        return self.chunk({"role": "assistant", "content": ""})

    def closing(self, completion: dict) -> Iterator[bytes]:
        """Yield the finishing chunk (annotations and `provenant`), the usage chunk, [DONE]."""
        choice = completion["choices"][0]
        yield self.chunk(
            {"annotations": choice["message"]["annotations"]},
            choice["finish_reason"],
            provenant=completion["provenant"],
        )
        if self.include_usage:
            yield _data({**self.base, "choices": [], "usage": completion["usage"]})
        yield DONE

    def replay(self, completion: dict) -> Iterator[bytes]:
        yield self.opening()
        yield self.chunk({"content": completion["choices"][0]["message"]["content"]})
        yield from self.closing(completion)


def _stream(run: IdempotentRun, plan: answers.AnswerPlan, chunks: Chunks, max_tokens):
    finished, failure = False, None
    try:
        yield chunks.opening()
        for event in answers.stream_answer(plan, max_tokens=max_tokens):
            if isinstance(event, answers.StreamDelta):
                if event.text:
                    yield chunks.chunk({"content": event.text})
                continue
            completion = completion_body(event.result)
            run.complete(200, completion)
            finished = True
            yield from chunks.closing(completion)
    except errors.DomainError as exc:
        failure = _stream_error(error_body(exc.code, exc.message, exc.details), exc.status)
    except Exception:
        logger.exception("Streaming chat completion %s failed", plan.request_id)
        message = "Something went wrong on our side. It has been logged."
        failure = _stream_error(error_body("server_error", message), 500)
    finally:
        if not finished:
            run.release()  # before the error reaches the client, so its retry runs again
    if failure is not None:
        yield failure


# -- views ------------------------------------------------------------------------------------


def model_body() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": OWNED_BY}


class ModelListView(OpenAIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="openai_models_list")
    def get(self, request):
        """List the models (OpenAI-compatible): `provenant` answers from licensed content."""
        return Response({"object": "list", "data": [model_body()]})


class ModelView(OpenAIView):
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
    @extend_schema(
        request=ChatCompletionRequestSerializer,
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A retry with the same key returns the first response, metered once.",
            )
        ],
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
            )

        if not data.get("stream"):
            return run.run(
                lambda _request_id: completion_body(
                    answers.answer_question(make_plan(), max_tokens=max_tokens)
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
            return response
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
        return sse_response(_stream(run, plan, chunks, max_tokens))
