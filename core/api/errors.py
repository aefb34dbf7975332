"""One error format for every API error: `{"code", "message", "details"}`."""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError, RateLimited

logger = logging.getLogger("provenant.api")

API_PREFIXES = ("/api/", "/v1/")
TOO_LARGE_MESSAGE = "The request body is too large."
# The code an error response gets when something other than our handler made it.
CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def _first_code(codes: object) -> str | None:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list | tuple):
        for item in codes:
            found = _first_code(item)
            if found:
                return found
    if isinstance(codes, dict):
        for item in codes.values():
            found = _first_code(item)
            if found:
                return found
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Map domain errors, DRF errors and unexpected failures to the one error format."""
    if isinstance(exc, DomainError):
        reply = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        if isinstance(exc, RateLimited):
            reply["Retry-After"] = str(exc.retry_after_s)
        return reply
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", TOO_LARGE_MESSAGE), status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many fields: the client's fault
        return Response(error_body("bad_request", str(exc) or "Bad request."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    # DRF answers only its own APIException (Http404 and PermissionDenied are made one above).
    if response is None or not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            error_body("server_error", "Something went wrong on our side. It has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        code = "unknown_field" if _first_code(exc.get_codes()) == "unknown_field" else "invalid"
        message = "Unknown fields in the request." if code == "unknown_field" else "Invalid input."
        response.data = error_body(code, message, detail)
    else:
        code = _first_code(exc.get_codes()) or exc.default_code
        response.data = error_body(code, str(exc.detail))
    return response


def _is_api(request: HttpRequest) -> bool:
    return is_api_path(request.path)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


@csrf_exempt  # any method on an unknown API path is a 404, never a CSRF page
def json_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def _json_error(status: int, message: str) -> JsonResponse:
    code = CODES_BY_STATUS.get(status, "server_error" if status >= 500 else "error")
    return JsonResponse(error_body(code, message), status=status)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _json_error(413, TOO_LARGE_MESSAGE)
        return _json_error(400, "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_error(403, "You do not have permission to perform this action.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Refuse a request that failed Django's CSRF check: JSON under the API, the page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("csrf_failed", f"CSRF check failed: {reason}"), status=403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)


class APIErrorMiddleware:
    """Keep every error under /api/ and /v1/ in the one JSON error format.

    Our handlers cover what Django and DRF raise; this is the backstop for any error response
    made elsewhere (a middleware, a third-party view) that is not JSON.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and _is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            error = _json_error(response.status_code, _message_for(response.status_code))
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    error[header] = response[header]
            return error
        return response


def _message_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "Error."


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side. It has been logged."),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
