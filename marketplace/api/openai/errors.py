"""OpenAI-style errors beside the one error format, for the /v1 views."""

import json
import logging
from collections.abc import Iterator

from rest_framework.views import APIView

from core.api.errors import api_exception_handler

logger = logging.getLogger("provenant.api")

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


def _data(body: dict) -> bytes:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()


def _stream_error(body: dict, status: int) -> bytes:
    return _data({**body, "error": openai_error(status, body)})


class OpenAIView(APIView):
    def get_exception_handler(self):
        return openai_exception_handler


# -- input ------------------------------------------------------------------------------------
