"""The click URL of a sponsored item: `/c/<token>` counts the click once and redirects to the
unit's URL as it was served. A bad or expired link gets a plain page (400, 410) and counts
nothing; where the redirect goes never comes from the request."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ads import errors, services


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.record_click(token=token)
    except errors.ClickExpired:
        return _plain(410, "This sponsored link has expired.")
    except errors.InvalidClick:
        return _plain(400, "This sponsored link is not valid.")
    response = HttpResponseRedirect(found.url)
    response["Referrer-Policy"] = "no-referrer"  # the token stays here
    return response
