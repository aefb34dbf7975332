"""The market speaks in names: offers come with their provider's slug, their collections
described (document counts, a sample passage) and their terms in plain words, and filter by
provider slug and topic."""

import pytest

from accounts.models import Organization
from catalog.models import Collection, Document
from licensing import services
from licensing.services.offers import OfferTerms

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(agent, key_client):
    return key_client(agent, scopes=["licensing", "query"])


def _market(client, query=""):
    response = client.get(f"/api/v1/market/offers{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_offer_shows_its_provider_collections_and_terms_in_words(
    agent_client, provider, make_collection, make_offer
):
    tides = make_collection(provider, name="Tides", documents=3)
    Collection.objects.filter(id=tides.id).update(description="The sea, daily.", topics=["ocean"])
    Document.objects.filter(collection=tides, external_id="doc-2").update(status="duplicate")
    make_offer(
        provider,
        [tides],
        price_micros=5_000,
        price_unit="cited_source",
        citation_required=True,
        max_snippet_chars=30,
    )

    [offer] = _market(agent_client)

    assert offer["provider_slug"] == Organization.objects.get(id=provider.id).slug
    [collection] = offer["collections"]
    assert (collection["name"], collection["description"], collection["topics"]) == (
        "Tides",
        "The sea, daily.",
        ["ocean"],
    )
    assert collection["document_count"] == 2  # the copy held out is not counted
    assert collection["sample_passage"] == "Document 0 of Tides. It…"  # within 30 characters
    assert offer["explanation"] == (
        "Pay 0.005 USD for each source an answer cites. For grounding answers. "
        "Citation required. Quotes up to 30 characters."
    )


def test_offers_filter_by_provider_slug_or_id_and_by_topic(
    agent_client, provider, make_org, make_collection, make_offer
):
    other, _ = make_org(roles=("provider",), name="Meridian Health")
    mine = make_collection(provider, name="Tides")
    Collection.objects.filter(id=mine.id).update(topics=["Ocean", "moon"])
    make_offer(provider, [mine], name="Tides per use")
    make_offer(other, [make_collection(other, name="Hearts")], name="Hearts per use")
    slug = Organization.objects.get(id=provider.id).slug

    by_slug = _market(agent_client, f"?provider={slug}")
    by_id = _market(agent_client, f"?provider={provider.id}")
    by_topic = _market(agent_client, "?topic=ocean")

    assert [o["name"] for o in by_slug] == ["Tides per use"]
    assert [o["name"] for o in by_id] == ["Tides per use"]
    assert [o["name"] for o in by_topic] == ["Tides per use"]
    assert _market(agent_client, "?provider=no-such-provider") == []
    assert _market(agent_client, "?topic=volcanoes") == []
    assert len(_market(agent_client)) == 2


def test_a_bad_market_filter_is_a_400(agent_client):
    too_long = agent_client.get("/api/v1/market/offers?provider=" + "x" * 200)
    bad_collection = agent_client.get("/api/v1/market/offers?collection=not-a-uuid")

    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid"
    assert bad_collection.status_code == 400


def test_the_market_listing_does_not_query_per_offer(
    agent_client, provider, make_collection, make_offer, django_assert_max_num_queries
):
    for n in range(2):
        make_offer(provider, [make_collection(provider, documents=2)], name=f"Offer {n}")
    _market(agent_client)  # warm the key and entitlement caches
    with django_assert_max_num_queries(12) as few:
        _market(agent_client)
    for n in range(2, 8):
        make_offer(provider, [make_collection(provider, documents=2)], name=f"Offer {n}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(_market(agent_client)) == 8


@pytest.mark.parametrize(
    ("terms", "words"),
    [
        ({"payment_type": "free"}, "Free. For grounding answers."),
        (
            {"payment_type": "attribution", "usage_types": ("ai-input", "search")},
            "Free, with attribution to the source. For grounding answers and search. "
            "Citation required.",
        ),
        (
            {"payment_type": "use", "price_micros": 1_000, "price_unit": "1k_tokens"},
            "Pay 0.001 USD for each 1,000 tokens of content an answer uses. For grounding answers.",
        ),
        (
            {
                "payment_type": "subscription",
                "price_micros": 49_000_000,
                "price_unit": "period",
                "period": "month",
            },
            "49 USD a month, paid from your wallet when you accept and at each renewal; "
            "no charge per answer. For grounding answers.",
        ),
        (
            {
                "payment_type": "revenue_share",
                "revenue_share_bps": 2_050,
                "revenue_share_min_micros": 100,
                "territories": ("US", "GB"),
            },
            "20.5% of the revenue your answers earn (as you declare it), split between sources "
            "by how much each contributed; at least 0.0001 USD a use. For grounding answers. "
            "Only in US and GB.",
        ),
        (
            {
                "payment_type": "purchase",
                "price_micros": 1_500_000_000,
                "price_unit": "one_off",
                "usage_types": ("ai-train",),
            },
            "1,500 USD once, paid when you accept; a dataset export of the collections. "
            "For AI training.",
        ),
    ],
)
def test_terms_in_plain_words(terms, words):
    defaults = {"collection_ids": (), "usage_types": ("ai-input",)}
    assert services.explain_terms(OfferTerms(**(defaults | terms))) == words
