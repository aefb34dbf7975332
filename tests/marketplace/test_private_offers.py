"""Private offers in answers' 402 bodies and MCP offer listings: only offers an agent may accept."""

import pytest

from licensing import services as licensing
from licensing.models import AnswerRecord, UsageEvent
from marketplace.mcp import tools
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

CANAL_QUESTION = "When did the Panama Canal open?"


def _limit_canals_to(market, *org_ids):
    licensing.update_offer(
        **acting_for(market.harbor),
        offer_id=market.canals_offer.id,
        changes={"allowed_agent_org_ids": org_ids},
    )


def _ask(client):
    return client.post("/api/v1/answers", {"question": CANAL_QUESTION}, format="json")


def test_content_under_an_offer_private_to_others_is_not_offered_in_a_402(
    market, agent_client, make_org
):
    other, _ = make_org(roles=("agent",))
    _limit_canals_to(market, other.id)

    response = _ask(agent_client)

    assert response.status_code == 404
    assert response.json()["code"] == "no_matching_content"
    assert str(market.canals_offer.id) not in response.content.decode()
    assert (AnswerRecord.objects.count(), UsageEvent.objects.count()) == (0, 0)


def test_a_402_lists_a_private_offer_to_an_agent_it_names_without_its_allow_list(
    market, agent_client, make_org
):
    other, _ = make_org(roles=("agent",))
    _limit_canals_to(market, market.agent.id, other.id)

    response = _ask(agent_client)

    assert response.status_code == 402
    offers = response.json()["details"]["offers"]
    assert [o["offer_id"] for o in offers] == [str(market.canals_offer.id)]
    assert str(other.id) not in response.content.decode()


def test_mcp_lists_a_private_offer_only_to_the_agents_it_names(market, make_key, make_org):
    other, _ = make_org(roles=("agent",))
    _limit_canals_to(market, other.id)

    mine = tools.call_tool("list_offers", {"usage_type": "search"}, raw_key=make_key(market.agent))
    theirs = tools.call_tool("list_offers", {"usage_type": "search"}, raw_key=make_key(other))

    assert [o["name"] for o in mine.structured_content["offers"]] == ["Attribution", "Per source"]
    assert [o["name"] for o in theirs.structured_content["offers"]] == [
        "Per cited source",
        "Attribution",
        "Per source",
    ]
    assert str(other.id) not in str(theirs.structured_content)
