import pytest

from catalog.models import Document
from licensing.models import AnswerRecord, LicenseAgreement, LicenseOffer, UsageEvent

pytestmark = pytest.mark.django_db

OFFER = {
    "name": "Grounding",
    "usage_types": ["ai-input"],
    "payment_type": "use",
    "price_micros": 2500,
    "price_unit": "retrieved_source",
}


@pytest.fixture
def provider_client(provider, key_client):
    return key_client(provider, scopes=["licensing", "catalog"])


@pytest.fixture
def agent_client(agent, key_client):
    return key_client(agent, scopes=["licensing", "query"])


def _create(client, collection, **changes):
    response = client.post(
        "/api/v1/offers",
        {**OFFER, "collection_ids": [str(collection.id)], **changes},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_provider_creates_publishes_and_edits_an_offer_into_a_new_version(
    provider_client, make_collection, provider
):
    collection = make_collection(provider)
    offer = _create(provider_client, collection)
    assert (offer["status"], offer["version"]) == ("draft", 1)

    published = provider_client.post(f"/api/v1/offers/{offer['id']}/publish").json()
    edited = provider_client.patch(
        f"/api/v1/offers/{offer['id']}", {"price_micros": 4000}, format="json"
    ).json()

    assert published["status"] == "published"
    assert (edited["version"], edited["versions"], edited["terms"]["price_micros"]) == (
        2,
        [1, 2],
        4000,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price_micros": -5}, "price_micros"),
        (
            {
                "payment_type": "revenue_share",
                "price_micros": 0,
                "price_unit": "none",
                "revenue_share_bps": 12_000,
            },
            "revenue_share_bps",
        ),
        ({"usage_types": ["ai-everything"]}, "usage_types"),
        ({"payment_type": "subscription", "price_unit": "period"}, "period"),
        ({"price_micros": "lots"}, "price_micros"),
        ({"collection_ids": []}, "collection_ids"),
        ({"collection_ids": ["not-a-uuid"]}, "collection_ids"),
        ({"name": "x" * 121}, "name"),
        ({"discount": 10}, "discount"),
    ],
)
def test_bad_offers_get_400_and_nothing_is_written(
    provider_client, make_collection, provider, changes, field
):
    collection = make_collection(provider)
    body = {**OFFER, "collection_ids": [str(collection.id)], **changes}
    response = provider_client.post("/api/v1/offers", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert LicenseOffer.objects.count() == 0


def test_another_providers_offers_and_collections_are_404(
    make_org, key_client, provider, provider_client, make_collection
):
    other, _ = make_org(roles=("provider",))
    other_client = key_client(other, scopes=["licensing"])
    theirs = _create(other_client, make_collection(other))

    for method, url in (
        ("get", f"/api/v1/offers/{theirs['id']}"),
        ("patch", f"/api/v1/offers/{theirs['id']}"),
        ("post", f"/api/v1/offers/{theirs['id']}/publish"),
        ("post", f"/api/v1/offers/{theirs['id']}/retire"),
    ):
        response = getattr(provider_client, method)(url, {"name": "mine"}, format="json")
        assert response.status_code == 404, url
    stolen = provider_client.post(
        "/api/v1/offers",
        {**OFFER, "collection_ids": [str(theirs["terms"]["collection_ids"][0])]},
        format="json",
    )
    assert stolen.status_code == 404
    assert LicenseOffer.objects.get(id=theirs["id"]).name == "Grounding"


def test_agent_browses_quotes_accepts_once_and_lists_agreements(
    provider_client, agent_client, provider, make_collection
):
    offer = _create(provider_client, make_collection(provider))
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")

    listing = agent_client.get("/api/v1/market/offers?usage_type=ai-input").json()
    quote = agent_client.post(
        f"/api/v1/market/offers/{offer['id']}/quote", {"sources": 4}, format="json"
    ).json()
    first = agent_client.post(f"/api/v1/market/offers/{offer['id']}/accept", {}, format="json")
    second = agent_client.post(f"/api/v1/market/offers/{offer['id']}/accept", {}, format="json")

    assert [o["id"] for o in listing] == [offer["id"]]
    assert (quote["units"], quote["amount_micros"], quote["currency"]) == (4, 10_000, "USD")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    agreements = agent_client.get("/api/v1/agreements").json()
    assert [a["id"] for a in agreements] == [first.json()["id"]]
    entitlements = agent_client.get("/api/v1/entitlements?usage_type=ai-input").json()
    assert entitlements[0]["agreement_id"] == first.json()["id"]


def test_draft_and_denying_offers_are_invisible_and_retired_offers_get_409(
    provider_client, agent_client, agent, provider, make_collection
):
    collection = make_collection(provider)
    draft = _create(provider_client, collection, name="Draft")
    retired = _create(provider_client, collection, name="Retired")
    denied = _create(
        provider_client, collection, name="Denied", denied_agent_org_ids=[str(agent.id)]
    )
    for offer in (retired, denied):
        provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    provider_client.post(f"/api/v1/offers/{retired['id']}/retire")

    for offer in (draft, denied):
        assert agent_client.get(f"/api/v1/market/offers/{offer['id']}").status_code == 404
        assert agent_client.post(f"/api/v1/market/offers/{offer['id']}/accept").status_code == 404
    response = agent_client.post(f"/api/v1/market/offers/{retired['id']}/accept")
    assert response.status_code == 409
    assert response.json()["code"] == "offer_not_acceptable"
    assert "retired" in response.json()["message"]
    assert LicenseAgreement.objects.count() == 0


def test_agents_cannot_see_or_cancel_each_others_agreements(
    make_org, key_client, provider_client, agent_client, provider, make_collection
):
    offer = _create(provider_client, make_collection(provider))
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    mine = agent_client.post(f"/api/v1/market/offers/{offer['id']}/accept").json()
    other, _ = make_org(roles=("agent",))
    other_client = key_client(other, scopes=["licensing"])

    assert other_client.get(f"/api/v1/agreements/{mine['id']}").status_code == 404
    assert other_client.post(f"/api/v1/agreements/{mine['id']}/cancel").status_code == 404
    assert other_client.get("/api/v1/agreements").json() == []
    assert LicenseAgreement.objects.get(id=mine["id"]).status == "active"
    cancelled = agent_client.post(f"/api/v1/agreements/{mine['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"


def test_roles_and_scopes_are_enforced(provider_client, agent_client, key_client, agent):
    assert agent_client.get("/api/v1/offers").status_code == 403
    assert provider_client.get("/api/v1/agreements").status_code == 403
    no_scope = key_client(agent, scopes=["query"])
    response = no_scope.get("/api/v1/agreements")
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


def test_content_is_402_without_a_licence_and_served_and_metered_with_one(
    provider_client, agent_client, provider, make_collection
):
    collection = make_collection(provider)
    document = Document.objects.get(collection=collection)
    offer = _create(provider_client, collection, price_micros=3000)
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    url = f"/api/v1/documents/{document.id}/content"

    refused = agent_client.get(url)
    assert refused.status_code == 402
    assert refused["crawler-price"] == "USD 0.003000"
    assert refused["Link"].endswith(
        f'/rsl/{provider.slug}.xml>; rel="license"; type="application/rsl+xml"'
    )
    assert refused.json()["details"]["offers"] == [offer["id"]]
    too_cheap = agent_client.get(url, HTTP_CRAWLER_MAX_PRICE="USD 0.002")
    assert too_cheap.status_code == 402
    assert UsageEvent.objects.count() == 0

    paid = agent_client.get(url, HTTP_CRAWLER_MAX_PRICE="USD 0.003")
    assert paid.status_code == 200
    assert paid.content.decode() == document.text
    assert paid["crawler-charged"] == "USD 0.003000"
    event = UsageEvent.objects.get()
    assert (event.amount_micros, event.document_id) == (3000, document.id)

    # The crawler price paid for that fetch only: no standing agreement was made.
    again = agent_client.get(url)
    assert again.status_code == 402
    assert UsageEvent.objects.count() == 1
    assert LicenseAgreement.objects.get().origin == "single_fetch"


def test_content_fetch_with_an_idempotency_key_is_metered_once(
    provider_client, agent_client, provider, make_collection
):
    collection = make_collection(provider)
    document = Document.objects.get(collection=collection)
    offer = _create(provider_client, collection, auto_accept=True)
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    url = f"/api/v1/collections/{collection.id}/documents/{document.id}/content"
    for _ in range(3):
        assert agent_client.get(url, HTTP_IDEMPOTENCY_KEY="fetch-1").status_code == 200
    assert AnswerRecord.objects.count() == 1
    wrong_collection = f"/api/v1/collections/{provider.id}/documents/{document.id}/content"
    assert agent_client.get(wrong_collection).status_code == 404


def _two_paid_documents(provider_client, provider, make_collection):
    collection = make_collection(provider, documents=2)
    offer = _create(provider_client, collection, auto_accept=True)
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    return list(Document.objects.filter(collection=collection).order_by("id"))


def test_an_idempotency_key_reused_on_another_document_is_422_and_serves_nothing(
    provider_client, agent_client, provider, make_collection
):
    first, second = _two_paid_documents(provider_client, provider, make_collection)
    headers = {"HTTP_IDEMPOTENCY_KEY": "fetch-1"}
    paid = agent_client.get(f"/api/v1/documents/{first.id}/content", **headers)
    assert paid.status_code == 200
    assert paid["crawler-charged"] == "USD 0.002500"

    reused = agent_client.get(f"/api/v1/documents/{second.id}/content", **headers)

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert second.text.encode() not in reused.content
    assert "crawler-charged" not in reused
    assert list(UsageEvent.objects.values_list("document_id", "amount_micros")) == [
        (first.id, 2500)
    ]


def test_an_idempotency_key_reused_with_another_query_is_422(
    provider_client, agent_client, provider, make_collection
):
    first, _ = _two_paid_documents(provider_client, provider, make_collection)
    url = f"/api/v1/documents/{first.id}/content"
    assert agent_client.get(url, HTTP_IDEMPOTENCY_KEY="fetch-2").status_code == 200

    other = agent_client.get(url, {"usage_type": "search"}, HTTP_IDEMPOTENCY_KEY="fetch-2")

    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert AnswerRecord.objects.count() == 1


def test_a_retried_content_fetch_is_served_again_and_charged_once(
    provider_client, agent_client, provider, make_collection
):
    first, _ = _two_paid_documents(provider_client, provider, make_collection)
    url = f"/api/v1/documents/{first.id}/content"

    responses = [agent_client.get(url, HTTP_IDEMPOTENCY_KEY="fetch-3") for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].content.decode() == first.text
    assert responses[1]["X-Request-Id"] == responses[0]["X-Request-Id"]
    assert responses[1]["crawler-charged"] == "USD 0.002500"  # the one charge, restated
    assert UsageEvent.objects.count() == 1
    assert LicenseAgreement.objects.get().spent_micros == 2500


@pytest.mark.parametrize("length", [56, 64, 100, 255])
def test_content_idempotency_keys_up_to_the_documented_maximum_are_accepted(
    provider_client, agent_client, provider, make_collection, length
):
    first, _ = _two_paid_documents(provider_client, provider, make_collection)

    response = agent_client.get(
        f"/api/v1/documents/{first.id}/content", HTTP_IDEMPOTENCY_KEY="k" * length
    )

    assert response.status_code == 200
    assert AnswerRecord.objects.get().request_id == response["X-Request-Id"]
    # It fits its column (PostgreSQL refuses a longer one: a 500 once a key passed 55).
    assert len(response["X-Request-Id"]) <= AnswerRecord._meta.get_field("request_id").max_length


def test_a_content_idempotency_key_over_the_maximum_is_400(
    provider_client, agent_client, provider, make_collection
):
    first, _ = _two_paid_documents(provider_client, provider, make_collection)

    response = agent_client.get(
        f"/api/v1/documents/{first.id}/content", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert AnswerRecord.objects.count() == 0


def test_a_refused_content_fetch_releases_its_key(
    provider_client, agent_client, provider, make_collection
):
    collection = make_collection(provider)
    document = Document.objects.get(collection=collection)
    offer = _create(provider_client, collection)  # not auto-accepted: 402 without a price
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    url = f"/api/v1/documents/{document.id}/content"

    refused = agent_client.get(url, HTTP_IDEMPOTENCY_KEY="fetch-4")
    paid = agent_client.get(url, HTTP_IDEMPOTENCY_KEY="fetch-4", HTTP_CRAWLER_MAX_PRICE="USD 1")

    assert (refused.status_code, paid.status_code) == (402, 200)
    assert UsageEvent.objects.count() == 1


def test_usage_listings_show_each_side_only_its_own(
    make_org, key_client, provider_client, agent_client, provider, make_collection
):
    collection = make_collection(provider)
    document = Document.objects.get(collection=collection)
    offer = _create(provider_client, collection, auto_accept=True)
    provider_client.post(f"/api/v1/offers/{offer['id']}/publish")
    agent_client.get(f"/api/v1/documents/{document.id}/content")

    agent_events = agent_client.get("/api/v1/usage/events").json()["results"]
    provider_events = provider_client.get("/api/v1/provider/usage/events").json()["results"]
    other, _ = make_org(roles=("agent", "provider"))
    other_client = key_client(other, scopes=["licensing"])

    assert [e["amount_micros"] for e in agent_events] == [2500]
    assert [e["id"] for e in provider_events] == [agent_events[0]["id"]]
    assert other_client.get("/api/v1/usage/events").json()["results"] == []
    assert other_client.get("/api/v1/provider/usage/events").json()["results"] == []
    bad = agent_client.get("/api/v1/usage/events?limit=100000")
    assert bad.status_code == 400
