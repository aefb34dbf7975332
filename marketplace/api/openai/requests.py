"""Chat completion requests: validation and the question they ask."""

import logging

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictCharField, StrictSerializer
from marketplace import errors
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
    max_sources = serializers.IntegerField(
        required=False, min_value=1, max_value=answers.MAX_SOURCES
    )
    max_price_micros = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=answers.MAX_PRICE_MICROS
    )
    revenue_micros = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=answers.MAX_PRICE_MICROS,
        help_text="What this answer earns you (micros): revenue-share sources get their share.",
    )
    allow_sponsored = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Whether sponsored items may come in `provenant.sponsored` (default: your "
        "API key's); they never change the message, its annotations or the cost.",
    )


class ChatCompletionRequestSerializer(serializers.Serializer):
    refuses_unknown_fields = True  # beyond the OpenAI parameters it ignores

    model = StrictCharField()
    messages = serializers.ListField(child=MessageSerializer(), allow_empty=False, min_length=1)
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
    """Return the text of the last user message, which is the question, checked as questions
    are everywhere (`answers.clean_question`); every message's text is checked for characters
    that cannot be stored or signed."""
    for index, message in enumerate(messages):
        for text in _texts(message.get("content")):
            answers.refuse_unsafe_text(text, field=f"messages.{index}.content")
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
    return answers.clean_question(content, field=f"messages.{index}.content")


def _texts(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p["text"] for p in content if p.get("type") == "text"]
    return []
