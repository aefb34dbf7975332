"""What a member's form action answers: the page its result leads to, a 404 for an
organization the member may not see, or the refusal's message on the page it came from."""

from django.contrib import messages
from django.shortcuts import redirect, render

from core.errors import DomainError, NotFound


def act(request, call, then, *, back: str):
    """Return `then(call())`; NotFound answers the 404 page, any other refusal (a DomainError)
    goes to the URL `back` with its message."""
    try:
        result = call()
    except NotFound:
        return render(request, "portal/not_found.html", status=404)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    return then(result)
