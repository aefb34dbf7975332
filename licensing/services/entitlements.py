"""Entitlements: which collections an agent may use, under which of its terms, within its
price ceilings; an agent's options for one use are compared by their marginal cost."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.services import Actor
from licensing import errors
from licensing.models import LicenseAgreement, LicenseOffer, OfferVersion
from licensing.services.acting import agent_id_for
from licensing.services.agreements import refusal_reason
from licensing.services.cache import cached
from licensing.services.ceilings import PriceCeilings, ceilings_for
from licensing.services.terms import (
    USAGE_TYPES,
    Terms,
    choice_key,
    marginal_cost,
    usage_covers,
)


def within_ceilings(terms: Terms, cost_micros: int, ceilings: PriceCeilings | None) -> bool:
    """Say whether the agent consents to one use of `cost_micros` under `terms`: always under
    terms it accepted itself, within its ceilings (per source and per answer) otherwise."""
    if not terms.auto_accepted or ceilings is None:
        return True
    return cost_micros <= min(ceilings.per_source_micros, ceilings.per_answer_micros)


@dataclass(frozen=True)
class Entitlements:
    """Which collections an agent may use for one usage type, and on which terms.

    `terms` holds one choice per collection, the cheapest for a passage of typical length
    (CATALOG_CHUNK_TOKENS); `options` holds every usable terms, so a use can be priced on the
    passage at hand (`choose`). Auto-accept terms whose smallest use costs more than the
    agent's ceilings are left out: the agent has not consented to them.
    """

    agent_id: uuid.UUID
    usage_type: str
    terms: tuple[Terms, ...]
    options: tuple[Terms, ...] = ()
    ceilings: PriceCeilings | None = None

    # Entitlements are cached per process and asked on every answer: the lookups an answer
    # needs are built once per object, not per request (an agent may hold 1,000 collections).
    @cached_property
    def collection_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(t.collection_id for t in self.terms)

    @cached_property
    def by_collection(self) -> Mapping[uuid.UUID, Terms]:
        return {t.collection_id: t for t in self.terms}

    @cached_property
    def _options_by_collection(self) -> Mapping[uuid.UUID, tuple[Terms, ...]]:
        grouped: dict[uuid.UUID, list[Terms]] = {}
        for option in self.options or self.terms:
            grouped.setdefault(option.collection_id, []).append(option)
        return {c: tuple(options) for c, options in grouped.items()}

    def for_collection(self, collection_id: uuid.UUID) -> Terms | None:
        return self.by_collection.get(collection_id)

    def options_for(self, collection_id: uuid.UUID) -> tuple[Terms, ...]:
        """Return every terms the agent may use the collection under."""
        return self._options_by_collection.get(collection_id, ())

    @property
    def options_collection_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(self._options_by_collection)

    def allows(self, terms: Terms, cost_micros: int) -> bool:
        """Say whether the agent consents to one use of `cost_micros` under `terms`."""
        return within_ceilings(terms, cost_micros, self.ceilings)

    def choose(
        self, collection_id: uuid.UUID, *, tokens: int | Callable[[Terms], int], cited: bool = True
    ) -> Terms | None:
        """Return the terms under which this use of the collection costs the agent least
        (`tokens`: the passage's tokens, or what they are under given terms), or None."""
        best: tuple[tuple[int, bool, bool, str], Terms] | None = None
        for option in self.options_for(collection_id):
            count = tokens(option) if callable(tokens) else tokens
            cost = marginal_cost(option, tokens=count, cited=cited)
            if not self.allows(option, cost):
                continue
            key = choice_key(option, cost)
            if best is None or key < best[0]:
                best = (key, option)
        return best[1] if best else None


def _terms(
    version: OfferVersion,
    offer: LicenseOffer,
    collection_id: uuid.UUID,
    agreement: LicenseAgreement | None,
) -> Terms:
    return Terms(
        collection_id=collection_id,
        provider_id=offer.provider_id,
        offer_id=offer.id,
        offer_name=offer.name,
        offer_version_id=version.id,
        version=version.version,
        agreement_id=agreement.id if agreement else None,
        usage_types=tuple(version.usage_types),
        payment_type=version.payment_type,
        price_micros=version.price_micros,
        price_unit=version.price_unit,
        currency=version.currency,
        revenue_share_bps=version.revenue_share_bps,
        max_snippet_chars=version.max_snippet_chars,
        citation_required=version.citation_required,
        expires_at=version.expires_at,
        auto_accepted=agreement is None or agreement.origin == LicenseAgreement.Origin.AUTO_ACCEPT,
    )


def _usable_agreements(agent_id: uuid.UUID, usage_type: str) -> tuple[list[Terms], set[uuid.UUID]]:
    """Return the terms of the agent's running agreements for `usage_type`, and the offers
    it holds a running agreement on (for any usage)."""
    now = timezone.now()
    agreements = (
        LicenseAgreement.objects.filter(agent_id=agent_id, status=LicenseAgreement.Status.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("offer", "offer_version")
        .prefetch_related("offer_version__collections")
        .order_by("created_at", "id")
    )
    options: list[Terms] = []
    held_offers: set[uuid.UUID] = set()
    for agreement in agreements:
        version, offer = agreement.offer_version, agreement.offer
        held_offers.add(offer.id)
        if not usage_covers(version.usage_types, usage_type):
            continue
        if version.expires_at is not None and version.expires_at <= now:
            continue
        options += [_terms(version, offer, c.id, agreement) for c in version.collections.all()]
    return options, held_offers


def _usable_auto_offers(
    agent_id: uuid.UUID, usage_type: str, held_offers: set[uuid.UUID]
) -> list[Terms]:
    offers = (
        LicenseOffer.objects.filter(status=LicenseOffer.Status.PUBLISHED, auto_accept=True)
        .exclude(id__in=held_offers)
        .exclude(provider_id=agent_id)
        .select_related("current_version")
        .prefetch_related("current_version__collections")
    )
    options: list[Terms] = []
    for offer in offers:
        version = offer.current_version
        if version is None or not usage_covers(version.usage_types, usage_type):
            continue
        if refusal_reason(version, offer, agent_id):
            continue
        options += [_terms(version, offer, c.id, None) for c in version.collections.all()]
    return options


def _compute_entitlements(agent_id: uuid.UUID, usage_type: str) -> Entitlements:
    ceilings = ceilings_for(agent_id)

    def consented(terms: Terms) -> bool:
        # Auto-accept terms whose smallest use (one token, cited) passes a ceiling never bind.
        return within_ceilings(terms, marginal_cost(terms, tokens=1, cited=True), ceilings)

    held, held_offers = _usable_agreements(agent_id, usage_type)
    held = [t for t in held if consented(t)]
    # The agent's own agreements win over list prices: an auto-accept offer is an option only
    # for a collection the agent holds no usable agreement on.
    covered = {t.collection_id for t in held}
    unbound = [
        t
        for t in _usable_auto_offers(agent_id, usage_type, held_offers)
        if t.collection_id not in covered and consented(t)
    ]
    entitlements = Entitlements(
        agent_id=agent_id,
        usage_type=usage_type,
        terms=(),
        options=tuple(held + unbound),
        ceilings=ceilings,
    )
    # One choice per collection, for a passage of typical length; where that passage would
    # cost more than the ceilings allow, for the smallest one (shorter passages may be used).
    typical = settings.CATALOG_CHUNK_TOKENS
    chosen = (
        entitlements.choose(c, tokens=typical) or entitlements.choose(c, tokens=1)
        for c in entitlements.options_collection_ids
    )
    terms = tuple(sorted((t for t in chosen if t is not None), key=lambda t: str(t.collection_id)))
    return replace(entitlements, terms=terms)


def list_entitlements(
    *, actor: Actor, usage_type: str, organization_id: uuid.UUID | str | None = None
) -> Entitlements:
    """Return the collections the acting agent may use for `usage_type`, with their terms."""
    return get_entitlements(
        agent_id=agent_id_for(actor, organization_id, reading=True), usage_type=usage_type
    )


def get_entitlements(*, agent_id: uuid.UUID, usage_type: str) -> Entitlements:
    """Return the collections the agent may use for `usage_type`, with the terms of each.

    For use cases that have already authorized the agent (the answer path); interfaces call
    `list_entitlements`.
    """
    if usage_type not in USAGE_TYPES:
        raise errors.ValidationFailed(
            f"Unknown usage type {usage_type!r}.",
            details={"usage_type": [f"Choose from {', '.join(USAGE_TYPES)}."]},
        )
    entitlements: Entitlements = cached(
        ("entitlements", str(agent_id), usage_type),
        lambda: _compute_entitlements(agent_id, usage_type),
    )
    return entitlements
