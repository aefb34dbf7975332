"""Providers' public offers as RSL 1.0 documents (https://rslstandard.org/rsl), and robots.txt.

One `<content>` per collection (the URL its documents are served at) holds one `<license>` per
public offer covering it. Terms RSL has no word for are written in Provenant's extension
namespace, which RSL allows: revenue share is the payment type `provenant:revenue-share` with
its share in basis points, and a price's unit, a subscription's period, a citation requirement,
a snippet limit and an expiry are `provenant:*` elements.
"""

import uuid
from collections.abc import Iterable
from xml.etree import ElementTree as ET

from accounts import services as accounts
from core.money import format_micros
from licensing.models import PaymentType, PriceUnit
from licensing.services.market import list_published_offers
from licensing.services.offers import OfferInfo

RSL_NAMESPACE = "https://rslstandard.org/rsl"
RSL_CONTENT_TYPE = "application/rsl+xml"
EXTENSION_NAMESPACE = "https://provenant.dev/ns/rsl/1"
EXTENSION_PREFIX = "provenant"
REVENUE_SHARE_PAYMENT = f"{EXTENSION_PREFIX}:revenue-share"
RSL_PAYMENT_TYPES: dict[str, str] = {
    PaymentType.FREE: "free",
    PaymentType.ATTRIBUTION: "attribution",
    PaymentType.USE: "use",
    PaymentType.SUBSCRIPTION: "subscription",
    PaymentType.PURCHASE: "purchase",
    PaymentType.REVENUE_SHARE: REVENUE_SHARE_PAYMENT,
}
# RSL is the default namespace; the extension prefix is declared on the root whenever an
# extension element is written, and `provenant:revenue-share` always comes with one (its share).
# Both are registered when a document is written (rsl_for_offers).


def _rsl(name: str) -> str:
    return f"{{{RSL_NAMESPACE}}}{name}"


def _ext(name: str) -> str:
    return f"{{{EXTENSION_NAMESPACE}}}{name}"


def _child(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def rsl_amount(micros: int) -> str:
    """Return micros as an RSL `<amount>` decimal: 2500 -> '0.0025', 49000000 -> '49.0'."""
    return format_micros(micros, min_places=1)


def _payment(licence: ET.Element, offer: OfferInfo, base_url: str) -> None:
    terms = offer.terms
    payment = ET.SubElement(
        licence, _rsl("payment"), {"type": RSL_PAYMENT_TYPES[terms.payment_type]}
    )
    _child(payment, _rsl("custom"), f"{base_url}/api/v1/market/offers/{offer.id}")
    if terms.price_micros:
        _child(payment, _rsl("amount"), rsl_amount(terms.price_micros), currency=terms.currency)
    if terms.price_unit != PriceUnit.NONE:
        _child(payment, _ext("price-unit"), terms.price_unit)
    if terms.period:
        _child(payment, _ext("period"), terms.period)
    if terms.payment_type == PaymentType.REVENUE_SHARE:
        _child(payment, _ext("revenue-share-bps"), str(terms.revenue_share_bps))
        if terms.revenue_share_min_micros:
            _child(
                payment,
                _ext("revenue-share-minimum"),
                rsl_amount(terms.revenue_share_min_micros),
                currency=terms.currency,
            )


def _license(content: ET.Element, offer: OfferInfo, base_url: str) -> None:
    terms = offer.terms
    licence = ET.SubElement(content, _rsl("license"))
    _child(licence, _rsl("permits"), " ".join(terms.usage_types), type="usage")
    if terms.territories:
        _child(licence, _rsl("permits"), " ".join(terms.territories), type="geo")
    _payment(licence, offer, base_url)
    # RSL's <legal> types are warranty, disclaimer, attestation, contact and proof: a citation
    # requirement is not one of them, so it is an extension beside them.
    if terms.citation_required:
        _child(licence, _ext("citation-required"), "true")
    if terms.max_snippet_chars is not None:
        _child(licence, _ext("max-snippet-chars"), str(terms.max_snippet_chars))
    if terms.expires_at is not None:
        _child(licence, _ext("expires-at"), terms.expires_at.isoformat())


def _offers_by_collection(offers: Iterable[OfferInfo]) -> dict[uuid.UUID, list[OfferInfo]]:
    by_collection: dict[uuid.UUID, list[OfferInfo]] = {}
    for offer in offers:
        for collection_id in offer.terms.collection_ids:
            by_collection.setdefault(collection_id, []).append(offer)
    return by_collection


def rsl_document(*, provider_slug: str, base_url: str) -> str | None:
    """Return the provider's public offers as an RSL 1.0 document; None if it has none.

    The document is public, so it lists only offers open to every agent: a private offer (one
    with an allow list) is left out, and no allow or deny list is ever written. RSL needs at
    least one `<content>`, so a provider without a public offer has no document (404, as for
    an unknown provider).
    """
    provider_id = accounts.organization_id_for_slug(slug=provider_slug)
    if provider_id is None:
        return None
    offers = list_published_offers(agent_id=None, provider_id=provider_id)
    if not offers:
        return None
    return rsl_for_offers(offers=offers, base_url=base_url)


def rsl_for_offers(*, offers: Iterable[OfferInfo], base_url: str) -> str:
    """Return these offers as an RSL 1.0 document, as `rsl_document` writes them (the portal
    previews a provider's own offer with it, draft or published)."""
    root = ET.Element(_rsl("rsl"))
    for collection_id, covering in _offers_by_collection(offers).items():
        content = ET.SubElement(
            root,
            _rsl("content"),
            {
                "url": f"{base_url}/api/v1/collections/{collection_id}/documents/*/content",
                "server": f"{base_url}/api/v1/market/offers?collection={collection_id}",
            },
        )
        for offer in covering:
            _license(content, offer, base_url)
    ET.indent(root)
    # ET's prefix registry is process-wide and other libraries rewrite it (WeasyPrint registers
    # "" for its PDF metadata when it is imported): claim RSL's prefixes right before writing.
    ET.register_namespace("", RSL_NAMESPACE)
    ET.register_namespace(EXTENSION_PREFIX, EXTENSION_NAMESPACE)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def rsl_providers() -> list[str]:
    """Return the slugs of providers with at least one public offer."""
    provider_ids = {o.provider_id for o in list_published_offers(agent_id=None)}
    return sorted(accounts.organization_slugs(organization_ids=provider_ids).values())
