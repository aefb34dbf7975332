"""Who acts, which organizations they see, and what they may do there.

The one scope and role check: the REST API, the OpenAI-compatible API, MCP and every service
that acts for someone ask these functions, so each refuses alike (403 `insufficient_scope`,
403 `wrong_role`).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet

from accounts import errors
from accounts.models import Membership, Organization, User

# What an organization is; it may be several at once.
PROVIDER, AGENT, ADVERTISER = "provider", "agent", "advertiser"
ROLES = {
    PROVIDER: "data provider: licenses its content",
    AGENT: "agent operator: its agents ask questions",
    ADVERTISER: "advertiser: sponsors content in answers",
}

# What an API key may do.
QUERY, CATALOG, LICENSING, ADS, BILLING, ADMIN = (
    "query",
    "catalog",
    "licensing",
    "ads",
    "billing",
    "admin",
)
SCOPES = {
    QUERY: "ask questions and search licensed content (agents)",
    CATALOG: "manage collections and documents (providers)",
    LICENSING: "manage license offers and agreements",
    ADS: "manage campaigns and ad units (advertisers)",
    BILLING: "see balances, invoices and payouts",
    ADMIN: "manage the organization, its members and API keys",
}
# The scopes a key may hold besides `admin`, given its organization's roles.
SCOPES_BY_ROLE = {
    AGENT: (QUERY, LICENSING, BILLING),
    PROVIDER: (CATALOG, LICENSING, BILLING),
    ADVERTISER: (ADS, BILLING),
}


@dataclass(frozen=True)
class OrganizationInfo:
    id: uuid.UUID
    name: str
    slug: str
    roles: tuple[str, ...]
    created_at: datetime
    my_role: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or an organization's API key with its scopes."""

    user_id: int | None = None
    api_key_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    scopes: frozenset[str] = frozenset()
    # A key's organization as loaded with the key, so acting for it costs no query.
    organization: OrganizationInfo | None = None


def actor_for_user(*, user_id: int) -> Actor:
    return Actor(user_id=user_id)


def actor_for_api_key(
    *,
    api_key_id: uuid.UUID,
    organization_id: uuid.UUID,
    scopes: Iterable[str],
    organization: OrganizationInfo | None = None,
) -> Actor:
    return Actor(
        api_key_id=api_key_id,
        organization_id=organization_id,
        scopes=frozenset(scopes),
        organization=organization,
    )


def roles_of(org: Organization) -> tuple[str, ...]:
    flags = {PROVIDER: org.is_provider, AGENT: org.is_agent, ADVERTISER: org.is_advertiser}
    return tuple(role for role in ROLES if flags[role])


def organization_info(org: Organization, my_role: str | None = None) -> OrganizationInfo:
    return OrganizationInfo(
        id=org.id,
        name=org.name,
        slug=org.slug,
        roles=roles_of(org),
        created_at=org.created_at,
        my_role=my_role,
    )


# -- what the actor sees -------------------------------------------------------------------


def visible_organizations(actor: Actor) -> QuerySet[Organization]:
    if actor.api_key_id is not None:
        if actor.organization_id is None:
            return Organization.objects.none()
        return Organization.objects.filter(id=actor.organization_id)
    if actor.user_id is not None:
        return Organization.objects.filter(memberships__user_id=actor.user_id)
    return Organization.objects.none()


def load_organization(actor: Actor, organization_id: uuid.UUID | str | None) -> Organization:
    """Return the organization if the actor belongs to it; 404 otherwise, so ids don't leak."""
    if organization_id is None:
        raise errors.NotFound("Organization not found.")
    try:
        return visible_organizations(actor).get(id=organization_id)
    except (Organization.DoesNotExist, DjangoValidationError, ValueError) as exc:
        raise errors.NotFound("Organization not found.") from exc


def membership_role(actor: Actor, organization_id: uuid.UUID | str) -> str | None:
    """Return the signed-in user's membership role in the organization (None for keys)."""
    if actor.user_id is None:
        return None
    role: str | None = (
        Membership.objects.filter(organization_id=organization_id, user_id=actor.user_id)
        .values_list("role", flat=True)
        .first()
    )
    return role


def acting_organization_ids(*, actor: Actor) -> list[uuid.UUID]:
    """Return the ids of the organizations the actor acts for: its API key's, or its user's."""
    if actor.api_key_id is not None:
        return [] if actor.organization_id is None else [actor.organization_id]
    if actor.user_id is not None:
        return list(
            Membership.objects.filter(user_id=actor.user_id).values_list(
                "organization_id", flat=True
            )
        )
    return []


def list_organizations(*, actor: Actor) -> list[OrganizationInfo]:
    """Return the organizations the actor belongs to."""
    orgs = list(visible_organizations(actor).order_by("name", "id"))
    if actor.user_id is None:
        return [organization_info(org) for org in orgs]
    roles = dict(
        Membership.objects.filter(user_id=actor.user_id).values_list("organization_id", "role")
    )
    return [organization_info(org, roles.get(org.id)) for org in orgs]


def organization_roles(
    *, organization_ids: Iterable[uuid.UUID | str]
) -> dict[uuid.UUID, tuple[str, ...]]:
    """Return {organization id: its roles} for the organizations that exist (bad ids ignored)."""
    valid = []
    for value in organization_ids:
        try:
            valid.append(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    return {org.id: roles_of(org) for org in Organization.objects.filter(id__in=valid)}


def require_operator(*, user_id: int | None) -> None:
    """Refuse anyone but an active staff user (the platform's operators; 403 not_an_operator)."""
    operators = User.objects.filter(is_active=True, is_staff=True)
    if user_id is None or not operators.filter(id=user_id).exists():
        raise errors.PermissionDenied(
            "Only the platform's operators can do this.", code="not_an_operator"
        )


def get_organization(*, actor: Actor, organization_id: uuid.UUID | str | None) -> OrganizationInfo:
    org = load_organization(actor, organization_id)
    return organization_info(org, membership_role(actor, org.id))


# -- what the actor may do -----------------------------------------------------------------


def has_scope(actor: Actor, *scopes: str) -> bool:
    """Say whether the actor may do what one of `scopes` allows.

    A signed-in user acts as a member: the use case checks their membership and role.
    """
    return actor.api_key_id is None or any(scope in actor.scopes for scope in scopes)


def require_scope(actor: Actor, *scopes: str) -> None:
    """Refuse an API key that holds none of `scopes` (403 insufficient_scope)."""
    if not has_scope(actor, *scopes):
        named = " or ".join(f"'{scope}'" for scope in scopes)
        raise errors.PermissionDenied(
            f"This API key lacks the {named} scope.", code="insufficient_scope"
        )


def _wrong_role(role: str) -> errors.PermissionDenied:
    return errors.PermissionDenied(
        f"This needs an organization with the {role} role.", code="wrong_role"
    )


def require_role(organization: OrganizationInfo, role: str) -> None:
    """Refuse an organization without `role` (403 wrong_role)."""
    if role not in organization.roles:
        raise _wrong_role(role)


def acting_organization(
    *,
    actor: Actor,
    role: str,
    scope: str | tuple[str, ...],
    organization_id: uuid.UUID | str | None = None,
) -> OrganizationInfo:
    """Return the organization the actor acts for, which must have `role`.

    The actor's key must hold `scope` (or one of a tuple of scopes) first. An API key acts for
    its own organization (naming another is 404). A signed-in user acts for the organization
    they name, or, naming none, for the one of theirs with `role`.
    """
    require_scope(actor, *((scope,) if isinstance(scope, str) else scope))
    if actor.api_key_id is not None:
        if organization_id is not None and str(organization_id) != str(actor.organization_id):
            raise errors.NotFound("Organization not found.")
        organization = actor.organization or get_organization(
            actor=actor, organization_id=actor.organization_id
        )
    elif organization_id is not None:
        organization = get_organization(actor=actor, organization_id=organization_id)
    else:
        mine = [org for org in list_organizations(actor=actor) if role in org.roles]
        if not mine:
            raise _wrong_role(role)
        if len(mine) > 1:
            raise errors.ValidationFailed(
                f"You belong to several {role} organizations; say which one you act for.",
                code="organization_required",
                details={"organization_id": ["Name the organization you act for."]},
            )
        organization = mine[0]
    require_role(organization, role)
    return organization
