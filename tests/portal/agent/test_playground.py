"""The playground answers through the same use case as the REST API: the cited, attributed
answer with each source's share and cost, its receipt (which verifies), refusals shown plainly
with nothing charged, and a form sent twice charged once."""

import json
import re
from html import unescape

import pytest
from django.test import Client

from billing import services as billing
from licensing.models import AnswerRecord, UsageEvent

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"


def _page(market):
    return f"/orgs/{market.agent.id}/playground/"


def _request_id(client, market) -> str:
    html = client.get(_page(market)).content.decode()
    return re.search(r'name="request_id" value="([^"]+)"', html).group(1)


def _ask(client, market, question=HEAT_QUESTION, **fields):
    data = {"question": question, "request_id": _request_id(client, market), **fields}
    return client.post(_page(market), data), data


def test_an_answer_shows_citations_shares_cost_and_a_receipt(market, agent_browser):
    response, data = _ask(agent_browser, market)

    assert response.status_code == 200
    html = response.content.decode()
    record = AnswerRecord.objects.get(request_id=data["request_id"])
    events = list(UsageEvent.objects.filter(answer=record))
    assert events and record.total_micros == 2000 * len(events)
    assert 'class="marker" href="#source-1"' in html  # [1] in the text links to its source
    assert 'id="source-1"' in html
    assert "Northwind Press" in html and "Energy" in html
    assert "Heat pumps in freezing weather" in html
    assert f"{record.total_micros / 1_000_000:.3f}" in html  # the cost, e.g. 0.004
    for event in events:
        assert f"{event.attribution_weight_ppm / 10_000:.1f}%" in html
    assert f"Receipt <code>{data['request_id']}</code>" in html
    receipt = json.loads(unescape(re.search(r'name="receipt" value="([^"]+)"', html).group(1)))
    assert receipt["payload"]["id"] == data["request_id"]
    assert receipt["payload"]["total_micros"] == record.total_micros


def test_the_receipt_verifies_and_a_changed_one_does_not(market, agent_browser):
    html = _ask(agent_browser, market)[0].content.decode()
    receipt = json.loads(unescape(re.search(r'name="receipt" value="([^"]+)"', html).group(1)))

    valid = Client().post("/receipts/verify/", {"receipt": json.dumps(receipt)})
    receipt["payload"]["total_micros"] = 1
    altered = Client().post("/receipts/verify/", {"receipt": json.dumps(receipt)})
    garbage = Client().post("/receipts/verify/", {"receipt": "{not json"})

    assert "Valid receipt" in valid.content.decode()
    assert "Its answer is metered" in valid.content.decode()
    assert "The signature does not match the payload" in altered.content.decode()
    assert garbage.status_code == 400
    assert 'id="id_receipt_error"' in garbage.content.decode()


def test_a_form_sent_twice_is_answered_and_charged_once(market, agent_browser):
    first, data = _ask(agent_browser, market)
    again = agent_browser.post(_page(market), data)

    assert first.status_code == 200
    assert again.status_code == 409
    assert "already answered and charged" in again.content.decode()
    assert AnswerRecord.objects.filter(request_id=data["request_id"]).count() == 1


def test_an_unlicensed_question_lists_the_offers_that_would_cover_it(market, agent_browser):
    response, _ = _ask(agent_browser, market, question="When did the Panama Canal open?")

    assert response.status_code == 402
    html = response.content.decode()
    assert "You need a licence to answer this" in html
    assert f'href="/orgs/{market.agent.id}/catalog/{market.canals_offer.id}/"' in html
    assert "Nothing was charged" in html and "license_required" in html
    assert AnswerRecord.objects.count() == 0


def test_a_question_nothing_answers_says_so(market, agent_browser):
    response, _ = _ask(agent_browser, market, question="What is the capital of Mongolia?")

    assert response.status_code == 404
    html = response.content.decode()
    assert "No answer" in html
    assert "No licensed content in the marketplace matches this question" in html
    assert AnswerRecord.objects.count() == 0


def test_an_empty_wallet_is_refused_with_a_top_up_link(market, agent_browser, settings):
    settings.BILLING_WALLET_HOLDS = True

    response, _ = _ask(agent_browser, market)

    assert response.status_code == 402
    html = response.content.decode()
    assert "Your wallet cannot pay for this answer" in html
    assert re.search(
        r"This answer needs up to 0\.00[2-9] USD; your wallet has 0 USD available "
        r"\(0 USD held for answers in progress\)\.",
        html,
    )
    assert "/api/v1/" not in html.split("<main")[1]  # a browser user is not sent to the API
    assert f'href="/orgs/{market.agent.id}/billing/"' in html
    assert AnswerRecord.objects.count() == 0


def test_a_funded_wallet_pays_and_shows_what_is_left(market, agent_browser, settings):
    settings.BILLING_WALLET_HOLDS = True
    billing.grant_credit(
        organization_id=market.agent.id,
        amount_micros=1_000_000,
        idempotency_key="test-credit",
        memo="Test credit",
    )
    assert "1.00 USD</strong> available" in agent_browser.get(_page(market)).content.decode()

    response, data = _ask(agent_browser, market)

    assert response.status_code == 200
    assert AnswerRecord.objects.filter(request_id=data["request_id"]).exists()


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"question": ""}, "question", "This field is required."),
        ({"max_price": "cheap"}, "max_price", "Enter an amount like 0.002 or 49."),
        ({"max_sources": "99"}, "max_sources", "less than or equal to 20"),
        ({"question": "\x00"}, "question", "Null characters are not allowed."),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_asked(
    market, agent_browser, fields, field, problem
):
    response, _ = _ask(agent_browser, market, **fields)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert problem in html
    assert AnswerRecord.objects.count() == 0


def test_a_price_limit_below_every_source_is_a_plain_refusal(market, agent_browser):
    response, _ = _ask(agent_browser, market, max_price="0.001")

    assert response.status_code == 402
    html = response.content.decode()
    assert "Your price limit is too low" in html
    assert "Every relevant source costs more than your limit: the cheapest costs 0.002 USD." in html
    assert AnswerRecord.objects.count() == 0


def test_another_organization_cannot_ask_as_this_agent(market, make_org):
    _other, owner = make_org(roles=("agent",), name="Other Agents")
    client = Client()
    client.force_login(owner)

    response = client.post(_page(market), {"question": HEAT_QUESTION, "request_id": "pg_stolen"})

    assert response.status_code == 404
    assert AnswerRecord.objects.count() == 0
