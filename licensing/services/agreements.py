"""Agents' agreements: accept an offer (once), list, change a spend cap, cancel; quotes."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.services import Actor
from licensing import errors
from licensing.models import LicenseAgreement, LicenseOffer, OfferVersion, PaymentType, Period
from licensing.services.acting import agent_id_for
from licensing.services.cache import invalidate
from licensing.services.market import offer_visible_to, redacted
from licensing.services.offers import OfferInfo, current_version, offer_info
from licensing.services.terms import price_use, usage_covers

PERIOD_LENGTH: dict[str, timedelta] = {
    Period.DAY: timedelta(days=1),
    Period.MONTH: timedelta(days=30),
    Period.YEAR: timedelta(days=365),
}


@dataclass(frozen=True)
class AgreementInfo:
    id: uuid.UUID
    agent_id: uuid.UUID
    offer: OfferInfo
    status: str
    starts_at: datetime
    ends_at: datetime | None
    spend_cap_micros: int | None
    spent_micros: int
    created_at: datetime
    cancelled_at: datetime | None
    origin: str  # accepted, auto_accept or single_fetch (LicenseAgreement.Origin)
    notice_ends_at: datetime | None = None  # the provider gave notice: it ends then


@dataclass(frozen=True)
class Quote:
    offer_id: uuid.UUID
    offer_version: int
    usage_type: str
    payment_type: str
    price_unit: str
    units: int
    amount_micros: int
    currency: str
    period: str
    period_price_micros: int


def _agreement_info(agreement: LicenseAgreement) -> AgreementInfo:
    return AgreementInfo(
        id=agreement.id,
        agent_id=agreement.agent_id,
        offer=redacted(offer_info(agreement.offer, agreement.offer_version)),
        status=_effective_status(agreement),
        starts_at=agreement.starts_at,
        ends_at=agreement.ends_at,
        spend_cap_micros=agreement.spend_cap_micros,
        spent_micros=agreement.spent_micros,
        created_at=agreement.created_at,
        cancelled_at=agreement.cancelled_at,
        origin=agreement.origin,
        notice_ends_at=agreement.notice_ends_at,
    )


def _effective_status(agreement: LicenseAgreement) -> str:
    if (
        agreement.status == LicenseAgreement.Status.ACTIVE
        and agreement.ends_at is not None
        and agreement.ends_at <= timezone.now()
    ):
        return LicenseAgreement.Status.EXPIRED
    return agreement.status


def _visible(version: OfferVersion, offer: LicenseOffer, agent_id: uuid.UUID) -> bool:
    return offer_visible_to(
        agent_id=agent_id,
        provider_id=offer.provider_id,
        allowed_agent_org_ids=version.allowed_agent_org_ids,
        denied_agent_org_ids=version.denied_agent_org_ids,
    )


def refusal_reason(version: OfferVersion, offer: LicenseOffer, agent_id: uuid.UUID) -> str | None:
    """Say why this agent may not take this offer version, or None if it may."""
    if offer.status != LicenseOffer.Status.PUBLISHED:
        return f"the offer is {offer.status}"
    if version.expires_at is not None and version.expires_at <= timezone.now():
        return "the offer has expired"
    agent = str(agent_id)
    if agent in version.denied_agent_org_ids:
        return "the provider does not license this offer to your organization"
    if version.allowed_agent_org_ids and agent not in version.allowed_agent_org_ids:
        return "the offer is limited to named organizations"
    if str(offer.provider_id) == agent:
        return "an organization cannot license its own content"
    return None


def _create_agreement(
    agent_id: uuid.UUID, offer: LicenseOffer, spend_cap_micros: int | None, origin: str
) -> LicenseAgreement:
    version = current_version(offer)
    now = timezone.now()
    ends_at = None
    if version.payment_type == PaymentType.SUBSCRIPTION:
        ends_at = now + PERIOD_LENGTH[version.period]
    if version.expires_at is not None:
        ends_at = min(ends_at or version.expires_at, version.expires_at)
    return LicenseAgreement.objects.create(
        agent_id=agent_id,
        offer=offer,
        offer_version=version,
        starts_at=now,
        ends_at=ends_at,
        spend_cap_micros=spend_cap_micros,
        origin=origin,
    )


def _on_accept() -> Callable[..., object]:
    """Return what is called, with the new agreement's id, in the transaction that makes an
    agreement the agent accepts: LICENSING_ON_ACCEPT, which the project's settings point at
    billing's charge of a subscription's first period or a purchase (licensing does not import
    billing; a layer above it is named here by the composition root). What it raises refuses
    the acceptance: nothing is written."""
    path: str = settings.LICENSING_ON_ACCEPT
    return import_string(path) if path else _accept_quietly


def _accept_quietly(*, agreement_id: uuid.UUID) -> None:
    return None


def _active_agreement(agent_id: uuid.UUID, offer_id: uuid.UUID) -> LicenseAgreement | None:
    return (
        LicenseAgreement.objects.select_related("offer__provider", "offer_version")
        .filter(agent_id=agent_id, offer_id=offer_id, status=LicenseAgreement.Status.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()))
        .first()
    )


def accept_offer(
    *,
    actor: Actor,
    offer_id: uuid.UUID | str,
    spend_cap_micros: int | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> AgreementInfo:
    """Accept the offer's current version for the acting agent; accepting again returns the
    same agreement."""
    return accept_for_agent(
        agent_id=agent_id_for(actor, organization_id),
        offer_id=offer_id,
        spend_cap_micros=spend_cap_micros,
    )


def _check_cap(spend_cap_micros: int | None) -> None:
    if spend_cap_micros is not None and spend_cap_micros < 0:
        raise errors.ValidationFailed(
            "A spend cap is zero or more.", details={"spend_cap_micros": ["Zero or more."]}
        )


def _acceptable_offer(agent_id: uuid.UUID, offer_id: uuid.UUID | str) -> LicenseOffer:
    """Return the offer if the agent may see it; 404 for drafts and others' private offers."""
    try:
        offer = LicenseOffer.objects.select_related("provider", "current_version").get(id=offer_id)
    except (LicenseOffer.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise errors.NotFound("Offer not found.") from exc
    if offer.status == LicenseOffer.Status.DRAFT:
        raise errors.NotFound("Offer not found.")  # drafts are the provider's own business
    return offer


def _refuse_unless_acceptable(agent_id: uuid.UUID, offer: LicenseOffer) -> None:
    version = offer.current_version
    if version is None or not _visible(version, offer, agent_id):
        raise errors.NotFound("Offer not found.")  # a private offer is not shown to others
    reason = refusal_reason(version, offer, agent_id)
    if reason:
        raise errors.OfferNotAcceptable(f"This offer cannot be accepted: {reason}.")


def accept_for_agent(
    *,
    agent_id: uuid.UUID,
    offer_id: uuid.UUID | str,
    spend_cap_micros: int | None = None,
    origin: str = LicenseAgreement.Origin.ACCEPTED,
) -> AgreementInfo:
    """Accept the offer for an agent a use case has already authorized.

    `origin` says whose consent it is: the agent's own (accepting an agreement that
    auto-accept made turns it into the agent's), or an auto-accept offer's on first use.
    """
    _check_cap(spend_cap_micros)
    offer = _acceptable_offer(agent_id, offer_id)
    existing = _active_agreement(agent_id, offer.id)
    if existing is not None:
        if origin == LicenseAgreement.Origin.ACCEPTED and existing.origin != origin:
            existing.origin = origin
            existing.save(update_fields=["origin"])
            invalidate()
        return _agreement_info(existing)
    _refuse_unless_acceptable(agent_id, offer)
    try:
        with transaction.atomic():
            # An ended agreement no longer counts as active; mark it so the new one can be.
            LicenseAgreement.objects.filter(
                agent_id=agent_id,
                offer=offer,
                status=LicenseAgreement.Status.ACTIVE,
                ends_at__lte=timezone.now(),
            ).update(status=LicenseAgreement.Status.EXPIRED)
            agreement_id = _create_agreement(agent_id, offer, spend_cap_micros, origin).id
            if origin == LicenseAgreement.Origin.ACCEPTED:
                _on_accept()(agreement_id=agreement_id)
            invalidate()
    except IntegrityError:
        won = _active_agreement(agent_id, offer.id)  # a concurrent accept won
        if won is None:
            raise
        agreement_id = won.id
    return _agreement_info(
        LicenseAgreement.objects.select_related("offer__provider", "offer_version").get(
            id=agreement_id
        )
    )


def ensure_agreement(*, agent_id: uuid.UUID, offer_version_id: int) -> uuid.UUID:
    """Return the agent's active agreement on this offer, creating it for auto-accept offers."""
    version = OfferVersion.objects.select_related("offer").get(id=offer_version_id)
    existing = _active_agreement(agent_id, version.offer_id)
    if existing is not None:
        return existing.id
    offer = version.offer
    if not offer.auto_accept:
        raise errors.PaymentRequired("Accept this offer before using it.", code="not_accepted")
    return accept_for_agent(
        agent_id=agent_id, offer_id=offer.id, origin=LicenseAgreement.Origin.AUTO_ACCEPT
    ).id


def buy_single_fetch(
    *, agent_id: uuid.UUID, offer_id: uuid.UUID | str, price_micros: int
) -> AgreementInfo:
    """Make a licence for one content fetch at `price_micros` (a crawler's max price): capped
    at that price and ended at once, so it entitles nothing after the fetch it pays for."""
    offer = _acceptable_offer(agent_id, offer_id)
    _refuse_unless_acceptable(agent_id, offer)
    version = offer.current_version
    if version is None:
        raise errors.NotFound("Offer not found.")
    now = timezone.now()
    agreement = LicenseAgreement.objects.create(
        agent_id=agent_id,
        offer=offer,
        offer_version=version,
        origin=LicenseAgreement.Origin.SINGLE_FETCH,
        status=LicenseAgreement.Status.EXPIRED,
        starts_at=now,
        ends_at=now,
        spend_cap_micros=price_micros,
    )
    return _agreement_info(agreement)


def list_agreements(
    *, actor: Actor, status: str | None = None, organization_id: uuid.UUID | str | None = None
) -> list[AgreementInfo]:
    """Return the acting agent's agreements, optionally only those with `status`."""
    agent_id = agent_id_for(actor, organization_id, reading=True)
    rows = LicenseAgreement.objects.filter(agent_id=agent_id).select_related(
        "offer__provider", "offer_version"
    )
    infos = [_agreement_info(a) for a in rows.prefetch_related("offer_version__collections")]
    return [a for a in infos if status is None or a.status == status]


def _agent_agreement(agent_id: uuid.UUID, agreement_id: uuid.UUID | str) -> AgreementInfo:
    try:
        agreement = LicenseAgreement.objects.select_related("offer__provider", "offer_version").get(
            id=agreement_id, agent_id=agent_id
        )
    except (LicenseAgreement.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise errors.NotFound("Agreement not found.") from exc
    return _agreement_info(agreement)


def agent_agreement(*, agent_id: uuid.UUID, agreement_id: uuid.UUID | str) -> AgreementInfo:
    """Return one agreement of an agent a use case has already authorized; 404 for another's."""
    return _agent_agreement(agent_id, agreement_id)


def get_agreement(
    *, actor: Actor, agreement_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> AgreementInfo:
    """Return one of the acting agent's agreements; 404 for another's."""
    return _agent_agreement(agent_id_for(actor, organization_id, reading=True), agreement_id)


def cancel_agreement(
    *, actor: Actor, agreement_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> AgreementInfo:
    """Cancel an agreement at once; cancelling a cancelled one changes nothing."""
    agent_id = agent_id_for(actor, organization_id)
    with transaction.atomic():
        try:
            agreement = LicenseAgreement.objects.select_for_update().get(
                id=agreement_id, agent_id=agent_id
            )
        except (LicenseAgreement.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise errors.NotFound("Agreement not found.") from exc
        if agreement.status == LicenseAgreement.Status.ACTIVE:
            agreement.status = LicenseAgreement.Status.CANCELLED
            agreement.cancelled_at = timezone.now()
            agreement.save(update_fields=["status", "cancelled_at"])
            invalidate()
    return _agent_agreement(agent_id, agreement_id)


def update_agreement(
    *,
    actor: Actor,
    agreement_id: uuid.UUID | str,
    spend_cap_micros: int | None,
    organization_id: uuid.UUID | str | None = None,
) -> AgreementInfo:
    """Raise, lower or remove (None) a running agreement's spend cap; what it spent stays.

    A cap below what was spent is set to what was spent: nothing more is charged under it.
    """
    _check_cap(spend_cap_micros)
    agent_id = agent_id_for(actor, organization_id)
    with transaction.atomic():
        try:
            agreement = LicenseAgreement.objects.select_for_update().get(
                id=agreement_id, agent_id=agent_id
            )
        except (LicenseAgreement.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise errors.NotFound("Agreement not found.") from exc
        status = _effective_status(agreement)
        if status != LicenseAgreement.Status.ACTIVE:
            raise errors.Conflict(
                f"This agreement is {status}: its spend cap no longer changes anything.",
                code="agreement_not_active",
            )
        if spend_cap_micros is not None:
            spend_cap_micros = max(spend_cap_micros, agreement.spent_micros)
        agreement.spend_cap_micros = spend_cap_micros
        agreement.save(update_fields=["spend_cap_micros"])
    return _agent_agreement(agent_id, agreement_id)


def quote(
    *,
    actor: Actor,
    offer_id: uuid.UUID,
    usage_type: str = "ai-input",
    sources: int = 1,
    tokens: int = 0,
    cited: bool = True,
    organization_id: uuid.UUID | str | None = None,
) -> Quote:
    """Price a use before it happens, at the acting agent's agreed version or the current one."""
    agent_id = agent_id_for(actor, organization_id, reading=True)
    if sources < 0 or tokens < 0:
        raise errors.ValidationFailed("Counts are zero or more.")
    agreement = _active_agreement(agent_id, offer_id)
    if agreement is not None:
        offer, version = agreement.offer, agreement.offer_version
    else:
        try:
            offer = LicenseOffer.objects.select_related("current_version").get(
                id=offer_id, status=LicenseOffer.Status.PUBLISHED
            )
        except (LicenseOffer.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise errors.NotFound("Offer not found.") from exc
        version = current_version(offer)
        if not _visible(version, offer, agent_id):
            raise errors.NotFound("Offer not found.")
    if not usage_covers(version.usage_types, usage_type):
        raise errors.OfferNotAcceptable(f"This offer does not permit {usage_type}.")
    units = amount = 0
    for _ in range(sources):
        u, a = price_use(
            payment_type=version.payment_type,
            price_unit=version.price_unit,
            price_micros=version.price_micros,
            tokens=tokens,
            cited=cited,
        )
        units, amount = units + u, amount + a
    return Quote(
        offer_id=offer.id,
        offer_version=version.version,
        usage_type=usage_type,
        payment_type=version.payment_type,
        price_unit=version.price_unit,
        units=units,
        amount_micros=amount,
        currency=version.currency,
        period=version.period,
        period_price_micros=version.price_micros
        if version.payment_type in (PaymentType.SUBSCRIPTION, PaymentType.PURCHASE)
        else 0,
    )
