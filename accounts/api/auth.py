"""The acting principal of a REST request: who acts, with which scope, for which organization."""

from rest_framework import exceptions, permissions

from accounts import services as accounts
from core.api.scopes import ANY_SCOPE, NO_AUTH, required_scope_for


class HasRequiredScope(permissions.BasePermission):
    """Refuse an API key that lacks the scope the view documents (403 insufficient_scope)."""

    def has_permission(self, request, view):
        scope = required_scope_for(view, request.method)
        if scope not in (None, ANY_SCOPE, NO_AUTH):
            require_scope(request, scope)
        return True


def actor_from_request(request) -> accounts.Actor:
    """Return who is acting: the API key's organization, or the signed-in user."""
    key = request.auth
    if isinstance(key, accounts.AuthenticatedKey):
        return accounts.actor_for_api_key(
            api_key_id=key.id, organization_id=key.organization_id, scopes=key.scopes
        )
    if request.user and request.user.is_authenticated:
        return accounts.actor_for_user(user_id=request.user.pk)
    raise exceptions.NotAuthenticated()


def may_use_scope(request, scope: str) -> bool:
    """Return whether the request may do what `scope` allows (signed-in users: the services
    decide)."""
    key = request.auth
    return not isinstance(key, accounts.AuthenticatedKey) or scope in key.scopes


def require_scope(request, scope: str) -> None:
    """Refuse an API key that lacks `scope`; signed-in users are checked by the services."""
    key = request.auth
    if isinstance(key, accounts.AuthenticatedKey) and scope not in key.scopes:
        raise exceptions.PermissionDenied(
            f"This API key lacks the '{scope}' scope.", code="insufficient_scope"
        )


def acting_organization(request, *, role: str, scope: str) -> accounts.OrganizationInfo:
    """Return the organization the request acts for, which must have `role`.

    An API key acts for its own organization. A signed-in user names one with the
    `X-Organization` header or `organization` query parameter, unless they belong to only one.
    """
    require_scope(request, scope)
    if isinstance(request.auth, accounts.AuthenticatedKey):
        organization = request.auth.organization  # loaded with the key, a moment ago
    else:
        actor = actor_from_request(request)
        organization_id = request.headers.get("X-Organization") or request.query_params.get(
            "organization"
        )
        if not organization_id:
            mine = accounts.list_organizations(actor=actor)
            if len(mine) != 1:
                raise exceptions.ValidationError(
                    {"organization": ["Name the organization you act for (X-Organization)."]},
                    code="organization_required",
                )
            organization_id = mine[0].id
        organization = accounts.get_organization(actor=actor, organization_id=organization_id)
    if role not in organization.roles:
        raise exceptions.PermissionDenied(
            f"This needs an organization with the {role} role.", code="wrong_role"
        )
    return organization
