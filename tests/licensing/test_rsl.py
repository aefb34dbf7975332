import io

import pytest
from django.core.management import call_command
from django.test import Client

from licensing import services
from licensing.models import LicenseOffer
from tests.licensing.rsl_grammar import NS, InvalidRSL, valid_rsl

pytestmark = pytest.mark.django_db

RSL_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<rsl xmlns="https://rslstandard.org/rsl">
  <content url="https://p.example/a/*">
    <license>
      <permits type="usage">ai-input</permits>
      <payment type="{payment}"/>
      {legal}
    </license>
  </content>
  {second}
</rsl>"""
SECOND_CONTENT = (
    '<content url="https://p.example/a/*"><license><payment type="free"/></license></content>'
)


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
    tree = valid_rsl(response.content)
    contents = tree.findall("rsl:content", NS)
    assert len(contents) == 2
    paid = next(c for c in contents if str(news.id) in c.get("url"))
    assert paid.get("url") == (
        f"http://provenant.example/api/v1/collections/{news.id}/documents/*/content"
    )
    assert paid.get("server") == (
        f"http://provenant.example/api/v1/market/offers?collection={news.id}"
    )
    assert paid.find("rsl:license/rsl:permits[@type='usage']", NS).text == "ai-input"
    assert paid.find("rsl:license/rsl:permits[@type='geo']", NS).text == "US CA"
    payment = paid.find("rsl:license/rsl:payment[@type='use']", NS)
    amount = payment.find("rsl:amount", NS)
    assert (amount.text, amount.get("currency")) == ("0.0025", "USD")
    assert payment.find("provenant:price-unit", NS).text == "retrieved_source"
    assert payment.find("rsl:custom", NS).text == (
        f"http://provenant.example/api/v1/market/offers/{per_use.id}"
    )
    free = next(c for c in contents if str(archive.id) in c.get("url"))
    assert free.find("rsl:license/rsl:payment", NS).get("type") == "attribution"
    assert free.find("rsl:license/rsl:legal", NS) is None  # attribution is a payment, not legal
    assert free.find("rsl:license/provenant:citation-required", NS).text == "true"


def test_a_collection_with_two_offers_is_one_content_with_two_licenses(
    provider, make_collection, make_offer
):
    collection = make_collection(provider)
    make_offer(provider, [collection], name="A per source", price_micros=2000)
    make_offer(
        provider,
        [collection],
        name="B free",
        payment_type="free",
        price_micros=0,
        price_unit="none",
        usage_types=("search",),
    )

    tree = valid_rsl(services.rsl_document(provider_slug=provider.slug, base_url="https://p"))

    (content,) = tree.findall("rsl:content", NS)
    licenses = content.findall("rsl:license", NS)
    assert [lic.find("rsl:payment", NS).get("type") for lic in licenses] == ["use", "free"]
    assert [lic.find("rsl:permits", NS).text for lic in licenses] == ["ai-input", "search"]


def test_every_payment_type_produces_a_valid_document_with_its_real_terms(
    provider, make_collection, make_offer
):
    collection = make_collection(provider)
    variants = [
        {"payment_type": "free", "price_micros": 0, "price_unit": "none"},
        {"payment_type": "attribution", "price_micros": 0, "price_unit": "none"},
        {"payment_type": "use", "price_micros": 1000, "price_unit": "1k_tokens"},
        {"payment_type": "use", "price_micros": 5000, "price_unit": "cited_source"},
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
        make_offer(provider, [collection], name=f"v{n}", max_snippet_chars=300, **terms)

    document = services.rsl_document(provider_slug=provider.slug, base_url="https://p.example")

    tree = valid_rsl(document)
    payments = tree.findall(".//rsl:payment", NS)
    assert [p.get("type") for p in payments] == [
        "free",
        "attribution",
        "use",
        "use",
        "subscription",
        "provenant:revenue-share",
        "purchase",
    ]

    def terms_of(payment):
        amount = payment.find("rsl:amount", NS)
        return (
            amount.text if amount is not None else None,
            payment.findtext("provenant:price-unit", namespaces=NS),
            payment.findtext("provenant:period", namespaces=NS),
            payment.findtext("provenant:revenue-share-bps", namespaces=NS),
        )

    assert [terms_of(p) for p in payments] == [
        (None, None, None, None),
        (None, None, None, None),
        ("0.001", "1k_tokens", None, None),
        ("0.005", "cited_source", None, None),
        ("50.0", "period", "month", None),
        (None, None, None, "2500"),
        ("900.0", "one_off", None, None),
    ]
    assert 'xmlns:provenant="https://provenant.dev/ns/rsl/1"' in document
    limits = tree.findall(".//rsl:license/provenant:max-snippet-chars", NS)
    assert [limit.text for limit in limits] == ["300"] * len(variants)


def test_every_demo_providers_rsl_document_is_valid(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    client = Client(HTTP_HOST="provenant.example")
    licences = client.get("/robots.txt").content.decode().splitlines()[3:]

    payment_types = set()
    for line in licences:
        path = line.removeprefix("License: http://provenant.example")
        tree = valid_rsl(client.get(path).content)
        payment_types |= {p.get("type") for p in tree.findall(".//rsl:payment", NS)}

    assert len(licences) == 4
    published = LicenseOffer.objects.filter(status="published")
    assert published.count() == 8
    assert payment_types == {
        "use",
        "attribution",
        "purchase",
        "subscription",
        "free",
        "provenant:revenue-share",
    }


@pytest.mark.parametrize(
    ("payment", "legal", "second"),
    [
        ("attribution", '<legal type="attribution">Cite the source.</legal>', ""),
        ("revenue_share", "", ""),
        ("use", "", SECOND_CONTENT),
    ],
    ids=["attribution-is-not-a-legal-type", "unprefixed-extension", "two-contents-one-url"],
)
def test_the_grammar_refuses_what_rsl_1_0_does_not_allow(payment, legal, second):
    with pytest.raises(InvalidRSL):
        valid_rsl(RSL_DOCUMENT.format(payment=payment, legal=legal, second=second))
    valid_rsl(RSL_DOCUMENT.format(payment="use", legal="", second=""))


def test_a_provider_without_public_offers_has_no_rsl_document(
    provider, make_collection, make_offer
):
    make_offer(provider, [make_collection(provider)], publish=False)

    assert Client().get(f"/rsl/{provider.slug}.xml").status_code == 404


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


def test_a_training_licence_shows_its_purchase_price(provider, make_collection, make_offer):
    """A purchase (a training or dataset licence) is `<payment type="purchase">` with its price
    and currency, once (`one_off`), for the usages it permits; the document stays RSL 1.0."""
    archive = make_collection(provider)
    offer = make_offer(
        provider,
        [archive],
        name="Archive, training licence",
        payment_type="purchase",
        price_micros=1_500_000_000,
        price_unit="one_off",
        usage_types=("ai-train",),
    )

    document = services.rsl_document(provider_slug=provider.slug, base_url="https://p.example")

    tree = valid_rsl(document)
    (licence,) = tree.findall(".//rsl:license", NS)
    assert licence.findtext("rsl:permits[@type='usage']", namespaces=NS) == "ai-train"
    payment = licence.find("rsl:payment", NS)
    assert payment.get("type") == "purchase"
    amount = payment.find("rsl:amount", NS)
    assert (amount.text, amount.get("currency")) == ("1500.0", "USD")
    assert payment.findtext("provenant:price-unit", namespaces=NS) == "one_off"
    assert payment.findtext("rsl:custom", namespaces=NS) == (
        f"https://p.example/api/v1/market/offers/{offer.id}"
    )


def test_rsl_keeps_its_default_namespace_after_weasyprint_is_imported(
    provider, make_collection, make_offer
):
    """WeasyPrint registers the "" prefix in ElementTree's process-wide registry on import;
    RSL documents must still come out with RSL as their default namespace."""
    import weasyprint.pdf.metadata  # noqa: F401

    offer = make_offer(provider, [make_collection(provider)])
    text = services.rsl_for_offers(offers=[offer], base_url="https://p.example")

    assert '<rsl xmlns="https://rslstandard.org/rsl"' in text
    assert "ns0:" not in text
