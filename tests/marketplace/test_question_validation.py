"""One check of what an agent asks, shared by REST, the OpenAI-compatible API and MCP."""

import json

import pytest

from licensing.models import AnswerRecord, UsageEvent
from marketplace.mcp import tools
from marketplace.models import IdempotencyRecord
from tests.marketplace.test_answers_api import HEAT_QUESTION

pytestmark = pytest.mark.django_db

UNSAFE = [
    (HEAT_QUESTION + "\x00", "Null characters are not allowed."),
    (HEAT_QUESTION + "\ud800", "Surrogate characters are not allowed: U+D800."),
]


def _nothing_metered() -> bool:
    return AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0


def _json_post(client, path, body, **headers):
    # json.dumps writes a lone surrogate as the escape "\ud800", as a client would send it
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize(("question", "message"), UNSAFE)
def test_answers_refuse_nul_and_lone_surrogates(market, agent_client, question, message):
    response = _json_post(agent_client, "/api/v1/answers", {"question": question})

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["details"]) == (
        "invalid",
        {"question": [message]},
    )
    assert _nothing_metered()


@pytest.mark.parametrize(("question", "message"), UNSAFE)
def test_chat_completions_refuse_them_as_answers_do_and_charge_nothing(
    market, agent_client, question, message
):
    body = {"model": "provenant", "messages": [{"role": "user", "content": question}]}

    response = _json_post(agent_client, "/v1/chat/completions", body, HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["details"]) == (
        "invalid",
        {"messages.0.content": [message]},
    )
    assert response.json()["error"]["param"] == "messages.0.content"
    assert _nothing_metered()
    assert IdempotencyRecord.objects.count() == 0


def test_chat_completions_refuse_them_in_any_message_and_in_text_parts(market, agent_client):
    body = {
        "model": "provenant",
        "messages": [
            {"role": "system", "content": "Be brief\x00"},
            {"role": "user", "content": [{"type": "text", "text": HEAT_QUESTION}]},
        ],
    }
    parts = {
        "model": "provenant",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "heat\ud800"}]}],
    }

    system = _json_post(agent_client, "/v1/chat/completions", body)
    part = _json_post(agent_client, "/v1/chat/completions", parts)

    assert (system.status_code, system.json()["details"]) == (
        400,
        {"messages.0.content": ["Null characters are not allowed."]},
    )
    assert (part.status_code, list(part.json()["details"])) == (400, ["messages.0.content"])
    assert _nothing_metered()


def test_search_refuses_a_nul_in_the_query(market, agent_client):
    response = agent_client.get("/api/v1/search", {"q": "heat pump\x00"})

    assert response.status_code == 400
    assert response.json()["details"] == {"question": ["Null characters are not allowed."]}
    assert _nothing_metered()


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("ask", {"question": HEAT_QUESTION + "\x00"}, "question"),
        ("ask", {"question": HEAT_QUESTION + "\udfff"}, "question"),
        ("search_licensed_content", {"query": "heat\x00"}, "query"),
    ],
)
def test_mcp_tools_refuse_them_before_planning(market, make_key, name, arguments, field):
    result = tools.call_tool(name, arguments, raw_key=make_key(market.agent))

    assert result.is_error is True
    assert (result.structured_content["status"], result.structured_content["code"]) == (
        400,
        "invalid",
    )
    assert list(result.structured_content["details"]) == [field]
    assert _nothing_metered()
