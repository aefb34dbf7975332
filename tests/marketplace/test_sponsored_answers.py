"""Sponsored items beside answers: REST, OpenAI-compatible and MCP; opt-in per key or request;
the answer byte-identical with and without them; labelled, signed, recorded and paid."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from ads import services as ads
from ads.models import AdEvent, AuctionTrace, Serving
from ads.services.auction import budget_store
from licensing.models import AnswerRecord, UsageEvent
from marketplace.mcp import tools
from tests.acting import owner_of
from tests.ads.conftest import fund
from tests.marketplace.factories import UserFactory
from tests.marketplace.test_answers_api import answer_path_queries

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
UNIT = {
    "title": "Heat pumps, installed in a week",
    "body": "Certified installers in your area. Fixed prices, no surprises.",
    "url": "https://heat.example.com/quote",
    "call_to_action": "Get a quote",
    "context_hints": "Someone asking how heat pumps work in cold or freezing weather.",
    "targeting": {"keywords": ["heat pump"], "topics": ["energy"]},
    "category": "retail",
    "bid_type": "cpm",
    "max_bid_micros": 5_000_000,
}
# What must not change when sponsored items are allowed: everything but them, the answer's own
# id and time (in its body and its receipt) and the inference latency.
SAME = ("question", "answer", "ai_generated", "citations", "sources", "attribution", "cost")


@pytest.fixture
def advertiser(make_org):
    org, _ = make_org(roles=("advertiser",), name="Warmth Ltd")
    return org


@pytest.fixture
def heat_unit(advertiser):
    """An approved heat-pump unit of a running campaign of Warmth Ltd."""
    campaign = ads.create_campaign(
        actor=owner_of(advertiser),
        name="Winter heat",
        total_budget_micros=100_000_000,
        starts_at=timezone.now() - timedelta(hours=1),
    )
    unit = ads.create_unit(actor=owner_of(advertiser), campaign_id=campaign.id, **UNIT)
    operator = UserFactory(is_staff=True, is_superuser=True)
    fund(advertiser, 50_000_000)
    return ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)


def ask(client, **body):
    return client.post("/api/v1/answers", {"question": HEAT_QUESTION, **body}, format="json")


def same_parts(body):
    receipt = dict(body["receipt"]["payload"])
    receipt.pop("id"), receipt.pop("created_at")
    parts = {key: body[key] for key in SAME}
    return json.dumps({**parts, "receipt": receipt}, sort_keys=True).encode()


def test_the_answer_is_byte_identical_with_sponsored_items_allowed_and_the_item_is_labelled(
    market, agent_client, heat_unit, advertiser, django_capture_on_commit_callbacks
):
    without = ask(agent_client, allow_sponsored=False)
    with django_capture_on_commit_callbacks(execute=True):  # the serving is written on commit
        with_ads = ask(agent_client, allow_sponsored=True)

    assert (without.status_code, with_ads.status_code) == (200, 200)
    plain, sponsored = without.json(), with_ads.json()
    assert plain["sponsored"] == []
    assert same_parts(plain) == same_parts(sponsored)
    assert plain["answer"].encode() == sponsored["answer"].encode()
    (item,) = sponsored["sponsored"]
    serving = Serving.objects.get()
    assert item["label"] == "Sponsored"
    assert (item["title"], item["body"], item["call_to_action"]) == (
        UNIT["title"],
        UNIT["body"],
        UNIT["call_to_action"],
    )
    assert item["url"] == item["click_url"]
    assert item["url"].startswith(f"http://testserver/c/{serving.id}:")
    click = APIClient().get(item["url"].removeprefix("http://testserver"))
    assert (click.status_code, click["Location"]) == (302, UNIT["url"])
    assert item["destination_url"] == UNIT["url"]
    assert item["advertiser"] == item["paid_by"] == {"id": str(advertiser.id), "name": "Warmth Ltd"}
    assert item["context_use"] == "presentation_only"
    assert item["reasons"][0] == "Matches the keywords: heat pump"
    assert item["request_id"] == sponsored["id"]
    assert "price_micros" not in item and "max_bid_micros" not in json.dumps(item)
    for body, response in ((plain, without), (sponsored, with_ads)):
        assert body["ai_generated"] is True
        assert response["X-AI-Generated"] == "true"
    verified = APIClient().post("/api/v1/receipts/verify", {"receipt": item["signed"]}, "json")
    assert verified.json() == {"valid": True, "reason": "valid", "metered": True}
    forged = {**item["signed"], "payload": {**item["signed"]["payload"], "body": "Free money"}}
    assert (
        APIClient().post("/api/v1/receipts/verify", {"receipt": forged}, "json").json()["valid"]
        is False
    )
    assert (serving.request_id, serving.unit_id) == (sponsored["id"], heat_unit.id)
    assert AuctionTrace.objects.get().request_id == sponsored["id"]
    assert sorted(AdEvent.objects.values_list("kind", flat=True)) == ["click", "impression"]


def held(unit):
    """Return what the unit's campaign holds in the budget store now (0: nothing loaded)."""
    (left,) = budget_store().remaining_many([str(unit.campaign_id)])
    return 0 if left is None else left.reserved_micros


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", [], {}])
def test_allow_sponsored_of_another_type_is_400_and_nothing_is_written(
    market, agent_client, heat_unit, value
):
    response = ask(agent_client, allow_sponsored=value)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "allow_sponsored" in response.json()["details"]
    assert (
        AnswerRecord.objects.count() == UsageEvent.objects.count() == Serving.objects.count() == 0
    )


def test_the_keys_default_applies_unless_the_request_says_otherwise(
    market, key_client, make_key, heat_unit
):
    raw = make_key(market.agent)
    key = accounts.authenticate_api_key(raw_key=raw)
    accounts.update_api_key(
        actor=owner_of(market.agent),
        organization_id=market.agent.id,
        api_key_id=key.id,
        allow_sponsored=True,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    off_by_default = key_client(market.agent)

    assert len(ask(client).json()["sponsored"]) == 1
    assert ask(client, allow_sponsored=False).json()["sponsored"] == []
    assert ask(client, allow_sponsored=None).json()["sponsored"] != []
    assert ask(off_by_default).json()["sponsored"] == []


def test_a_provider_that_opted_out_gets_no_ads_beside_its_content(market, agent_client, heat_unit):
    ads.set_ad_preferences(actor=owner_of(market.northwind), allow_ads=False)

    body = ask(agent_client, allow_sponsored=True).json()

    assert body["sponsored"] == []
    assert {s["provider"]["name"] for s in body["sources"]} == {"Northwind Press"}
    assert Serving.objects.count() == AuctionTrace.objects.count() == 0
    assert held(heat_unit) == 0


def test_a_blocked_category_beside_the_providers_content_is_not_served(
    market, agent_client, heat_unit, django_capture_on_commit_callbacks
):
    ads.set_ad_preferences(actor=owner_of(market.northwind), blocked_categories=["retail"])

    with django_capture_on_commit_callbacks(execute=True):
        assert ask(agent_client, allow_sponsored=True).json()["sponsored"] == []
    trace = AuctionTrace.objects.get()
    assert [row[2] for row in trace.candidates] == ["blocked"]


def test_a_sensitive_question_gets_no_ad_and_the_same_answer(market, agent_client, heat_unit):
    question = "How does a heat pump keep working in freezing weather? Asking before the election."
    without = ask(agent_client, question=question, allow_sponsored=False)
    with_ads = ask(agent_client, question=question, allow_sponsored=True)

    assert with_ads.status_code == 200
    assert with_ads.json()["sponsored"] == []
    assert same_parts(without.json()) == same_parts(with_ads.json())
    assert Serving.objects.count() == AuctionTrace.objects.count() == 0


def test_the_frequency_cap_limits_one_unit_per_agent_per_day(
    market, agent_client, heat_unit, settings, django_capture_on_commit_callbacks
):
    settings.ADS_FREQUENCY_CAP = 2
    shown = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            shown.append(len(ask(agent_client, allow_sponsored=True).json()["sponsored"]))

    assert shown == [1, 1, 0]
    assert [row[2] for row in AuctionTrace.objects.order_by("id").last().candidates] == [
        "frequency_capped"
    ]


def test_a_unit_for_one_agent_is_never_shown_to_another(
    market, agent_client, make_org, key_client, advertiser, heat_unit
):
    ads.pause_unit(actor=owner_of(advertiser), unit_id=heat_unit.id)
    other, _ = make_org(roles=("agent",))
    campaign = ads.get_campaign(actor=owner_of(advertiser), campaign_id=heat_unit.campaign_id)
    unit = ads.create_unit(
        actor=owner_of(advertiser),
        campaign_id=campaign.id,
        **{**UNIT, "targeting": {"keywords": ["heat pump"], "agent_orgs": [str(other.id)]}},
    )
    operator = UserFactory(is_staff=True)
    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)

    assert ask(agent_client, allow_sponsored=True).json()["sponsored"] == []
    assert not Serving.objects.filter(agent=market.agent).exists()


def test_streamed_answers_carry_the_sponsored_items_in_the_completed_event(
    market, agent_client, heat_unit, django_capture_on_commit_callbacks
):
    response = ask(agent_client, allow_sponsored=True, stream=True)

    assert response["X-AI-Generated"] == "true"
    with django_capture_on_commit_callbacks(execute=True):
        raw = b"".join(response.streaming_content).decode()
    final = json.loads(raw.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert [item["title"] for item in final["sponsored"]] == [UNIT["title"]]
    assert Serving.objects.get().request_id == final["id"]


def test_an_auction_or_a_recording_that_fails_leaves_the_answer_alone(
    market, agent_client, heat_unit, django_capture_on_commit_callbacks
):
    with mock.patch(
        "ads.services.placement.selection.current_snapshot", side_effect=RuntimeError("boom")
    ):
        broken = ask(agent_client, allow_sponsored=True)
    assert (broken.status_code, broken.json()["sponsored"]) == (200, [])

    with mock.patch("ads.services.placement.recording.click_path", side_effect=RuntimeError):
        unserved = ask(agent_client, allow_sponsored=True)
    assert (unserved.status_code, unserved.json()["sponsored"]) == (200, [])
    assert held(heat_unit) == 0  # given back

    with (
        mock.patch("ads.services.serving._servable", side_effect=RuntimeError("db gone")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        unrecorded = ask(agent_client, allow_sponsored=True)  # recorded after the answer
    assert (unrecorded.status_code, len(unrecorded.json()["sponsored"])) == (200, 1)
    assert same_parts(broken.json()) == same_parts(unserved.json()) == same_parts(unrecorded.json())
    assert AnswerRecord.objects.count() == 3 and Serving.objects.count() == 0


def test_a_failed_answer_gives_the_held_budget_back(market, agent_client, heat_unit):
    with mock.patch(
        "marketplace.api.answer_views.answer_body", side_effect=RuntimeError("store failed")
    ):
        assert ask(agent_client, allow_sponsored=True).status_code == 500

    assert held(heat_unit) == 0
    assert Serving.objects.count() == AnswerRecord.objects.count() == 0


def test_chat_completions_take_the_flag_in_the_provenant_extension(market, agent_client, heat_unit):
    def complete(**options):
        return agent_client.post(
            "/v1/chat/completions",
            {
                "model": "provenant",
                "messages": [{"role": "user", "content": HEAT_QUESTION}],
                "provenant": options,
            },
            format="json",
        )

    plain, sponsored = complete(), complete(allow_sponsored=True)

    assert sponsored["X-AI-Generated"] == "true"
    a, b = plain.json(), sponsored.json()
    assert a["choices"][0]["message"] == b["choices"][0]["message"]
    assert same_parts(a["provenant"]) == same_parts(b["provenant"])
    assert [i["label"] for i in b["provenant"]["sponsored"]] == ["Sponsored"]
    bad = complete(allow_sponsored="true")
    assert (bad.status_code, "allow_sponsored" in json.dumps(bad.json())) == (400, True)


def test_the_mcp_ask_tool_takes_allow_sponsored(market, make_key, heat_unit):
    raw = make_key(market.agent)

    plain = tools.call_tool("ask", {"question": HEAT_QUESTION}, raw_key=raw)
    result = tools.call_tool(
        "ask", {"question": HEAT_QUESTION, "allow_sponsored": True}, raw_key=raw
    )
    bad = tools.call_tool("ask", {"question": HEAT_QUESTION, "allow_sponsored": "yes"}, raw_key=raw)

    body = result.structured_content
    assert plain.structured_content["sponsored"] == []
    assert same_parts(plain.structured_content) == same_parts(body)
    assert [item["title"] for item in body["sponsored"]] == [UNIT["title"]]
    text = result.content[0].text
    plain_text = plain.content[0].text.replace(plain.structured_content["id"], "<id>")
    assert text.replace(body["id"], "<id>").startswith(plain_text)  # the answer first, unchanged
    assert "Sponsored (not part of the answer" in text
    assert "[Sponsored] Heat pumps, installed in a week" in text
    assert (bad.is_error, bad.structured_content["status"]) == (True, 400)


def test_answer_path_queries_with_sponsored_items_are_bounded(
    market, agent_client, heat_unit, django_assert_max_num_queries
):
    ask(agent_client, allow_sponsored=True)  # warm the entitlement and ads caches
    # The answer's own (at most 11, 13 on PostgreSQL: test_answers_api.py) and none for the
    # auction: its
    # snapshot, budgets and frequency counts are warm, and what was served is written after
    # the answer, by a task (tests/ads/test_placement_budgets.py).
    with django_assert_max_num_queries(answer_path_queries()):
        response = ask(agent_client, allow_sponsored=True)
    assert len(response.json()["sponsored"]) == 1
