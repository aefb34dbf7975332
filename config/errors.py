"""One error format for every API error: `{"code", "message", "details"}`."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from marketplace.errors import DomainError, RateLimited

logger = logging.getLogger("provenant.api")

API_PREFIXES = ("/api/", "/v1/")


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"code": code, "message": message, "details": details or {}}


def _first_code(codes) -> str | None:
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


def api_exception_handler(exc, context):
    """Map domain errors, DRF errors and unexpected failures to the one error format."""
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
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


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def json_not_found(request, exception=None, **kwargs):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def handler404(request, exception=None):
    if _is_api(request):
        return json_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side. It has been logged."),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
