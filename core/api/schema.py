"""The OpenAPI schema: each operation names the API key scope it needs and its error replies."""

import re
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import Direction
from rest_framework import serializers
from rest_framework.request import Request

from core.api.scopes import ANY_SCOPE, NO_AUTH, required_scope_for

SCOPE_EXTENSION = "x-required-scope"
# Set on an operation that answers a request without an API key with 402 and its terms (as
# pay-per-crawl does), where others answer 401: a view declares `anonymous_payment_required`.
ANONYMOUS_EXTENSION = "x-anonymous-payment-required"
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
URI_TOO_LONG = (
    "The request line (path and query) is longer than the web server accepts (gunicorn: 4,094 "
    "bytes); answered by the server before the application, so not in the error format."
)
# One character that Python's str.strip() keeps (DRF trims text with it): the characters
# str.isspace() calls whitespace, spelled out, since the ECMA regex `\s` is another set.
NOT_ONLY_WHITESPACE = (
    "[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028-\\u2029\\u202f\\u205f\\u3000]"
)
PAYMENT_SCOPES = {"query", "licensing"}


class ErrorSerializer(serializers.Serializer[Any]):
    """The one error format. /v1/ errors also carry OpenAI's `error` object."""

    code = serializers.CharField(help_text="A stable, machine-readable code.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.DictField(help_text="Per-field problems or other context.")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the required scope and the documented error replies."""

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(  # type: ignore[no-untyped-call]  # drf-spectacular leaves it untyped
            field, direction, bypass_extensions
        )
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not isinstance(field, serializers.RegexField)  # its own pattern says it all
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "enum" not in schema
            and "format" not in schema
        ):
            schema["pattern"] = NOT_ONLY_WHITESPACE  # trimmed, so blank is refused
        return schema

    def _map_basic_serializer(
        self,
        serializer: serializers.BaseSerializer[Any] | type[serializers.BaseSerializer[Any]],
        direction: Direction,
    ) -> dict[str, Any]:
        base = super()._map_basic_serializer  # drf-spectacular leaves it unannotated
        schema: dict[str, Any] = base(serializer, direction)  # type: ignore[no-untyped-call]
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False  # StrictSerializer: unknown fields are a 400
            min_fields = getattr(serializer, "min_fields", 0)
            if min_fields:
                schema["minProperties"] = min_fields  # e.g. a PATCH names a field
        return schema

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        min_fields = getattr(self.get_request_serializer(), "min_fields", None)
        if "requestBody" in operation and min_fields:
            operation["requestBody"]["required"] = True  # no body names no field
        scope = required_scope_for(self.view, method)
        if scope is not None:
            operation[SCOPE_EXTENSION] = scope
            operation["description"] = _with_scope_line(operation.get("description", ""), scope)
        if getattr(self.view, "anonymous_payment_required", False):
            operation[ANONYMOUS_EXTENSION] = True
            # No key is a valid way to call it (the answer is the price), as OpenAPI says with {}.
            operation["security"] = [*operation.get("security", []), {}]
            line = "Without an API key: 402 with the public offers' terms and where to get a key."
            operation["description"] = f"{operation.get('description', '')}\n\n{line}".strip()
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
            statuses[402] = (
                "A licence is needed, or the price is over your limit, or your wallet cannot "
                "pay it (`insufficient_funds`)."
            )
        for status, description in sorted(statuses.items()):
            responses.setdefault(str(status), {"description": description, **error})
        # Refused by the web server (gunicorn) before the application runs, so not in our format.
        responses.setdefault("414", {"description": URI_TOO_LONG})
        return operation


def _with_scope_line(description: str, scope: str) -> str:
    if scope == NO_AUTH:
        line = "Scope: none (public, no API key needed)."
    elif scope == ANY_SCOPE:
        line = "Scope: any API key."
    else:
        line = f"Scope: an API key with the `{scope}` scope."
    return f"{description}\n\n{line}" if description else line


_PATH_PARAM = re.compile(r"{(\w+)}")


# Paths of the provider's side of a resource the agent's side made (`/provider/agreements/...`).
_PROVIDER_SIDE = "/provider/"


def add_links(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: OpenAPI links from what a POST creates to its uses.

    A POST whose reply is an object with an `id` (a collection, an offer, a job...) links to each
    operation on a path that takes that id as its one new path parameter, matched by name
    (`Collection` -> `{collection_id}`, `IngestionJob` -> `{job_id}`); the path's other
    parameters come from the POST's own path. Clients and stateful fuzzers follow these links.
    """
    schemas = result.get("components", {}).get("schemas", {})
    paths = result.get("paths", {})
    for source_path, operations in paths.items():
        post = operations.get("post")
        if post is None:
            continue
        source_params = set(_PATH_PARAM.findall(source_path))
        for status, response in post.get("responses", {}).items():
            ref = response.get("content", {}).get("application/json", {}).get("schema", {})
            name = ref.get("$ref", "").rpartition("/")[2]
            if not status.startswith("2") or "id" not in schemas.get(name, {}).get(
                "properties", {}
            ):
                continue
            links = _links_to_uses(_snake(name), source_path, source_params, paths)
            if links:
                response["links"] = links
    return result


def _links_to_uses(
    resource: str, source_path: str, source_params: set[str], paths: dict[str, Any]
) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for target_path, operations in paths.items():
        if _PROVIDER_SIDE in target_path and _PROVIDER_SIDE not in source_path:
            continue  # the provider's side of what an agent made (its notice) is not the agent's
        new = [p for p in _PATH_PARAM.findall(target_path) if p not in source_params]
        if len(new) != 1 or not _names(resource, new[0]):
            continue
        parameters = {new[0]: "$response.body#/id"}
        for kept in _PATH_PARAM.findall(target_path):
            if kept != new[0]:
                parameters[kept] = f"$request.path.{kept}"
        for method, operation in operations.items():
            if method in {"get", "patch", "put", "post", "delete"} and "operationId" in operation:
                op_id = operation["operationId"]
                links[_camel(op_id)] = {"operationId": op_id, "parameters": parameters}
    return links


def _names(resource: str, parameter: str) -> bool:
    """Whether a path parameter (`job_id`) names the resource (`ingestion_job`)."""
    stem = parameter.removesuffix("_id")
    return parameter.endswith("_id") and (
        resource == stem or resource.endswith(f"_{stem}") or resource.startswith(f"{stem}_")
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _camel(operation_id: str) -> str:
    return "".join(part.capitalize() for part in operation_id.split("_"))
