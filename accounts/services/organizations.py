"""Sign-up, organizations and their members, always scoped to the acting principal."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts import errors
from accounts.models import Membership, Organization, User
from accounts.services.access import (
    ADMIN,
    ADVERTISER,
    AGENT,
    PROVIDER,
    ROLES,
    Actor,
    OrganizationInfo,
    load_organization,
    membership_role,
    organization_info,
    require_scope,
)
from accounts.services.rate_limits import check_sign_up_allowed
from core.fields import max_length

P = ParamSpec("P")
T = TypeVar("T")

MEMBER_ROLES = tuple(Membership.Role.values)
MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


@dataclass(frozen=True)
class MemberInfo:
    id: uuid.UUID
    user_id: int
    email: str
    role: str
    created_at: datetime


def _member_info(membership: Membership) -> MemberInfo:
    return MemberInfo(
        id=membership.id,
        user_id=membership.user_id,
        email=membership.user.email,
        role=membership.role,
        created_at=membership.created_at,
    )


def _clean_roles(requested: Iterable[str] | None) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(requested or ()))
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise errors.ValidationFailed(
            f"Unknown organization role: {', '.join(map(str, unknown))}.",
            details={"roles": [f"Choose from {', '.join(ROLES)}."]},
        )
    if not roles:
        raise errors.ValidationFailed(
            "An organization needs at least one role.",
            details={"roles": [f"Choose one or more of {', '.join(ROLES)}."]},
        )
    return roles


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    limit = max_length(Organization, "name")
    if not name:
        raise errors.ValidationFailed(
            "Organization name is required.", details={"name": ["This field is required."]}
        )
    if len(name) > limit:
        raise errors.ValidationFailed(
            f"Organization name is longer than {limit} characters.",
            details={"name": [f"At most {limit} characters."]},
        )
    return name


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{uuid.uuid4().hex[:6]}"
    return slug


def _new_organization(*, name: str, roles: tuple[str, ...]) -> Organization:
    return Organization.objects.create(
        name=name,
        slug=_unique_slug(name),
        is_provider=PROVIDER in roles,
        is_agent=AGENT in roles,
        is_advertiser=ADVERTISER in roles,
    )


def check_password_for(email: str, password: str) -> None:
    """Raise ValidationFailed if the password is too weak for an account with this email."""
    try:
        password_validation.validate_password(password, user=User(email=email))
    except DjangoValidationError as exc:
        raise errors.ValidationFailed(
            " ".join(exc.messages), details={"password": list(exc.messages)}
        ) from exc


def _checked(
    problems: list[errors.ValidationFailed],
    check: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | None:
    """Run one check; keep its refusal in `problems` instead of stopping at it."""
    try:
        return check(*args, **kwargs)
    except errors.ValidationFailed as exc:
        problems.append(exc)
        return None


def _email_taken_field() -> errors.ValidationFailed:
    message = "An account with this email already exists."
    return errors.ValidationFailed(message, details={"email": [message]})


def _all_of(problems: list[errors.ValidationFailed]) -> errors.ValidationFailed:
    """One refusal listing every problem, field by field."""
    details: dict[str, list[str]] = {}
    for problem in problems:
        for field_name, messages in (problem.details or {}).items():
            details.setdefault(field_name, []).extend(messages)
    return errors.ValidationFailed(" ".join(p.message for p in problems), details=details)


def check_sign_up(
    *, email: str, password: str, organization_name: str, roles: Iterable[str] | None
) -> tuple[str, str, tuple[str, ...]]:
    """Check everything a sign-up gives and return (email, organization name, roles) cleaned;
    otherwise raise one ValidationFailed that lists every problem field by field, so a person
    signing up sees all that is wrong at once (an email already taken among them)."""
    email = (email or "").strip().lower()
    problems: list[errors.ValidationFailed] = []
    try:
        validate_email(email)
    except DjangoValidationError:
        problems.append(
            errors.ValidationFailed(
                "Enter a valid email address.", details={"email": ["Enter a valid email address."]}
            )
        )
    name = _checked(problems, _clean_name, organization_name)
    org_roles = _checked(problems, _clean_roles, roles)
    _checked(problems, check_password_for, email, password)
    if problems:
        if email and User.objects.filter(email__iexact=email).exists():
            problems.append(_email_taken_field())
        raise _all_of(problems)
    assert name is not None and org_roles is not None  # no problems: both were returned
    return email, name, org_roles


def sign_up(
    *,
    email: str,
    password: str,
    organization_name: str,
    roles: Iterable[str] | None,
    client_address: str,
) -> tuple[User, OrganizationInfo]:
    """Create a user, their organization and their owner membership, all or nothing.

    Attempts are counted per client address first, so sign-up cannot be scripted at scale.
    """
    check_sign_up_allowed(client_address=client_address)
    email, name, org_roles = check_sign_up(
        email=email, password=password, organization_name=organization_name, roles=roles
    )
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise errors.Conflict(
                    "An account with this email already exists.", code="email_taken"
                )
            user = User.objects.create_user(email=email, password=password)
            org = _new_organization(name=name, roles=org_roles)
            Membership.objects.create(organization=org, user=user, role=Membership.Role.OWNER)
    except IntegrityError as exc:
        raise errors.Conflict(
            "An account with this email already exists.", code="email_taken"
        ) from exc
    return user, organization_info(org, Membership.Role.OWNER)


def create_organization(
    *, user_id: int, name: str, roles: Iterable[str] | None
) -> OrganizationInfo:
    """Create an organization owned by the user."""
    name = _clean_name(name)
    org_roles = _clean_roles(roles)
    with transaction.atomic():
        org = _new_organization(name=name, roles=org_roles)
        Membership.objects.create(organization=org, user_id=user_id, role=Membership.Role.OWNER)
    return organization_info(org, Membership.Role.OWNER)


def _require_manager(actor: Actor, organization_id: uuid.UUID) -> str | None:
    """Check the actor may manage members and keys; return the user's membership role."""
    if actor.api_key_id is not None:
        require_scope(actor, ADMIN)
        return None
    role = membership_role(actor, organization_id)
    if role not in MANAGER_ROLES:
        raise errors.PermissionDenied(
            "Only the organization's owners and admins can do this.", code="not_an_admin"
        )
    return role


def require_organization_manager(*, actor: Actor, organization_id: uuid.UUID | str) -> Organization:
    """Return the organization if the actor may manage it (404 if not visible, 403 if not admin)."""
    org = load_organization(actor, organization_id)
    _require_manager(actor, org.id)
    return org


def list_members(*, actor: Actor, organization_id: uuid.UUID | str) -> list[MemberInfo]:
    """Return the members (with their emails): any member sees them, a key needs `admin`."""
    org = load_organization(actor, organization_id)
    if actor.api_key_id is not None:
        _require_manager(actor, org.id)
    memberships = Membership.objects.filter(organization=org).select_related("user")
    return [_member_info(m) for m in memberships]


def _clean_member_role(role: str) -> str:
    if role not in MEMBER_ROLES:
        raise errors.ValidationFailed(
            f"Unknown member role {role!r}.",
            details={"role": [f"Choose from {', '.join(MEMBER_ROLES)}."]},
        )
    return role


def _load_membership(org: Organization, membership_id: uuid.UUID | str) -> Membership:
    try:
        return (
            Membership.objects.select_for_update()
            .select_related("user")
            .get(organization=org, id=membership_id)
        )
    except (Membership.DoesNotExist, DjangoValidationError, ValueError) as exc:
        raise errors.NotFound("Member not found.") from exc


def _ensure_another_owner(org: Organization, membership: Membership) -> None:
    if membership.role != Membership.Role.OWNER:
        return
    owners = Membership.objects.select_for_update().filter(
        organization=org, role=Membership.Role.OWNER
    )
    if len(owners) <= 1:
        raise errors.Conflict(
            "An organization keeps at least one owner; make another member an owner first.",
            code="last_owner",
        )


def change_member_role(
    *, actor: Actor, organization_id: uuid.UUID | str, membership_id: uuid.UUID | str, role: str
) -> MemberInfo:
    """Change a member's role; only owners grant or take away ownership."""
    role = _clean_member_role(role)
    with transaction.atomic():
        org = load_organization(actor, organization_id)
        my_role = _require_manager(actor, org.id)
        membership = _load_membership(org, membership_id)
        touches_owner = Membership.Role.OWNER in (role, membership.role)
        if touches_owner and my_role != Membership.Role.OWNER:
            raise errors.PermissionDenied(
                "Only an owner can change ownership.", code="not_an_owner"
            )
        if role != Membership.Role.OWNER:
            _ensure_another_owner(org, membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return _member_info(membership)


def remove_member(
    *, actor: Actor, organization_id: uuid.UUID | str, membership_id: uuid.UUID | str
) -> None:
    """Remove a member, or leave when it is the actor's own membership; the last owner stays."""
    with transaction.atomic():
        org = load_organization(actor, organization_id)
        membership = _load_membership(org, membership_id)
        if actor.user_id is None or membership.user_id != actor.user_id:
            my_role = _require_manager(actor, org.id)
            if membership.role == Membership.Role.OWNER and my_role != Membership.Role.OWNER:
                raise errors.PermissionDenied(
                    "Only an owner can remove an owner.", code="not_an_owner"
                )
        _ensure_another_owner(org, membership)
        membership.delete()


def leave_organization(*, actor: Actor, organization_id: uuid.UUID | str) -> None:
    """End the signed-in user's own membership; the last owner must hand over first."""
    if actor.user_id is None:
        raise errors.PermissionDenied(
            "Only a signed-in user can leave an organization.", code="user_required"
        )
    with transaction.atomic():
        org = load_organization(actor, organization_id)
        try:
            membership = Membership.objects.select_for_update().get(
                organization=org, user_id=actor.user_id
            )
        except Membership.DoesNotExist as exc:  # removed a moment ago
            raise errors.NotFound("Organization not found.") from exc
        _ensure_another_owner(org, membership)
        membership.delete()


# -- lookups for other apps ----------------------------------------------------------------


def organization_slugs(*, organization_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return {organization id: slug} for the given organizations."""
    return dict(Organization.objects.filter(id__in=organization_ids).values_list("id", "slug"))


def organization_id_for_slug(*, slug: str) -> uuid.UUID | None:
    return Organization.objects.filter(slug=slug).values_list("id", flat=True).first()


def organization_names(*, organization_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return {organization id: name} for the organizations that exist."""
    return dict(
        Organization.objects.filter(id__in=list(organization_ids)).values_list("id", "name")
    )
