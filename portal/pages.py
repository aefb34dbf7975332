"""What every organization page shares: the signed-in member's actor, the organization in the
URL (404 if it is not theirs), the role the page needs, and domain errors shown as pages or
next to the form fields they name."""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts import services as accounts
from core.errors import DomainError, NotFound, PermissionDenied
from portal.navigation import current_organization


def actor_of(request) -> accounts.Actor:
    return accounts.actor_for_user(user_id=request.user.pk)


def not_found(request):
    return render(request, "portal/not_found.html", status=404)


def organization_page(role: str | None = None) -> Callable:
    """Decorate a view `view(request, org, **kwargs)` of `/orgs/<organization_id>/...`.

    The member must belong to the organization (else 404) and it must have `role` (else a
    403 page that says so). A NotFound raised by the view (another tenant's id) is the 404 page.
    """

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, organization_id, **kwargs):
            try:
                org = current_organization(request, organization_id)
                if role is not None and role not in org.roles:
                    raise PermissionDenied(
                        f"These pages are for organizations with the {role} role; "
                        f"{org.name} is {', '.join(org.roles) or 'without a role'}.",
                        code="wrong_role",
                    )
                return view(request, org, **kwargs)
            except NotFound:
                return not_found(request)
            except PermissionDenied as exc:
                return render(
                    request, "portal/forbidden.html", {"message": exc.message}, status=403
                )

        return wrapper

    return decorator


def same_organization(org: accounts.OrganizationInfo, owner_id) -> None:
    """Refuse (404) an object of another organization the member also belongs to."""
    if str(owner_id) != str(org.id):
        raise NotFound("Not found.")


def show_error(form: forms.Form, exc: DomainError, *, fields: dict[str, str] | None = None) -> int:
    """Put a refusal next to the fields it names (`fields` maps a service's field names to the
    form's), or above the form; return the HTTP status the page answers with."""
    placed = False
    for name, problems in (exc.details or {}).items():
        field = (fields or {}).get(name, name)
        if field in form.fields:
            for problem in problems if isinstance(problems, list | tuple) else [problems]:
                form.add_error(field, str(problem))
            placed = True
    if not placed:
        form.add_error(None, exc.message)
    return exc.status if 400 <= exc.status < 500 else 400
