from pathlib import Path

import pytest
from django.test import Client
from lxml import etree

from licensing import services

pytestmark = pytest.mark.django_db

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "schemas" / "rsl-1.0.xsd")))
NS = {"rsl": "https://rslstandard.org/rsl"}


def test_rsl_document_lists_published_offers_and_validates(provider, make_collection, make_offer):
    news, archive = make_collection(provider), make_collection(provider)
    per_use = make_offer(provider, [news], price_micros=2500, territories=("US", "CA"))
    make_offer(
        provider,
        [archive],
        name="Open",
        payment_type="attribution",
        price_micros=0,
        price_unit="none",
        usage_types=("ai-input", "search"),
    )
    make_offer(provider, [news], name="Draft", publish=False)

    response = Client().get(f"/rsl/{provider.slug}.xml", HTTP_HOST="provenant.example")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/rsl+xml"
    tree = etree.fromstring(response.content)
    SCHEMA.assertValid(tree)
    contents = tree.findall("rsl:content", NS)
    assert len(contents) == 2
    paid = next(c for c in contents if str(news.id) in c.get("url"))
    assert paid.get("url") == (
        f"http://provenant.example/api/v1/collections/{news.id}/documents/*/content"
    )
    assert paid.get("server") == f"http://provenant.example/api/v1/market/offers/{per_use.id}"
    assert paid.find("rsl:license/rsl:permits[@type='usage']", NS).text == "ai-input"
    assert paid.find("rsl:license/rsl:permits[@type='geo']", NS).text == "US CA"
    amount = paid.find("rsl:license/rsl:payment[@type='use']/rsl:amount", NS)
    assert (amount.text, amount.get("currency")) == ("0.0025", "USD")
    free = next(c for c in contents if str(archive.id) in c.get("url"))
    assert free.find("rsl:license/rsl:payment", NS).get("type") == "attribution"
    assert free.find("rsl:license/rsl:legal", NS).get("type") == "attribution"


def test_every_payment_type_produces_a_valid_document(provider, make_collection, make_offer):
    collection = make_collection(provider)
    variants = [
        {"payment_type": "free", "price_micros": 0, "price_unit": "none"},
        {"payment_type": "use", "price_micros": 1000, "price_unit": "1k_tokens"},
        {
            "payment_type": "subscription",
            "price_micros": 50_000_000,
            "period": "month",
            "price_unit": "period",
        },
        {
            "payment_type": "revenue_share",
            "price_micros": 0,
            "price_unit": "none",
            "revenue_share_bps": 2500,
        },
        {
            "payment_type": "purchase",
            "price_micros": 900_000_000,
            "usage_types": ("ai-train",),
            "price_unit": "one_off",
        },
    ]
    for n, terms in enumerate(variants):
        make_offer(provider, [collection], name=f"v{n}", **terms)
    document = services.rsl_document(provider_slug=provider.slug, base_url="https://p.example")
    tree = etree.fromstring(document.encode())
    SCHEMA.assertValid(tree)
    types = [p.get("type") for p in tree.findall(".//rsl:payment", NS)]
    assert types == ["free", "use", "subscription", "use", "purchase"]


def test_unknown_provider_is_404():
    response = Client().get("/rsl/nobody.xml")
    assert response.status_code == 404


def test_robots_txt_lists_providers_with_published_offers(
    provider, make_org, make_collection, make_offer
):
    silent, _ = make_org(roles=("provider",))
    make_offer(provider, [make_collection(provider)])
    make_offer(silent, [make_collection(silent)], publish=False)

    response = Client().get("/robots.txt", HTTP_HOST="provenant.example")

    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "User-agent: *",
        "Allow: /",
        "",
        f"License: http://provenant.example/rsl/{provider.slug}.xml",
    ]
