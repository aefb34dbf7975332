"""The offer market: which published offers an agent (or the public) may see, and how."""

import textwrap
import uuid
from collections.abc import Collection
from dataclasses import dataclass, fields, replace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from accounts import services as accounts
from accounts.services import Actor
from catalog import services as catalog
from licensing import errors
from licensing.models import LicenseOffer
from licensing.services.acting import agent_id_for
from licensing.services.explain import explain_terms
from licensing.services.offers import OfferInfo, offer_info
from licensing.services.terms import usage_covers


@dataclass(frozen=True)
class MarketCollection:
    id: uuid.UUID
    name: str
    description: str
    topics: tuple[str, ...]
    document_count: int
    sample_passage: str  # the opening of its first passage, within the offer's quote limit


@dataclass(frozen=True)
class MarketOffer(OfferInfo):
    """An offer as the market shows it: with its provider's slug, its collections described,
    and its terms in plain words."""

    provider_slug: str = ""
    collections: tuple[MarketCollection, ...] = ()
    explanation: str = ""


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
    provider: str | None = None,
    collection_id: uuid.UUID | None = None,
    topic: str | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> list[MarketOffer]:
    """Return the published offers the acting agent may see and accept, described for the
    market, optionally filtered by usage, provider (its slug or id), collection, or a topic of
    one of the offer's collections."""
    agent_id = agent_id_for(actor, organization_id, reading=True)
    provider_id = _provider_id(provider)
    if provider and provider_id is None:
        return []
    offers = _for_market(
        list_published_offers(
            agent_id=agent_id,
            usage_type=usage_type,
            provider_id=provider_id,
            collection_id=collection_id,
        )
    )
    if topic:
        wanted = topic.strip().casefold()
        offers = [o for o in offers if wanted in _topics(o)]
    return offers


def _topics(offer: MarketOffer) -> set[str]:
    return {t.casefold() for c in offer.collections for t in c.topics}


def _provider_id(provider: str | None) -> uuid.UUID | None:
    if not provider:
        return None
    try:
        return uuid.UUID(provider)
    except ValueError:
        return accounts.organization_id_for_slug(slug=provider)


def _for_market(offers: list[OfferInfo]) -> list[MarketOffer]:
    """Describe offers for the market: two queries whatever their number."""
    shown = catalog.showcase_collections(
        collection_ids={c for o in offers for c in o.terms.collection_ids}
    )
    slugs = accounts.organization_slugs(organization_ids={o.provider_id for o in offers})
    described = []
    for offer in offers:
        limit = offer.terms.max_snippet_chars or catalog.SHOWCASE_SAMPLE_CHARS
        collections = tuple(
            MarketCollection(
                id=c.id,
                name=c.name,
                description=c.description,
                topics=c.topics,
                document_count=c.document_count,
                sample_passage=textwrap.shorten(c.sample_passage, width=limit, placeholder="…")
                if c.sample_passage
                else "",
            )
            for c in (shown[i] for i in offer.terms.collection_ids if i in shown)
        )
        described.append(
            MarketOffer(
                **{f.name: getattr(offer, f.name) for f in fields(OfferInfo)},
                provider_slug=slugs.get(offer.provider_id, ""),
                collections=collections,
                explanation=explain_terms(offer.terms),
            )
        )
    return described


def get_market_offer(
    *, actor: Actor, offer_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> MarketOffer:
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
    return _for_market([redacted(info)])[0]
