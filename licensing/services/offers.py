"""Providers' license offers: drafts, versions on edit, publishing and retiring."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from accounts.services import Actor
from catalog import services as catalog
from licensing import errors
from licensing.models import LicenseOffer, OfferVersion, PaymentType, Period, PriceUnit
from licensing.services.acting import provider_id_for
from licensing.services.cache import invalidate
from licensing.services.terms import PAYMENT_TYPES, USAGE_TYPES

MAX_PRICE_MICROS = 10**15  # a billion currency units: anything larger is a typo
PRICE_UNITS_BY_PAYMENT: dict[str, tuple[str, ...]] = {
    PaymentType.FREE: (PriceUnit.NONE,),
    PaymentType.ATTRIBUTION: (PriceUnit.NONE,),
    PaymentType.USE: (
        PriceUnit.RETRIEVED_SOURCE,
        PriceUnit.CITED_SOURCE,
        PriceUnit.THOUSAND_TOKENS,
    ),
    PaymentType.SUBSCRIPTION: (PriceUnit.PERIOD,),
    PaymentType.REVENUE_SHARE: (PriceUnit.NONE,),
    PaymentType.PURCHASE: (PriceUnit.ONE_OFF,),
}


@dataclass(frozen=True)
class OfferTerms:
    """What a provider sets on an offer version."""

    collection_ids: tuple[uuid.UUID, ...]
    usage_types: tuple[str, ...]
    payment_type: str
    price_micros: int = 0
    price_unit: str = PriceUnit.NONE
    currency: str = "USD"
    period: str = ""
    revenue_share_bps: int = 0
    revenue_share_min_micros: int = 0  # the least a revenue-share source earns per use
    max_snippet_chars: int | None = None
    citation_required: bool = False
    territories: tuple[str, ...] = ()
    allowed_agent_org_ids: tuple[uuid.UUID, ...] = ()
    denied_agent_org_ids: tuple[uuid.UUID, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True)
class OfferInfo:
    id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    name: str
    status: str
    auto_accept: bool
    version: int
    version_id: int
    terms: OfferTerms
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None
    versions: tuple[int, ...] = field(default=())


TERM_FIELDS = tuple(f.name for f in fields(OfferTerms))


def _invalid(field_name: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field_name: [message]})


def validate_terms(terms: OfferTerms, *, provider_id: uuid.UUID) -> OfferTerms:
    """Check the terms make sense together and name only the provider's own collections."""
    if not terms.collection_ids:
        raise _invalid("collection_ids", "An offer covers at least one collection.")
    unknown = [u for u in terms.usage_types if u not in USAGE_TYPES]
    if unknown or not terms.usage_types:
        raise _invalid(
            "usage_types", f"Use one or more of: {', '.join(USAGE_TYPES)}. Unknown: {unknown}."
        )
    if terms.payment_type not in PAYMENT_TYPES:
        raise _invalid("payment_type", f"Choose one of: {', '.join(PAYMENT_TYPES)}.")
    if not 0 <= terms.price_micros <= MAX_PRICE_MICROS:
        raise _invalid("price_micros", "A price is between 0 and 10^15 micros.")
    if not 0 <= terms.revenue_share_bps <= 10_000:
        raise _invalid("revenue_share_bps", "A revenue share is between 0 and 10,000 (100%).")
    if terms.currency != settings.LICENSING_CURRENCY:
        raise _invalid("currency", f"Prices are in {settings.LICENSING_CURRENCY}.")
    if terms.max_snippet_chars is not None and terms.max_snippet_chars < 1:
        raise _invalid("max_snippet_chars", "A snippet limit is at least 1 character.")
    for code in terms.territories:
        if not (isinstance(code, str) and len(code) == 2 and code.isalpha() and code.isupper()):
            raise _invalid("territories", "Territories are ISO 3166-1 alpha-2 codes like 'US'.")
    if terms.expires_at is not None and terms.expires_at <= timezone.now():
        raise _invalid("expires_at", "The expiry must be in the future.")

    payment = terms.payment_type
    price_unit = terms.price_unit
    allowed_units = PRICE_UNITS_BY_PAYMENT[payment]
    if price_unit == PriceUnit.NONE and allowed_units[0] != PriceUnit.NONE:
        price_unit = allowed_units[0] if len(allowed_units) == 1 else price_unit
    if price_unit not in allowed_units:
        raise _invalid(
            "price_unit",
            f"A {payment} offer is priced {' or '.join(allowed_units)}, not {price_unit}.",
        )
    if payment in (PaymentType.FREE, PaymentType.ATTRIBUTION, PaymentType.REVENUE_SHARE):
        if terms.price_micros:
            raise _invalid("price_micros", f"A {payment} offer has no unit price.")
    elif terms.price_micros <= 0:
        raise _invalid("price_micros", f"A {payment} offer needs a price above zero.")
    if payment == PaymentType.SUBSCRIPTION and terms.period not in Period.values:
        raise _invalid("period", f"A subscription needs a period: {', '.join(Period.values)}.")
    if payment != PaymentType.SUBSCRIPTION and terms.period:
        raise _invalid("period", "Only subscriptions have a period.")
    if payment == PaymentType.REVENUE_SHARE and terms.revenue_share_bps <= 0:
        raise _invalid("revenue_share_bps", "A revenue share offer needs a share above zero.")
    if payment != PaymentType.REVENUE_SHARE and terms.revenue_share_bps:
        raise _invalid("revenue_share_bps", "Only revenue share offers have a share.")
    if not 0 <= terms.revenue_share_min_micros <= MAX_PRICE_MICROS:
        raise _invalid("revenue_share_min_micros", "A minimum per use is zero or more.")
    if payment != PaymentType.REVENUE_SHARE and terms.revenue_share_min_micros:
        raise _invalid(
            "revenue_share_min_micros", "Only revenue share offers have a minimum per use."
        )

    owners = catalog.collection_owners(collection_ids=list(terms.collection_ids))
    foreign = [str(c) for c in terms.collection_ids if owners.get(c) != provider_id]
    if foreign:
        raise errors.NotFound(
            "Collection not found.", details={"collection_ids": [f"Not found: {foreign}"]}
        )
    return replace(
        terms,
        price_unit=price_unit,
        citation_required=terms.citation_required or payment == PaymentType.ATTRIBUTION,
        usage_types=tuple(dict.fromkeys(terms.usage_types)),
        collection_ids=tuple(dict.fromkeys(terms.collection_ids)),
    )


def _terms_of(version: OfferVersion) -> OfferTerms:
    return OfferTerms(
        collection_ids=tuple(sorted(c.id for c in version.collections.all())),
        usage_types=tuple(version.usage_types),
        payment_type=version.payment_type,
        price_micros=version.price_micros,
        price_unit=version.price_unit,
        currency=version.currency,
        period=version.period,
        revenue_share_bps=version.revenue_share_bps,
        revenue_share_min_micros=version.revenue_share_min_micros,
        max_snippet_chars=version.max_snippet_chars,
        citation_required=version.citation_required,
        territories=tuple(version.territories),
        allowed_agent_org_ids=tuple(uuid.UUID(str(i)) for i in version.allowed_agent_org_ids),
        denied_agent_org_ids=tuple(uuid.UUID(str(i)) for i in version.denied_agent_org_ids),
        expires_at=version.expires_at,
    )


def current_version(offer: LicenseOffer) -> OfferVersion:
    """Return the offer's current version, which create_offer sets as it creates the offer."""
    version = offer.current_version
    if version is None:
        raise RuntimeError(f"Offer {offer.id} has no current version.")
    return version


def offer_info(offer: LicenseOffer, version: OfferVersion | None = None) -> OfferInfo:
    version = version or current_version(offer)
    return OfferInfo(
        id=offer.id,
        provider_id=offer.provider_id,
        provider_name=offer.provider.name,
        name=offer.name,
        status=offer.status,
        auto_accept=offer.auto_accept,
        version=version.version,
        version_id=version.id,
        terms=_terms_of(version),
        created_at=offer.created_at,
        published_at=offer.published_at,
        retired_at=offer.retired_at,
    )


def fill_version(version: OfferVersion, terms: OfferTerms) -> OfferVersion:
    """Copy `terms` onto an offer version, unsaved (its collections are a relation, set apart)."""
    version.usage_types = list(terms.usage_types)
    version.payment_type = terms.payment_type
    version.price_micros = terms.price_micros
    version.price_unit = terms.price_unit
    version.currency = terms.currency
    version.period = terms.period
    version.revenue_share_bps = terms.revenue_share_bps
    version.revenue_share_min_micros = terms.revenue_share_min_micros
    version.max_snippet_chars = terms.max_snippet_chars
    version.citation_required = terms.citation_required
    version.territories = list(terms.territories)
    version.allowed_agent_org_ids = [str(i) for i in terms.allowed_agent_org_ids]
    version.denied_agent_org_ids = [str(i) for i in terms.denied_agent_org_ids]
    version.expires_at = terms.expires_at
    return version


def _write_version(
    offer: LicenseOffer, number: int, terms: OfferTerms, version: OfferVersion | None = None
) -> OfferVersion:
    """Write `terms` into a new version, or over `version` (drafts only)."""
    version = fill_version(version or OfferVersion(offer=offer, version=number), terms)
    version.save()
    # django-stubs take related ids to be ints; a collection's primary key is a UUID.
    version.collections.set(terms.collection_ids)  # type: ignore[arg-type]
    return version


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "An offer needs a name.")
    if len(name) > 120:
        raise _invalid("name", "At most 120 characters.")
    return name


def create_offer(
    *,
    actor: Actor,
    name: str,
    terms: OfferTerms,
    auto_accept: bool = False,
    organization_id: uuid.UUID | str | None = None,
) -> OfferInfo:
    """Create a draft offer (version 1) over the acting provider's collections."""
    provider_id = provider_id_for(actor, organization_id)
    name = _clean_name(name)
    terms = validate_terms(terms, provider_id=provider_id)
    with transaction.atomic():
        offer = LicenseOffer.objects.create(
            provider_id=provider_id, name=name, auto_accept=auto_accept
        )
        offer.current_version = _write_version(offer, 1, terms)
        offer.save(update_fields=["current_version"])
    return _offer_detail(provider_id, offer.id)


def _provider_offer(
    provider_id: uuid.UUID, offer_id: uuid.UUID | str, *, lock: bool = False
) -> LicenseOffer:
    rows = LicenseOffer.objects.select_related("provider", "current_version")
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        return rows.get(id=offer_id, provider_id=provider_id)
    except (LicenseOffer.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise errors.NotFound("Offer not found.") from exc


def _offer_detail(provider_id: uuid.UUID, offer_id: uuid.UUID | str) -> OfferInfo:
    offer = _provider_offer(provider_id, offer_id)
    info = offer_info(offer)
    return replace(info, versions=tuple(offer.versions.values_list("version", flat=True)))


def get_offer(
    *, actor: Actor, offer_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> OfferInfo:
    """Return one of the acting provider's offers with its version numbers; 404 for others'."""
    return _offer_detail(provider_id_for(actor, organization_id), offer_id)


def list_offers(*, actor: Actor, organization_id: uuid.UUID | str | None = None) -> list[OfferInfo]:
    """Return the acting provider's offers."""
    offers = (
        LicenseOffer.objects.filter(provider_id=provider_id_for(actor, organization_id))
        .select_related("provider", "current_version")
        .prefetch_related("current_version__collections")
    )
    return [offer_info(o) for o in offers]


def update_offer(
    *,
    actor: Actor,
    offer_id: uuid.UUID | str,
    name: str | None = None,
    auto_accept: bool | None = None,
    changes: Mapping[str, Any] | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> OfferInfo:
    """Change an offer. A draft changes in place; a published offer gets a new version."""
    provider_id = provider_id_for(actor, organization_id)
    changes = changes or {}
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "Unknown term.")
    with transaction.atomic():
        offer = _provider_offer(provider_id, offer_id, lock=True)
        if offer.status == LicenseOffer.Status.RETIRED:
            raise errors.Conflict("A retired offer cannot change.", code="offer_retired")
        if name is not None:
            offer.name = _clean_name(name)
        if auto_accept is not None:
            offer.auto_accept = auto_accept
        if changes:
            current = current_version(offer)
            terms = validate_terms(replace(_terms_of(current), **changes), provider_id=provider_id)
            if offer.status == LicenseOffer.Status.DRAFT:
                # Nobody can accept a draft, so its one version may change in place.
                _write_version(offer, current.version, terms, version=current)
            elif terms != _terms_of(current):
                offer.current_version = _write_version(offer, current.version + 1, terms)
        offer.save()
        invalidate()
    return _offer_detail(provider_id, offer_id)


def publish_offer(
    *, actor: Actor, offer_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> OfferInfo:
    """Publish a draft; publishing a published offer changes nothing."""
    provider_id = provider_id_for(actor, organization_id)
    with transaction.atomic():
        offer = _provider_offer(provider_id, offer_id, lock=True)
        if offer.status == LicenseOffer.Status.RETIRED:
            raise errors.Conflict(
                "A retired offer cannot be published again.", code="offer_retired"
            )
        if offer.status == LicenseOffer.Status.DRAFT:
            offer.status = LicenseOffer.Status.PUBLISHED
            offer.published_at = timezone.now()
            offer.save(update_fields=["status", "published_at"])
            invalidate()
    return _offer_detail(provider_id, offer_id)


def retire_offer(
    *, actor: Actor, offer_id: uuid.UUID | str, organization_id: uuid.UUID | str | None = None
) -> OfferInfo:
    """Retire an offer: no new agreements; existing ones run until they end."""
    provider_id = provider_id_for(actor, organization_id)
    with transaction.atomic():
        offer = _provider_offer(provider_id, offer_id, lock=True)
        if offer.status != LicenseOffer.Status.RETIRED:
            offer.status = LicenseOffer.Status.RETIRED
            offer.retired_at = timezone.now()
            offer.save(update_fields=["status", "retired_at"])
            invalidate()
    return _offer_detail(provider_id, offer_id)
