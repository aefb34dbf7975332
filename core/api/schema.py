"""The OpenAPI schema: each operation names the API key scope it needs and its error replies."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from core.api.scopes import ANY_SCOPE, NO_AUTH, required_scope_for

SCOPE_EXTENSION = "x-required-scope"
# Errors any operation may answer, in the one error format.
ERROR_STATUSES = {
    400: "Invalid input: a field, a parameter or the JSON itself.",
    401: "No API key, or an invalid, revoked or expired one.",
    403: "The key lacks the operation's scope (`insufficient_scope`), or the role.",
    404: "Not found, or not yours.",
    406: "The Accept header asks for a format this operation does not produce.",
    409: "Conflicts with the current state, or the same request is in progress.",
    413: "The request body is too large.",
    415: "The body is not JSON (or multipart, where files are uploaded).",
    422: "An Idempotency-Key reused with another request.",
    429: "Over the rate limit; retry after `Retry-After` seconds.",
}
PAYMENT_SCOPES = {"query", "licensing"}


class ErrorSerializer(serializers.Serializer):
    """The one error format. /v1/ errors also carry OpenAI's `error` object."""

    code = serializers.CharField(help_text="A stable, machine-readable code.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.DictField(help_text="Per-field problems or other context.")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the required scope and the documented error replies."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False  # StrictSerializer: unknown fields are a 400
        return schema

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        scope = required_scope_for(self.view, method)
        if scope is not None:
            operation[SCOPE_EXTENSION] = scope
            operation["description"] = _with_scope_line(operation.get("description", ""), scope)
        error = {
            "content": {
                "application/json": {
                    "schema": self.resolve_serializer(ErrorSerializer, "response").ref
                }
            }
        }
        responses = operation.setdefault("responses", {})
        statuses = dict(ERROR_STATUSES)
        if scope == NO_AUTH:
            statuses.pop(401)
            statuses.pop(403)
        if scope in PAYMENT_SCOPES:
            statuses[402] = "A licence is needed, or the price is over your limit."
        for status, description in sorted(statuses.items()):
            responses.setdefault(str(status), {"description": description, **error})
        return operation


def _with_scope_line(description: str, scope: str) -> str:
    if scope == NO_AUTH:
        line = "Scope: none (public, no API key needed)."
    elif scope == ANY_SCOPE:
        line = "Scope: any API key."
    else:
        line = f"Scope: an API key with the `{scope}` scope."
    return f"{description}\n\n{line}" if description else line
