"""The offer market: which published offers an agent (or the public) may see, and how."""

import uuid
from collections.abc import Collection
from dataclasses import replace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from accounts.services import Actor
from licensing import errors
from licensing.models import LicenseOffer
from licensing.services.acting import agent_id_for
from licensing.services.offers import OfferInfo, offer_info
from licensing.services.terms import usage_covers


def offer_visible_to(
    *,
    agent_id: uuid.UUID | None,
    provider_id: uuid.UUID,
    allowed_agent_org_ids: Collection[uuid.UUID | str],
    denied_agent_org_ids: Collection[uuid.UUID | str],
) -> bool:
    """Say whether `agent_id` may see a published offer (None: the public, e.g. RSL readers).

    An agent sees its own offers and those it is neither denied nor left off the allow list of;
    the public sees only offers open to every agent (no allow list).
    """
    if agent_id is None:
        return not allowed_agent_org_ids
    agent = str(agent_id)
    if agent == str(provider_id):
        return True
    if agent in {str(i) for i in denied_agent_org_ids}:
        return False
    return not allowed_agent_org_ids or agent in {str(i) for i in allowed_agent_org_ids}


def _visible(info: OfferInfo, agent_id: uuid.UUID | None) -> bool:
    return offer_visible_to(
        agent_id=agent_id,
        provider_id=info.provider_id,
        allowed_agent_org_ids=info.terms.allowed_agent_org_ids,
        denied_agent_org_ids=info.terms.denied_agent_org_ids,
    )


def redacted(info: OfferInfo) -> OfferInfo:
    """Return the offer as others see it: who else it is offered to or refused is not theirs."""
    return replace(
        info, terms=replace(info.terms, allowed_agent_org_ids=(), denied_agent_org_ids=())
    )


def list_published_offers(
    *,
    agent_id: uuid.UUID | None,
    usage_type: str | None = None,
    provider_id: uuid.UUID | None = None,
    collection_id: uuid.UUID | None = None,
) -> list[OfferInfo]:
    """Return the published offers `agent_id` may see (None: the public), optionally filtered.

    For use cases that have already authorized the agent (an answer's 402, RSL documents);
    interfaces call `list_market_offers`. Allow and deny lists are left out: only the
    provider's own offer endpoints show them.
    """
    offers = (
        LicenseOffer.objects.filter(status=LicenseOffer.Status.PUBLISHED)
        .select_related("provider", "current_version")
        .prefetch_related("current_version__collections")
        .order_by("provider__name", "name", "id")
    )
    if provider_id:
        offers = offers.filter(provider_id=provider_id)
    if collection_id:
        offers = offers.filter(current_version__collections__id=collection_id)
    now = timezone.now()
    result = []
    for offer in offers:
        info = offer_info(offer)
        if info.terms.expires_at is not None and info.terms.expires_at <= now:
            continue
        if usage_type and not usage_covers(info.terms.usage_types, usage_type):
            continue
        if not _visible(info, agent_id):
            continue
        result.append(redacted(info))
    return result


def list_market_offers(
    *,
    actor: Actor,
    usage_type: str | None = None,
    provider_id: uuid.UUID | None = None,
    collection_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> list[OfferInfo]:
    """Return the published offers the acting agent may see and accept, optionally filtered."""
    return list_published_offers(
        agent_id=agent_id_for(actor, organization_id, reading=True),
        usage_type=usage_type,
        provider_id=provider_id,
        collection_id=collection_id,
    )


def get_market_offer(
    *, actor: Actor, offer_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> OfferInfo:
    """Return a published offer the acting agent may see, without its allow and deny lists."""
    agent_id = agent_id_for(actor, organization_id, reading=True)
    try:
        offer = LicenseOffer.objects.select_related("provider", "current_version").get(
            id=offer_id, status=LicenseOffer.Status.PUBLISHED
        )
    except (LicenseOffer.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise errors.NotFound("Offer not found.") from exc
    info = offer_info(offer)
    if not _visible(info, agent_id):
        raise errors.NotFound("Offer not found.")
    return redacted(info)
