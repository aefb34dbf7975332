"""What billing reads and changes of agreements that are paid per period or once:
subscriptions are renewed period by period when paid, and lapse when a period goes unpaid."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from licensing.models import LicenseAgreement, PaymentType
from licensing.services.agreements import PERIOD_LENGTH
from licensing.services.cache import invalidate

RENEWAL_UNPAID = "renewal_unpaid"


@dataclass(frozen=True)
class BillableAgreement:
    """An active agreement charged per period (subscription) or once (purchase)."""

    id: uuid.UUID
    agent_id: uuid.UUID
    provider_id: uuid.UUID
    offer_id: uuid.UUID
    offer_name: str
    offer_version_id: int
    payment_type: str
    price_micros: int
    currency: str
    period_length: timedelta | None  # None for a purchase
    starts_at: datetime
    ends_at: datetime | None
    expires_at: datetime | None  # the offer version's own end, past which nothing renews


def _billable() -> QuerySet[LicenseAgreement]:
    return LicenseAgreement.objects.filter(
        status=LicenseAgreement.Status.ACTIVE,
        offer_version__payment_type__in=(PaymentType.SUBSCRIPTION, PaymentType.PURCHASE),
        offer_version__price_micros__gt=0,
    ).select_related("offer", "offer_version")


def _billable_agreement(a: LicenseAgreement) -> BillableAgreement:
    return BillableAgreement(
        id=a.id,
        agent_id=a.agent_id,
        provider_id=a.offer.provider_id,
        offer_id=a.offer_id,
        offer_name=a.offer.name,
        offer_version_id=a.offer_version_id,
        payment_type=a.offer_version.payment_type,
        price_micros=a.offer_version.price_micros,
        currency=a.offer_version.currency,
        period_length=PERIOD_LENGTH.get(a.offer_version.period)
        if a.offer_version.payment_type == PaymentType.SUBSCRIPTION
        else None,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        # Nothing renews past the offer version's end, nor past a provider's notice.
        expires_at=min(
            (t for t in (a.offer_version.expires_at, a.notice_ends_at) if t is not None),
            default=None,
        ),
    )


def billable_agreements() -> list[BillableAgreement]:
    """Return the active subscription and purchase agreements with a price, oldest first."""
    return [_billable_agreement(a) for a in _billable().order_by("created_at", "id")]


def billable_agreement(*, agreement_id: uuid.UUID) -> BillableAgreement | None:
    """Return the agreement if it is an active subscription or purchase with a price."""
    found = _billable().filter(id=agreement_id).first()
    return None if found is None else _billable_agreement(found)


def extend_agreement(*, agreement_id: uuid.UUID, ends_at: datetime) -> bool:
    """Move an active agreement's end later (a renewal paid, or a grace period); return
    whether it changed."""
    with transaction.atomic():
        changed = (
            LicenseAgreement.objects.filter(id=agreement_id, status=LicenseAgreement.Status.ACTIVE)
            .exclude(ends_at__gte=ends_at)
            .update(ends_at=ends_at)
        )
        if changed:
            invalidate()
    return bool(changed)


def lapse_agreement(*, agreement_id: uuid.UUID, reason: str) -> bool:
    """End an active agreement now for `reason` (say, a renewal left unpaid); it entitles
    nothing more, and the agreement says why. Return whether it was active."""
    now = timezone.now()
    with transaction.atomic():
        agreement = (
            LicenseAgreement.objects.select_for_update()
            .filter(id=agreement_id, status=LicenseAgreement.Status.ACTIVE)
            .first()
        )
        if agreement is None:
            return False
        agreement.status = LicenseAgreement.Status.SUSPENDED
        agreement.status_reason = reason[:200]
        if agreement.ends_at is None or agreement.ends_at > now:
            agreement.ends_at = now
        agreement.save(update_fields=["status", "status_reason", "ends_at"])
        invalidate()
    return True


def end_agreement(*, agreement_id: uuid.UUID) -> bool:
    """Mark an active agreement whose end has passed (a subscription not renewed) expired."""
    with transaction.atomic():
        changed = LicenseAgreement.objects.filter(
            id=agreement_id, status=LicenseAgreement.Status.ACTIVE, ends_at__lte=timezone.now()
        ).update(status=LicenseAgreement.Status.EXPIRED)
        if changed:
            invalidate()
    return bool(changed)


@dataclass(frozen=True)
class LapsedAgreement:
    agreement_id: uuid.UUID
    offer_id: uuid.UUID
    offer_name: str
    reason: str
    ended_at: datetime | None


def lapsed_agreements(*, agent_id: uuid.UUID, offer_ids: list[uuid.UUID]) -> list[LapsedAgreement]:
    """Return the agent's agreements on these offers that lapsed (and were not taken again),
    newest first, so a refusal can say why a licence the agent had is gone."""
    rows = (
        LicenseAgreement.objects.filter(
            agent_id=agent_id,
            offer_id__in=offer_ids,
            status=LicenseAgreement.Status.SUSPENDED,
        )
        .exclude(status_reason="")
        .select_related("offer")
        .order_by("-ends_at")
    )
    active = set(
        LicenseAgreement.objects.filter(
            agent_id=agent_id, offer_id__in=offer_ids, status=LicenseAgreement.Status.ACTIVE
        ).values_list("offer_id", flat=True)
    )
    seen: set[uuid.UUID] = set()
    found = []
    for a in rows:
        if a.offer_id in active or a.offer_id in seen:
            continue
        seen.add(a.offer_id)
        found.append(
            LapsedAgreement(
                agreement_id=a.id,
                offer_id=a.offer_id,
                offer_name=a.offer.name,
                reason=a.status_reason,
                ended_at=a.ends_at,
            )
        )
    return found
