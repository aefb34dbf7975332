"""An answer its sources do not ground is 404 `no_answer` on every interface, charged nothing."""

import json

import pytest

from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.mcp import tools
from marketplace.models import IdempotencyRecord
from tests.inference_client.conftest import FakeOpenAIServer, Reply

pytestmark = pytest.mark.django_db

# The heat pump articles are retrieved for it, and neither says how loud a heat pump is.
UNANSWERED = "How loud is a heat pump compressor?"


def _nothing_charged(market) -> bool:
    spent = LicenseAgreement.objects.get(offer_id=market.energy_offer.id).spent_micros
    return AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0 and spent == 0


def _sse(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if block:
            name, data = block.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def _chat(client, *, stream: bool = False):
    body = {"model": "provenant", "messages": [{"role": "user", "content": UNANSWERED}]}
    if stream:
        body["stream"] = True
    return client.post("/v1/chat/completions", body, format="json")


def test_an_answer_the_sources_do_not_give_is_404_no_answer_and_free(market, agent_client):
    headers = {"Idempotency-Key": "loud"}
    response = agent_client.post(
        "/api/v1/answers", {"question": UNANSWERED}, format="json", headers=headers
    )

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "no_answer"
    assert body["message"] == (
        "The licensed sources found for this question do not answer it; nothing was charged."
    )
    assert body["details"]["sources_considered"] >= 1
    assert _nothing_charged(market)
    assert IdempotencyRecord.objects.count() == 0  # released: nothing to replay


def test_a_streamed_answer_the_sources_do_not_give_ends_with_no_answer_and_no_text(
    market, agent_client
):
    response = agent_client.post(
        "/api/v1/answers", {"question": UNANSWERED, "stream": True}, format="json"
    )

    events = _sse(b"".join(response.streaming_content))

    assert [name for name, _ in events] == ["error"]
    assert events[0][1]["code"] == "no_answer"
    assert _nothing_charged(market)


def test_the_openai_compatible_api_says_no_answer_in_both_error_formats(market, agent_client):
    response = _chat(agent_client)

    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["error"]["code"]) == ("no_answer", "no_answer")
    assert body["error"]["type"] == "invalid_request_error"
    assert _nothing_charged(market)


def test_a_streamed_chat_completion_ends_with_a_no_answer_error_chunk(market, agent_client):
    response = _chat(agent_client, stream=True)

    blocks = [b for b in b"".join(response.streaming_content).decode().split("\n\n") if b]
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks]

    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["error"]["code"] == "no_answer"
    assert "data: [DONE]" not in blocks
    assert not any(c.get("choices", [{}])[0].get("delta", {}).get("content") for c in chunks[1:-1])
    assert _nothing_charged(market)


def test_the_mcp_ask_tool_returns_no_answer_as_a_tool_error(market, make_key):
    result = tools.call_tool("ask", {"question": UNANSWERED}, raw_key=make_key(market.agent))

    assert result.is_error is True
    assert result.structured_content["status"] == 404
    assert result.structured_content["code"] == "no_answer"
    assert result.content[0].text.startswith("no_answer (HTTP 404): ")
    assert _nothing_charged(market)


@pytest.fixture
def refusing_model(settings):
    server = FakeOpenAIServer()
    server.default = Reply(content="I cannot tell from these sources.")
    server.start()
    settings.INFERENCE_BACKEND = "openai"
    settings.INFERENCE_BASE_URL = server.base_url
    settings.INFERENCE_MODEL = "test-model"
    yield server
    server.stop()


def test_a_model_that_refuses_is_not_charged(market, agent_client, refusing_model):
    response = agent_client.post(
        "/api/v1/answers",
        {"question": "How does a heat pump keep working in freezing weather?"},
        format="json",
    )

    assert response.status_code == 404
    assert response.json()["code"] == "no_answer"
    assert _nothing_charged(market)


def test_a_streamed_refusal_is_metered_while_it_is_written_then_given_back(
    market, agent_client, refusing_model
):
    response = agent_client.post(
        "/api/v1/answers",
        {"question": "How does a heat pump keep working in freezing weather?", "stream": True},
        format="json",
    )

    events = _sse(b"".join(response.streaming_content))

    assert {name for name, _ in events[:-1]} == {"answer.delta"}
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "no_answer"
    assert _nothing_charged(market)
