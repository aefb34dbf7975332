"""Private offers and deny lists: an agent sees only offers it may accept; nobody sees the lists."""

import pytest
from django.test import Client
from lxml import etree

from catalog.models import Document
from licensing import errors, services
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

NS = {"rsl": "https://rslstandard.org/rsl"}


@pytest.fixture
def stranger(make_org):
    org, _owner = make_org(roles=("agent",), name="Stranger Bots")
    return org


@pytest.fixture
def client_of(key_client):
    def make(org):
        return key_client(org, scopes=["licensing", "query"])

    return make


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [o["id"] for o in response.json()]


def test_a_private_offer_is_listed_only_to_the_agents_it_names(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    public = make_offer(provider, [make_collection(provider)], name="Public")
    private = make_offer(
        provider, [make_collection(provider)], name="Private", allowed_agent_org_ids=(agent.id,)
    )

    assert _ids(client_of(agent).get("/api/v1/market/offers")) == [str(private.id), str(public.id)]
    assert _ids(client_of(stranger).get("/api/v1/market/offers")) == [str(public.id)]
    assert [o.id for o in services.list_published_offers(agent_id=stranger.id)] == [public.id]


def test_an_offer_is_not_listed_to_the_agent_it_denies(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    denying = make_offer(provider, [make_collection(provider)], denied_agent_org_ids=(agent.id,))

    assert _ids(client_of(agent).get("/api/v1/market/offers")) == []
    assert _ids(client_of(stranger).get("/api/v1/market/offers")) == [str(denying.id)]


def test_market_listings_never_show_allow_or_deny_lists(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    offer = make_offer(
        provider,
        [make_collection(provider)],
        allowed_agent_org_ids=(agent.id, provider.id),
        denied_agent_org_ids=(stranger.id,),
    )

    listing = client_of(agent).get("/api/v1/market/offers").json()
    detail = client_of(agent).get(f"/api/v1/market/offers/{offer.id}").json()

    for body in (listing[0], detail):
        assert body["id"] == str(offer.id)
        assert "allowed_agent_org_ids" not in body["terms"]
        assert "denied_agent_org_ids" not in body["terms"]
    (info,) = services.list_published_offers(agent_id=agent.id)
    assert (info.terms.allowed_agent_org_ids, info.terms.denied_agent_org_ids) == ((), ())
    assert str(stranger.id) not in str(listing) + str(detail)


def test_the_provider_still_sees_its_lists_in_its_own_offer_endpoints(
    provider, agent, stranger, make_collection, make_offer, key_client
):
    offer = make_offer(
        provider,
        [make_collection(provider)],
        allowed_agent_org_ids=(agent.id,),
        denied_agent_org_ids=(stranger.id,),
    )
    own = key_client(provider, scopes=["licensing"])

    detail = own.get(f"/api/v1/offers/{offer.id}").json()

    assert detail["terms"]["allowed_agent_org_ids"] == [str(agent.id)]
    assert detail["terms"]["denied_agent_org_ids"] == [str(stranger.id)]
    assert own.get("/api/v1/offers").json()[0]["terms"]["allowed_agent_org_ids"] == [str(agent.id)]


def test_an_offer_an_agent_may_not_see_is_404_to_detail_quote_and_accept(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    collection = make_collection(provider)
    private = make_offer(provider, [collection], name="Private", allowed_agent_org_ids=(agent.id,))
    denying = make_offer(
        provider, [collection], name="Denying", denied_agent_org_ids=(stranger.id,)
    )
    client = client_of(stranger)

    for offer in (private, denying):
        base = f"/api/v1/market/offers/{offer.id}"
        for response in (
            client.get(base),
            client.post(f"{base}/quote", {"sources": 1}, format="json"),
            client.post(f"{base}/accept", {}, format="json"),
        ):
            assert response.status_code == 404
            assert response.json() == {
                "code": "not_found",
                "message": "Offer not found.",
                "details": {},
            }
    assert LicenseAgreement.objects.count() == 0
    with pytest.raises(errors.NotFound):
        services.quote(**acting_for(stranger), offer_id=private.id)
    with pytest.raises(errors.NotFound):
        services.get_market_offer(**acting_for(stranger), offer_id=denying.id)


def test_an_agent_on_the_allow_list_quotes_and_accepts_the_private_offer(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    private = make_offer(
        provider, [make_collection(provider)], allowed_agent_org_ids=(agent.id, stranger.id)
    )
    base = f"/api/v1/market/offers/{private.id}"

    quote = client_of(agent).post(f"{base}/quote", {"sources": 2}, format="json")
    accepted = client_of(agent).post(f"{base}/accept", {}, format="json")
    agreements = client_of(agent).get("/api/v1/agreements").json()

    assert (quote.status_code, quote.json()["amount_micros"]) == (200, 4000)
    assert accepted.status_code == 201
    terms = agreements[0]["offer"]["terms"]
    assert "allowed_agent_org_ids" not in terms
    assert str(stranger.id) not in str(agreements) + str(accepted.json())
    (agreement,) = services.list_agreements(**acting_for(agent))
    assert agreement.offer.terms.allowed_agent_org_ids == ()


# -- full content: 402 only for content an agent could license -----------------------------------


def _content(client, document_id):
    return client.get(f"/api/v1/documents/{document_id}/content")


def _missing_body(client) -> dict:
    response = _content(client, 987_654_321)
    assert response.status_code == 404
    return response.json()


def test_a_document_under_no_offer_is_404_exactly_like_a_missing_one(
    provider, agent, make_collection, make_offer, client_of
):
    unpublished = make_collection(provider)
    make_offer(provider, [unpublished], name="Draft", publish=False)
    document = Document.objects.get(collection=unpublished)
    client = client_of(agent)

    response = _content(client, document.id)

    assert response.status_code == 404
    assert response.json() == _missing_body(client)
    assert response.json() == {"code": "not_found", "message": "Document not found.", "details": {}}
    assert "Link" not in response
    assert "crawler-price" not in response
    assert (UsageEvent.objects.count(), AnswerRecord.objects.count()) == (0, 0)


def test_a_document_under_an_offer_the_agent_may_not_see_is_404(
    provider, agent, stranger, make_collection, make_offer, client_of
):
    private, denying = make_collection(provider), make_collection(provider)
    make_offer(provider, [private], name="Private", allowed_agent_org_ids=(agent.id,))
    make_offer(provider, [denying], name="Denying", denied_agent_org_ids=(stranger.id,))
    client = client_of(stranger)

    for collection in (private, denying):
        document = Document.objects.get(collection=collection)
        response = client.get(
            f"/api/v1/documents/{document.id}/content", HTTP_CRAWLER_MAX_PRICE="USD 1"
        )
        assert response.status_code == 404
        assert response.json() == _missing_body(client)
    assert (LicenseAgreement.objects.count(), UsageEvent.objects.count()) == (0, 0)


def test_a_document_under_an_offer_the_agent_may_accept_is_402_listing_only_that_offer(
    provider, agent, make_collection, make_offer, client_of
):
    collection = make_collection(provider)
    private = make_offer(
        provider, [collection], name="Private", allowed_agent_org_ids=(agent.id,), price_micros=900
    )
    make_offer(provider, [collection], name="Not you", denied_agent_org_ids=(agent.id,))
    document = Document.objects.get(collection=collection)

    response = _content(client_of(agent), document.id)

    assert response.status_code == 402
    details = response.json()["details"]
    assert (details["offers"], details["offer_id"]) == ([str(private.id)], str(private.id))
    assert response["crawler-price"] == "USD 0.000900"


def test_a_crawler_price_buys_a_private_offer_for_an_agent_it_names(
    provider, agent, make_collection, make_offer, client_of
):
    collection = make_collection(provider)
    private = make_offer(
        provider, [collection], allowed_agent_org_ids=(agent.id,), price_micros=900
    )
    document = Document.objects.get(collection=collection)

    response = client_of(agent).get(
        f"/api/v1/documents/{document.id}/content", HTTP_CRAWLER_MAX_PRICE="USD 0.001"
    )

    assert response.status_code == 200
    assert LicenseAgreement.objects.get().offer_id == private.id
    assert UsageEvent.objects.get().amount_micros == 900


def test_a_document_the_agent_is_licensed_for_stays_readable_after_the_offer_is_retired(
    provider, agent, make_collection, make_offer, client_of
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection])
    services.accept_offer(**acting_for(agent), offer_id=offer.id)
    services.retire_offer(**acting_for(provider), offer_id=offer.id)
    document = Document.objects.get(collection=collection)

    assert _content(client_of(agent), document.id).status_code == 200


# -- RSL and robots.txt: public documents list only public offers --------------------------------


def test_rsl_document_leaves_out_private_offers_and_never_names_agents(
    provider, agent, stranger, make_collection, make_offer
):
    public, private = make_collection(provider), make_collection(provider)
    make_offer(provider, [public], name="Public", denied_agent_org_ids=(stranger.id,))
    make_offer(provider, [private], name="Private", allowed_agent_org_ids=(agent.id,))

    response = Client().get(f"/rsl/{provider.slug}.xml", HTTP_HOST="provenant.example")

    text = response.content.decode()
    urls = [c.get("url") for c in etree.fromstring(response.content).findall("rsl:content", NS)]
    assert urls == [f"http://provenant.example/api/v1/collections/{public.id}/documents/*/content"]
    assert str(agent.id) not in text
    assert str(stranger.id) not in text


def test_robots_txt_leaves_out_providers_whose_offers_are_all_private(
    provider, agent, make_collection, make_offer
):
    make_offer(provider, [make_collection(provider)], allowed_agent_org_ids=(agent.id,))

    response = Client().get("/robots.txt", HTTP_HOST="provenant.example")

    assert response.content.decode().splitlines() == ["User-agent: *", "Allow: /", ""]
