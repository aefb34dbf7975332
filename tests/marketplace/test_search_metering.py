"""Search snippets are a licensed, metered use of their own (usage type `search`)."""

import pytest

from catalog import services as catalog_services
from catalog.models import Collection
from licensing import services as licensing
from licensing.models import AnswerRecord, UsageEvent
from marketplace.mcp import tools
from tests.acting import acting_for
from tests.marketplace.conftest import _offer, add_document

pytestmark = pytest.mark.django_db

TIDES = (
    "Tides and the moon",
    "Tides rise and fall twice a day because the moon's gravity pulls the oceans into two "
    "bulges. Spring tides come at new and full moon, when the sun and moon pull together; neap "
    "tides come at the quarter moons, when they pull at right angles. In freezing weather, sea "
    "ice near the poles can weaken the tides.",
)


@pytest.fixture
def grounding_only(market, make_org):
    """A collection the agent licenses for answers (`ai-input`) but not for search."""
    provider, _ = make_org(roles=("provider",), name="Tidewater Almanac")
    collection = Collection.objects.create(organization=provider, name="Tides")
    document = add_document(collection, *TIDES)
    catalog_services.index_pending_documents()
    offer = _offer(
        provider,
        [collection],
        "Answers only",
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=3000,
        price_unit="retrieved_source",
    )
    licensing.accept_offer(**acting_for(market.agent), offer_id=offer.id)
    return document, offer


def test_a_per_cited_source_offer_charges_each_snippet_a_search_shows(market, agent_client):
    licensing.accept_offer(**acting_for(market.agent), offer_id=market.canals_offer.id)

    body = agent_client.get("/api/v1/search", {"q": "Panama Canal locks"}).json()

    assert [r["license"]["offer_id"] for r in body["results"]] == [str(market.canals_offer.id)]
    (result,) = body["results"]
    assert (result["cited"], result["snippet_licensed"]) == (True, True)
    assert result["price"] == {"units": 1, "amount_micros": 5000, "currency": "USD"}
    assert body["cost"]["total_micros"] == 5000
    event = UsageEvent.objects.get(answer__request_id=body["id"])
    assert (event.usage_type, event.cited, event.amount_micros) == ("search", True, 5000)


def test_results_under_a_licence_without_search_are_titles_and_links_and_free(
    market, agent_client, grounding_only
):
    document, offer = grounding_only

    response = agent_client.get("/api/v1/search", {"q": "spring tides moon"})

    assert response.status_code == 200, response.json()
    body = response.json()
    (result,) = body["results"]
    assert {
        k: result[k]
        for k in ("document_id", "title", "url", "snippet", "span", "snippet_licensed", "cited")
    } == {
        "document_id": document.id,
        "title": "Tides and the moon",
        "url": document.source_url,
        "snippet": None,
        "span": None,
        "snippet_licensed": False,
        "cited": False,
    }
    assert result["license"]["offer_id"] == str(offer.id)
    assert result["price"]["amount_micros"] == 0
    assert body["cost"] == {
        "total_micros": 0,
        "currency": "USD",
        "max_price_micros": None,
        "sources": [],
        "left_out_for_price": [],
    }
    assert "gravity" not in response.content.decode()
    assert (AnswerRecord.objects.count(), UsageEvent.objects.count()) == (0, 0)


def test_a_search_meters_only_the_results_licensed_for_search(market, agent_client, grounding_only):
    document, _ = grounding_only

    body = agent_client.get("/api/v1/search", {"q": "freezing weather tides"}).json()

    licensed = [r for r in body["results"] if r["snippet_licensed"]]
    links = [r for r in body["results"] if not r["snippet_licensed"]]
    assert licensed and [r["document_id"] for r in links] == [document.id]
    assert body["results"] == licensed + links
    assert [r["number"] for r in body["results"]] == list(range(1, len(body["results"]) + 1))
    events = UsageEvent.objects.filter(answer__request_id=body["id"])
    assert sorted(e.document_id for e in events) == sorted(r["document_id"] for r in licensed)
    assert {e.usage_type for e in events} == {"search"}
    assert (
        body["cost"]["total_micros"] == 2000 * len(licensed) == sum(e.amount_micros for e in events)
    )
    receipt_documents = [s["document_id"] for s in body["receipt"]["payload"]["sources"]]
    assert receipt_documents == [r["document_id"] for r in licensed]


def test_mcp_search_lists_links_for_results_its_licence_does_not_cover(
    market, make_key, grounding_only
):
    result = tools.call_tool(
        "search_licensed_content", {"query": "spring tides moon"}, raw_key=make_key(market.agent)
    )

    assert result.is_error is False
    (item,) = result.structured_content["results"]
    assert (item["snippet"], item["snippet_licensed"]) == (None, False)
    text = result.content[0].text
    assert "title and link only" in text
    assert "gravity" not in text
    assert AnswerRecord.objects.count() == 0
