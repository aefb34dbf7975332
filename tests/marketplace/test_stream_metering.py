"""Streamed answers are metered before their first text leaves, against a slow real model server.

The model is a real OpenAI-compatible HTTP server on 127.0.0.1 (the inference client tests'
server) that pauses before each streamed event, as a large model does.
"""

import json

import pytest

from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.models import IdempotencyRecord
from tests.acting import acting_for
from tests.inference_client.conftest import FakeOpenAIServer, Reply
from tests.marketplace.conftest import reset_by_client

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
CANAL_QUESTION = "When did the Panama Canal open?"
HEAT_ANSWER = (
    "Inverter compressors keep cold-climate heat pumps working [1]. "
    "Defrost cycles melt ice from the outdoor coil [2]."
)
PACE_S = 0.02


@pytest.fixture
def slow_model(settings):
    server = FakeOpenAIServer()
    server.default = Reply(content=HEAT_ANSWER, chunk_delay_s=PACE_S)
    server.start()
    settings.INFERENCE_BACKEND = "openai"
    settings.INFERENCE_BASE_URL = server.base_url
    settings.INFERENCE_MODEL = "test-model"
    yield server
    server.stop()


def _ask(client, headers=None, **body):
    return client.post(
        "/api/v1/answers", {"stream": True, **body}, format="json", headers=headers or {}
    )


def _chat(client, question=HEAT_QUESTION, headers=None, **options):
    body = {
        "model": "provenant",
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "provenant": options,
    }
    return client.post("/v1/chat/completions", body, format="json", headers=headers or {})


def _events(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if block:
            name, data = block.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def _spent(offer) -> int:
    return LicenseAgreement.objects.get(offer_id=offer.id).spent_micros


def _nothing_charged(market) -> bool:
    return (
        AnswerRecord.objects.count() == 0
        and UsageEvent.objects.count() == 0
        and _spent(market.energy_offer) == 0
    )


# -- /api/v1/answers ---------------------------------------------------------------------------


def test_an_answer_is_metered_before_its_first_text_leaves(market, agent_client, slow_model):
    response = _ask(agent_client, question=HEAT_QUESTION, max_sources=1)
    stream = iter(response.streaming_content)

    assert next(stream).startswith(b"event: answer.delta")  # the model is still writing

    answer = AnswerRecord.objects.get()
    assert (answer.sources_count, answer.total_micros) == (1, 2000)
    assert _spent(market.energy_offer) == 2000
    reset_by_client(response)


def test_a_client_that_leaves_mid_stream_keeps_paying_for_what_it_read(
    market, agent_client, slow_model
):
    response = _ask(agent_client, question=HEAT_QUESTION, max_sources=1)
    next(iter(response.streaming_content))

    reset_by_client(response)  # the client resets the connection while the model is writing

    answer = AnswerRecord.objects.get()
    assert answer.total_micros == 2000
    assert list(UsageEvent.objects.values_list("amount_micros", flat=True)) == [2000]
    assert _spent(market.energy_offer) == 2000


def test_a_completed_stream_is_settled_on_what_the_answer_cited(market, agent_client, slow_model):
    licensing.accept_offer(**acting_for(market.agent), offer_id=market.canals_offer.id)
    slow_model.default = Reply(content="The canal opened in 1914.", chunk_delay_s=PACE_S)

    events = _events(b"".join(_ask(agent_client, question=CANAL_QUESTION).streaming_content))

    name, final = events[-1]
    assert name == "answer.completed"
    assert final["answer"] == "The canal opened in 1914."
    # Metered at the quoted price (as if cited) before the text; settled at 0: not cited.
    assert final["cost"]["total_micros"] == 0
    assert final["receipt"]["payload"]["total_micros"] == 0
    answer = AnswerRecord.objects.get()
    assert (answer.request_id, answer.total_micros) == (final["id"], 0)
    assert list(UsageEvent.objects.values_list("cited", "amount_micros")) == [(False, 0)]
    assert _spent(market.canals_offer) == 0


def test_a_cited_source_is_charged_when_the_stream_settles(market, agent_client, slow_model):
    licensing.accept_offer(**acting_for(market.agent), offer_id=market.canals_offer.id)
    slow_model.default = Reply(content="The canal opened in 1914 [1].", chunk_delay_s=PACE_S)

    events = _events(b"".join(_ask(agent_client, question=CANAL_QUESTION).streaming_content))

    assert events[-1][1]["cost"]["total_micros"] == 5000
    assert list(UsageEvent.objects.values_list("cited", "amount_micros")) == [(True, 5000)]
    assert _spent(market.canals_offer) == 5000


def test_inference_dying_mid_stream_ends_with_an_error_and_charges_nothing(
    market, agent_client, slow_model
):
    slow_model.enqueue(Reply(kind="sse_cut", content=HEAT_ANSWER, chunk_delay_s=PACE_S))
    headers = {"Idempotency-Key": "cut"}

    events = _events(
        b"".join(_ask(agent_client, headers, question=HEAT_QUESTION).streaming_content)
    )

    assert [name for name, _ in events[:-1]] == ["answer.delta"] * (len(events) - 1)
    assert len(events) > 1  # some text had left before the model died
    name, error = events[-1]
    assert name == "error"
    assert error["code"] == "answer_interrupted"
    assert _nothing_charged(market)
    assert IdempotencyRecord.objects.count() == 0  # released: the retry runs again

    retry = _events(b"".join(_ask(agent_client, headers, question=HEAT_QUESTION).streaming_content))
    assert retry[-1][0] == "answer.completed"
    assert AnswerRecord.objects.get().request_id == retry[-1][1]["id"]


def test_a_spend_cap_refuses_a_stream_before_any_text(market, agent_client, slow_model):
    LicenseAgreement.objects.filter(offer_id=market.energy_offer.id).update(spend_cap_micros=1)

    events = _events(b"".join(_ask(agent_client, question=HEAT_QUESTION).streaming_content))

    assert [(name, data.get("code")) for name, data in events] == [("error", "spend_cap_reached")]
    assert _nothing_charged(market)


# -- /v1/chat/completions ----------------------------------------------------------------------


def _chunks(raw: bytes) -> list:
    lines = [b.removeprefix("data: ") for b in raw.decode().split("\n\n") if b]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def test_a_chat_completion_stream_is_metered_before_its_first_content(
    market, agent_client, slow_model
):
    response = _chat(agent_client, max_sources=1)
    stream = iter(response.streaming_content)
    opening = json.loads(next(stream).decode().removeprefix("data: "))
    assert opening["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert AnswerRecord.objects.count() == 0  # the opening chunk carries no content

    content = json.loads(next(stream).decode().removeprefix("data: "))
    assert content["choices"][0]["delta"]["content"]

    assert AnswerRecord.objects.get().total_micros == 2000
    reset_by_client(response)  # the client leaves mid-stream: the answer stays metered
    assert _spent(market.energy_offer) == 2000


def test_a_chat_completion_whose_model_dies_mid_stream_charges_nothing(
    market, agent_client, slow_model
):
    slow_model.enqueue(Reply(kind="sse_cut", content=HEAT_ANSWER, chunk_delay_s=PACE_S))

    chunks = _chunks(
        b"".join(_chat(agent_client, headers={"Idempotency-Key": "cut"}).streaming_content)
    )

    assert chunks[1]["choices"][0]["delta"]["content"]  # text had left
    assert chunks[-1]["error"]["code"] == "answer_interrupted"
    assert "[DONE]" not in chunks
    assert _nothing_charged(market)
    assert IdempotencyRecord.objects.count() == 0
