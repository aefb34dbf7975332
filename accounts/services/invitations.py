"""Invitations: members join an organization only by accepting an emailed link.

Inviting an address answers the same whether or not it has an account, so the endpoint is no
oracle for which emails are registered. The token lives only in the email; the table keeps its
SHA-256 hash.
"""

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import errors
from accounts.models import Invitation, Membership, Organization, User
from accounts.services.access import (
    Actor,
    OrganizationInfo,
    load_organization,
    organization_info,
)
from accounts.services.organizations import (
    _clean_member_role,
    _require_manager,
    check_password_for,
)
from accounts.services.rate_limits import check_sign_up_allowed, hit_rate_limit

logger = logging.getLogger(__name__)

PENDING, ACCEPTED, REVOKED, EXPIRED = "pending", "accepted", "revoked", "expired"


@dataclass(frozen=True)
class InvitationInfo:
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: str
    status: str
    invited_by_email: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class InvitationPreview:
    """What the holder of an invitation link sees before accepting it."""

    organization_name: str
    email: str
    role: str
    status: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _status(invitation: Invitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return ACCEPTED
    if invitation.revoked_at is not None:
        return REVOKED
    if invitation.expires_at <= now:
        return EXPIRED
    return PENDING


def _info(invitation: Invitation) -> InvitationInfo:
    inviter = invitation.invited_by
    return InvitationInfo(
        id=invitation.id,
        organization_id=invitation.organization_id,
        email=invitation.email,
        role=invitation.role,
        status=_status(invitation, timezone.now()),
        invited_by_email=inviter.email if inviter is not None else None,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
    )


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise errors.ValidationFailed(
            "Enter a valid email address.", details={"email": ["Enter a valid email address."]}
        ) from exc
    return email


def _accept_link(token: str, base_url: str) -> str:
    base = (settings.PORTAL_BASE_URL or base_url).rstrip("/")
    return base + reverse("portal:invitation", kwargs={"token": token})


def _send_invitation_email(*, email: str, organization_name: str, role: str, link: str) -> None:
    """Send the link; a mail failure is logged, and inviting again sends a fresh link."""
    try:
        send_mail(
            subject=f"You are invited to join {organization_name} on Provenant",
            message=(
                f"You have been invited to join {organization_name} on Provenant as {role}.\n\n"
                f"Accept the invitation here (the link works once and expires in "
                f"{settings.INVITATION_TTL_S // 86400 or 1} day(s)):\n{link}\n\n"
                "If you did not expect this, ignore this email: nothing happens unless you "
                "accept.\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    except Exception:  # the invitation stands; the admin sees it pending and can resend
        logger.exception("Could not send the invitation email for an invitation to join %s", role)


def invite_member(
    *, actor: Actor, organization_id: uuid.UUID | str, email: str, role: str, base_url: str
) -> InvitationInfo:
    """Invite an address to join with a role and email it a link; replace an open invitation.

    `base_url` is the site's address as the request saw it (PORTAL_BASE_URL wins when set).
    """
    email = _clean_email(email)
    role = _clean_member_role(role)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        org = load_organization(actor, organization_id)
        my_role = _require_manager(actor, org.id)
        if role == Membership.Role.OWNER and my_role != Membership.Role.OWNER:
            raise errors.PermissionDenied(
                "Only an owner can invite another owner.", code="not_an_owner"
            )
        if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
            raise errors.Conflict("This person is already a member.", code="already_a_member")
        decision = hit_rate_limit(
            bucket=f"invite:org:{org.id}",
            limit=settings.INVITATION_RATE_LIMIT_PER_HOUR,
            window_s=3600,
        )
        if not decision.allowed:
            raise errors.RateLimited(
                "Too many invitations from this organization. Try again later.",
                retry_after_s=decision.retry_after_s,
            )
        now = timezone.now()
        Invitation.objects.filter(
            organization=org, email=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organization=org,
                    email=email,
                    role=role,
                    token_hash=_hash(token),
                    invited_by_id=actor.user_id,
                    expires_at=now + timedelta(seconds=settings.INVITATION_TTL_S),
                )
        except IntegrityError as exc:  # a concurrent invitation to the same address won
            raise errors.Conflict(
                "Another invitation to this address was sent a moment ago.",
                code="invitation_pending",
            ) from exc
        link = _accept_link(token, base_url)
        name = org.name
        transaction.on_commit(
            lambda: _send_invitation_email(
                email=email, organization_name=name, role=role, link=link
            )
        )
    return _info(invitation)


def list_invitations(*, actor: Actor, organization_id: uuid.UUID | str) -> list[InvitationInfo]:
    """Return the organization's invitations, newest first (owners and admins)."""
    org = load_organization(actor, organization_id)
    _require_manager(actor, org.id)
    return [
        _info(invitation)
        for invitation in Invitation.objects.filter(organization=org).select_related("invited_by")
    ]


def revoke_invitation(
    *, actor: Actor, organization_id: uuid.UUID | str, invitation_id: uuid.UUID | str
) -> InvitationInfo:
    """Revoke an invitation so its link no longer works; an answered one stays as it is."""
    with transaction.atomic():
        org = load_organization(actor, organization_id)
        _require_manager(actor, org.id)
        try:
            invitation = (
                Invitation.objects.select_for_update(of=("self",))
                .select_related("invited_by")
                .get(organization=org, id=invitation_id)
            )
        except (Invitation.DoesNotExist, DjangoValidationError, ValueError) as exc:
            raise errors.NotFound("Invitation not found.") from exc
        if invitation.accepted_at is not None:
            raise errors.Conflict(
                "This invitation was already accepted; remove the member instead.",
                code="invitation_accepted",
            )
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
    return _info(invitation)


def _open_invitation(token: str, *, lock: bool) -> Invitation:
    """Return the pending invitation behind a token; 404 for unknown, used or dead links."""
    rows = Invitation.objects.select_related("organization")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(token_hash=_hash(token or "")).first()
    if invitation is None:
        raise errors.NotFound("This invitation link is not valid.", code="invitation_not_found")
    status = _status(invitation, timezone.now())
    if status != PENDING:
        raise errors.Conflict(f"This invitation is {status}.", code=f"invitation_{status}")
    return invitation


def preview_invitation(*, token: str) -> InvitationPreview:
    """Return what an invitation link offers, for its holder."""
    invitation = _open_invitation(token, lock=False)
    return InvitationPreview(
        organization_name=invitation.organization.name,
        email=invitation.email,
        role=invitation.role,
        status=PENDING,
        expires_at=invitation.expires_at,
    )


def _join(invitation: Invitation, user: User) -> OrganizationInfo:
    org: Organization = invitation.organization
    try:
        with transaction.atomic():
            Membership.objects.create(organization=org, user=user, role=invitation.role)
    except IntegrityError as exc:
        raise errors.Conflict("You are already a member.", code="already_a_member") from exc
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return organization_info(org, invitation.role)


def accept_invitation(*, user_id: int, token: str) -> OrganizationInfo:
    """Join the organization as the invitation says; only the invited address may accept."""
    with transaction.atomic():
        invitation = _open_invitation(token, lock=True)
        user = User.objects.get(pk=user_id)
        if user.email.lower() != invitation.email.lower():
            raise errors.PermissionDenied(
                f"This invitation is for {invitation.email}; sign in with that address.",
                code="invitation_for_another_email",
            )
        return _join(invitation, user)


def sign_up_invited(
    *, token: str, password: str, client_address: str
) -> tuple[User, OrganizationInfo]:
    """Create the invited address's account and join; the link proves the address is theirs."""
    check_sign_up_allowed(client_address=client_address)
    with transaction.atomic():
        invitation = _open_invitation(token, lock=True)
        check_password_for(invitation.email, password)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise errors.Conflict(
                "An account with this email already exists; log in to accept.",
                code="email_taken",
            )
        user = User.objects.create_user(email=invitation.email, password=password)
        return user, _join(invitation, user)
