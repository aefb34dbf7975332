"""Crawlers without a key get 402 with the price and how to get a key, as pay-per-crawl does."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Document
from licensing.models import AnswerRecord, LicenseAgreement

pytestmark = pytest.mark.django_db

SUBSCRIPTION = {
    "payment_type": "subscription",
    "price_micros": 49_000_000,
    "price_unit": "period",
    "period": "month",
}
REVENUE_SHARE = {
    "payment_type": "revenue_share",
    "price_micros": 0,
    "price_unit": "none",
    "revenue_share_bps": 2000,
}


def _document(collection) -> Document:
    return Document.objects.get(collection=collection)


def _anonymous(path: str, **headers):
    return APIClient().get(path, HTTP_HOST="provenant.example", **headers)


def test_an_anonymous_request_for_licensed_content_is_402_with_the_price_and_how_to_get_a_key(
    provider, make_collection, make_offer
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], price_micros=3000)
    document = _document(collection)

    response = _anonymous(f"/api/v1/documents/{document.id}/content")

    assert response.status_code == 402
    assert response["crawler-price"] == "USD 0.003000"
    assert response["WWW-Authenticate"] == 'Bearer realm="provenant"'
    rsl = f"http://provenant.example/rsl/{provider.slug}.xml"
    assert response["Link"] == f'<{rsl}>; rel="license"; type="application/rsl+xml"'
    body = response.json()
    assert body["code"] == "payment_required"
    assert "Sign up for an API key" in body["message"]
    details = body["details"]
    assert {k: details[k] for k in ("offer_id", "payment_type", "price_micros", "currency")} == {
        "offer_id": str(offer.id),
        "payment_type": "use",
        "price_micros": 3000,
        "currency": "USD",
    }
    assert (details["price_unit"], details["units"], details["unit_price_micros"]) == (
        "retrieved_source",
        1,
        3000,
    )
    assert details["offers"] == [str(offer.id)]
    assert details["terms"][0]["accept_url"] == f"/api/v1/market/offers/{offer.id}/accept"
    assert details["terms"][0]["fetch_price_micros"] == 3000
    assert details["signup_url"] == "http://provenant.example/signup/"
    assert details["docs_url"] == "http://provenant.example/api/docs/"
    assert details["rsl_url"] == rsl
    assert document.text not in response.content.decode()
    assert (AnswerRecord.objects.count(), LicenseAgreement.objects.count()) == (0, 0)


def test_the_collection_scoped_url_answers_anonymous_crawlers_the_same(
    provider, make_collection, make_offer
):
    collection, other = make_collection(provider), make_collection(provider)
    make_offer(provider, [collection], price_micros=3000)
    document = _document(collection)

    scoped = _anonymous(f"/api/v1/collections/{collection.id}/documents/{document.id}/content")
    elsewhere = _anonymous(f"/api/v1/collections/{other.id}/documents/{document.id}/content")

    assert scoped.status_code == 402
    assert scoped["crawler-price"] == "USD 0.003000"
    assert elsewhere.status_code == 404


def test_a_per_token_price_is_this_documents_price_in_tokens(provider, make_collection, make_offer):
    collection = make_collection(provider)
    make_offer(provider, [collection], price_micros=1500, price_unit="1k_tokens")

    response = _anonymous(f"/api/v1/documents/{_document(collection).id}/content")

    details = response.json()["details"]
    # 12 tokens at 1,500 micros per 1,000 tokens: 18 micros, rounded half up.
    assert (details["price_micros"], details["units"], details["unit_price_micros"]) == (
        18,
        12,
        1500,
    )
    assert response["crawler-price"] == "USD 0.000018"


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "agent"])
def test_a_subscription_402_carries_its_price_and_period(
    provider, agent, key_client, make_collection, make_offer, signed_in
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], name="Monthly", **SUBSCRIPTION)
    client = key_client(agent) if signed_in else APIClient()

    response = client.get(f"/api/v1/documents/{_document(collection).id}/content")

    assert response.status_code == 402
    details = response.json()["details"]
    assert {
        k: details[k]
        for k in ("offer_id", "payment_type", "price_micros", "price_unit", "units", "period")
    } == {
        "offer_id": str(offer.id),
        "payment_type": "subscription",
        "price_micros": 49_000_000,
        "price_unit": "period",
        "units": 1,
        "period": "month",
    }
    assert "crawler-price" not in response  # a subscription is not paid per fetch


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "agent"])
def test_a_revenue_share_402_carries_its_share(
    provider, agent, key_client, make_collection, make_offer, signed_in
):
    collection = make_collection(provider)
    make_offer(provider, [collection], name="Share", **REVENUE_SHARE)
    client = key_client(agent) if signed_in else APIClient()

    response = client.get(f"/api/v1/documents/{_document(collection).id}/content")

    details = response.json()["details"]
    assert (details["payment_type"], details["price_micros"], details["revenue_share_bps"]) == (
        "revenue_share",
        0,
        2000,
    )
    assert details["terms"][0]["revenue_share_bps"] == 2000
    assert details["terms"][0]["fetch_price_micros"] is None
    assert "crawler-price" not in response


def test_a_402_names_the_per_use_offer_and_lists_every_offer_with_its_terms(
    provider, make_collection, make_offer
):
    collection = make_collection(provider)
    monthly = make_offer(provider, [collection], name="A monthly", **SUBSCRIPTION)
    per_use = make_offer(provider, [collection], name="B per source", price_micros=4000)
    share = make_offer(provider, [collection], name="C share", **REVENUE_SHARE)

    response = _anonymous(f"/api/v1/documents/{_document(collection).id}/content")

    details = response.json()["details"]
    assert (details["offer_id"], response["crawler-price"]) == (str(per_use.id), "USD 0.004000")
    assert [
        (t["offer_id"], t["payment_type"], t["price_micros"], t["period"], t["revenue_share_bps"])
        for t in details["terms"]
    ] == [
        (str(monthly.id), "subscription", 49_000_000, "month", 0),
        (str(per_use.id), "use", 4000, "", 0),
        (str(share.id), "revenue_share", 0, "", 2000),
    ]


def test_content_no_public_offer_covers_is_404_to_anonymous_crawlers_like_a_missing_id(
    provider, agent, make_collection, make_offer
):
    private, draft = make_collection(provider), make_collection(provider)
    make_offer(provider, [private], allowed_agent_org_ids=(agent.id,))
    make_offer(provider, [draft], publish=False)

    missing = _anonymous("/api/v1/documents/999999/content")
    for collection in (private, draft):
        response = _anonymous(f"/api/v1/documents/{_document(collection).id}/content")
        assert (response.status_code, response.json()) == (404, missing.json())
    assert missing.json()["code"] == "not_found"


def test_a_wrong_key_is_still_401(provider, make_collection, make_offer):
    collection = make_collection(provider)
    make_offer(provider, [collection])

    response = _anonymous(
        f"/api/v1/documents/{_document(collection).id}/content",
        HTTP_AUTHORIZATION="Bearer pvk_not_a_key",
    )

    assert response.status_code == 401


def test_an_unknown_usage_type_is_400_for_anonymous_crawlers(provider, make_collection, make_offer):
    collection = make_collection(provider)
    make_offer(provider, [collection])

    response = _anonymous(f"/api/v1/documents/{_document(collection).id}/content?usage_type=x")

    assert response.status_code == 400
