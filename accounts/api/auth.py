"""The acting principal of a REST request: who acts, and for which organization.

What they may do is decided by `accounts.services` (`require_scope`, `acting_organization`),
the same checks the OpenAI-compatible API, MCP and the services make.
"""

from rest_framework import exceptions, permissions

from accounts import services as accounts
from core.api.scopes import ANY_SCOPE, NO_AUTH, required_scope_for


class HasRequiredScope(permissions.BasePermission):
    """Refuse an API key that lacks the scope the view documents (403 insufficient_scope)."""

    def has_permission(self, request, view):
        scope = required_scope_for(view, request.method)
        if scope not in (None, ANY_SCOPE, NO_AUTH) and isinstance(
            request.auth, accounts.AuthenticatedKey
        ):
            accounts.require_scope(accounts.actor_for_key(request.auth), scope)
        return True


def actor_from_request(request) -> accounts.Actor:
    """Return who is acting: the API key (with its organization), or the signed-in user."""
    if isinstance(request.auth, accounts.AuthenticatedKey):
        return accounts.actor_for_key(request.auth)
    if request.user and request.user.is_authenticated:
        return accounts.actor_for_user(user_id=request.user.pk)
    raise exceptions.NotAuthenticated()


def requested_organization_id(request) -> str | None:
    """Return the organization a signed-in user names (`X-Organization` or `?organization=`)."""
    return request.headers.get("X-Organization") or request.query_params.get("organization")


def acting_organization(request, *, role: str, scope: str) -> accounts.OrganizationInfo:
    """Return the organization the request acts for, which must have `role` (see
    `accounts.services.acting_organization`)."""
    return accounts.acting_organization(
        actor=actor_from_request(request),
        role=role,
        scope=scope,
        organization_id=requested_organization_id(request),
    )
