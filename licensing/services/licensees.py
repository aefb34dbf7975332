"""A provider's licensees: which agents hold agreements on its offers, since when, and what
they spent under them (the provider's side of `agreements.list_agreements`)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.services import Actor
from licensing import errors
from licensing.models import LicenseAgreement, PaymentType
from licensing.services.acting import provider_id_for
from licensing.services.agreements import _effective_status
from licensing.services.cache import invalidate


@dataclass(frozen=True)
class LicenseeInfo:
    agreement_id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    offer_id: uuid.UUID
    offer_name: str
    offer_version: int
    payment_type: str
    status: str  # active, expired (its end has passed), cancelled, suspended
    origin: str  # accepted, auto_accept or single_fetch
    starts_at: datetime
    ends_at: datetime | None
    cancelled_at: datetime | None
    spend_cap_micros: int | None
    spent_micros: int
    currency: str
    notice_ends_at: datetime | None = None  # the provider gave notice: it ends then


def list_licensees(
    *, actor: Actor, organization_id: uuid.UUID | str | None = None, limit: int = 1000
) -> list[LicenseeInfo]:
    """Return the agreements agents hold on the acting provider's offers, newest first."""
    provider_id = provider_id_for(actor, organization_id)
    rows = list(
        LicenseAgreement.objects.filter(offer__provider_id=provider_id)
        .select_related("offer", "offer_version")
        .order_by("-starts_at", "id")[:limit]
    )
    names = accounts.organization_names(organization_ids={a.agent_id for a in rows})
    return [_licensee(a, names.get(a.agent_id, "")) for a in rows]


def _licensee(a: LicenseAgreement, agent_name: str) -> LicenseeInfo:
    return LicenseeInfo(
        agreement_id=a.id,
        agent_id=a.agent_id,
        agent_name=agent_name,
        offer_id=a.offer_id,
        offer_name=a.offer.name,
        offer_version=a.offer_version.version,
        payment_type=a.offer_version.payment_type,
        status=_effective_status(a),
        origin=a.origin,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        cancelled_at=a.cancelled_at,
        spend_cap_micros=a.spend_cap_micros,
        spent_micros=a.spent_micros,
        currency=a.offer_version.currency,
        notice_ends_at=a.notice_ends_at,
    )


def give_notice(
    *,
    actor: Actor,
    agreement_id: uuid.UUID | str,
    days: int,
    organization_id: uuid.UUID | str | None = None,
) -> LicenseeInfo:
    """End an agreement an agent holds on one of the acting provider's offers, with at least
    LICENSING_MIN_NOTICE_DAYS of notice: it entitles nothing from then. A subscription runs to
    the end of the last period that begins before then, and no period is charged past it. A
    purchase (a paid dataset licence) does not end by notice. An earlier notice stands."""
    provider_id = provider_id_for(actor, organization_id)
    least = settings.LICENSING_MIN_NOTICE_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not least <= days <= 3650:
        message = f"Give between {least} and 3,650 days of notice."
        raise errors.ValidationFailed(message, details={"days": [message]})
    now = timezone.now()
    try:
        agreement_id = uuid.UUID(str(agreement_id))
    except ValueError as exc:
        raise errors.NotFound("Agreement not found.") from exc
    with transaction.atomic():
        agreement = (
            LicenseAgreement.objects.select_for_update()
            .select_related("offer", "offer_version")
            .filter(offer__provider_id=provider_id, id=agreement_id)
            .first()
        )
        if agreement is None:
            raise errors.NotFound("Agreement not found.")
        if _effective_status(agreement) != LicenseAgreement.Status.ACTIVE:
            raise errors.Conflict("This agreement has ended already.", code="not_active")
        kind = agreement.offer_version.payment_type
        if kind == PaymentType.PURCHASE:
            raise errors.Conflict(
                "A purchase licence was paid once and does not end by notice.",
                code="purchase_not_ended",
            )
        ends = now + timedelta(days=days)
        if agreement.notice_ends_at is None or ends < agreement.notice_ends_at:
            agreement.notice_given_at = now
            agreement.notice_ends_at = ends
            fields = ["notice_given_at", "notice_ends_at"]
            if kind != PaymentType.SUBSCRIPTION:
                agreement.ends_at = min(agreement.ends_at or ends, ends)
                fields.append("ends_at")
            agreement.save(update_fields=fields)
            transaction.on_commit(invalidate)
    names = accounts.organization_names(organization_ids={agreement.agent_id})
    return _licensee(agreement, names.get(agreement.agent_id, ""))
