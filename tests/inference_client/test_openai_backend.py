"""The openai backend against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from inference_client import (
    AnswerComplete,
    InferenceClient,
    InferenceConfig,
    InferenceProtocolError,
    InferenceUnavailable,
    Source,
    Sponsored,
    TextDelta,
)
from tests.inference_client.conftest import ANSWER_TEXT, FakeOpenAIServer, Reply


def openai_config(base_url: str, **overrides: Any) -> InferenceConfig:
    settings: dict[str, Any] = {
        "backend": "openai",
        "base_url": base_url,
        "model": "test-model",
        "timeout_s": 2.0,
        "connect_timeout_s": 0.5,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "fallback_to_extractive": False,
    }
    settings.update(overrides)
    return InferenceConfig(**settings)


def test_answer_parses_citations_usage_and_attribution(openai_server, geography_sources):
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        answer = client.answer("What is the capital of France?", geography_sources)

    assert answer.text == ANSWER_TEXT
    assert [(c.number, c.source_id, c.answer_start, c.answer_end) for c in answer.citations] == [
        (1, "doc-paris", 0, 30),
        (2, "doc-seine", 36, 65),
    ]
    assert [answer.text[c.answer_start : c.answer_end] for c in answer.citations] == [
        "Paris is the capital of France",
        "The Seine flows through Paris",
    ]
    assert [(c.source_start, c.source_end, c.cited_text) for c in answer.citations] == [
        (0, 31, "Paris is the capital of France."),
        (0, 30, "The Seine flows through Paris."),
    ]
    assert answer.citations[0].url == "https://example.org/paris"
    assert [(w.source_id, w.weight_ppm, w.cited) for w in answer.attribution.sources] == [
        ("doc-paris", 500_000, True),
        ("doc-seine", 500_000, True),
        ("doc-bananas", 0, False),
    ]
    assert answer.attribution.unattributed_ppm == 0
    assert answer.dropped_citations == ()
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (120, 18)
    assert (answer.usage.backend, answer.usage.model) == ("openai", "test-model")
    assert answer.usage.tokens_estimated is False
    assert answer.metadata.served_by == "openai"
    assert answer.metadata.fallback_reason is None
    assert answer.metadata.attempts == 1


def test_request_numbers_sources_and_asks_for_markers(openai_server, geography_sources):
    with InferenceClient(openai_config(openai_server.base_url, api_key="sk-test")) as client:
        client.answer("What is the capital of France?", geography_sources, max_tokens=64)

    [body] = openai_server.requests
    assert body["model"] == "test-model"
    assert body["max_tokens"] == 64
    assert body["stream"] is False
    assert "response_format" not in body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "[1] Paris <https://example.org/paris>\nParis is the capital of France." in user
    assert "[3] Bananas\nBananas are rich in potassium." in user
    assert user.endswith(
        "Question: What is the capital of France?\n\nAnswer with [n] citation markers."
    )
    assert openai_server.headers[0]["authorization"] == "Bearer sk-test"


def test_response_format_is_passed_through(openai_server, geography_sources):
    response_format = {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        client.answer("Capital?", geography_sources, response_format=response_format)

    assert openai_server.requests[0]["response_format"] == response_format


def test_streaming_yields_deltas_then_the_same_answer(openai_server, geography_sources):
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        events = list(client.stream_answer("What is the capital of France?", geography_sources))

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == len(ANSWER_TEXT.split(" "))
    assert "".join(deltas) == ANSWER_TEXT
    assert isinstance(events[-1], AnswerComplete)
    answer = events[-1].answer
    assert answer.text == ANSWER_TEXT
    assert [c.source_id for c in answer.citations] == ["doc-paris", "doc-seine"]
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (120, 18)
    assert answer.metadata.finish_reason == "stop"
    body = openai_server.requests[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_429_then_success_retries_and_answers(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="status", status=429, headers={"retry-after": "0"}))
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        answer = client.answer("Capital of France?", geography_sources)

    assert answer.text == ANSWER_TEXT
    assert answer.metadata.attempts == 2
    assert len(openai_server.requests) == 2


def test_streaming_retries_a_429_before_the_first_token(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="status", status=429))
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        events = list(client.stream_answer("Capital of France?", geography_sources))

    assert events[-1].answer.text == ANSWER_TEXT
    assert events[-1].answer.metadata.attempts == 2


def test_503_exhaustion_raises_after_every_retry(openai_server, geography_sources):
    openai_server.enqueue(*[Reply(kind="status", status=503)] * 3)
    client = InferenceClient(openai_config(openai_server.base_url, max_retries=2))
    with client, pytest.raises(InferenceUnavailable) as raised:
        client.answer("Capital of France?", geography_sources)

    assert (raised.value.reason, raised.value.attempts) == ("http_503", 3)
    assert len(openai_server.requests) == 3


def test_503_exhaustion_falls_back_to_extractive_and_says_so(openai_server, geography_sources):
    openai_server.enqueue(*[Reply(kind="status", status=503)] * 2)
    config = openai_config(openai_server.base_url, max_retries=1, fallback_to_extractive=True)
    with InferenceClient(config) as client:
        answer = client.answer("What is the capital of France?", geography_sources)

    assert answer.text == "Paris is the capital of France [1]."
    assert answer.metadata.requested_backend == "openai"
    assert answer.metadata.served_by == "extractive"
    assert answer.metadata.fallback_reason == "http_503"
    assert answer.metadata.fell_back is True
    assert answer.metadata.attempts == 2
    assert (answer.usage.backend, answer.usage.model) == ("extractive", "extractive-v2")


def test_client_error_is_not_retried(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="status", status=400, body=b'{"error": "too long"}'))
    client = InferenceClient(openai_config(openai_server.base_url))
    with client, pytest.raises(InferenceUnavailable) as raised:
        client.answer("Capital of France?", geography_sources)

    assert (raised.value.reason, raised.value.attempts) == ("http_400", 1)
    assert client.breaker.state == "closed"


def test_read_timeout_gives_up_without_retrying(openai_server, geography_sources):
    # The server would answer after 3 s, well inside the 10 s total: only the read timeout
    # can turn this into a timeout (wall time is not asserted; bench/ measures latency).
    openai_server.enqueue(Reply(delay_s=3.0))
    config = openai_config(openai_server.base_url, timeout_s=10.0, read_timeout_s=0.15)
    client = InferenceClient(config)
    with client, pytest.raises(InferenceUnavailable) as raised:
        client.answer("Capital of France?", geography_sources)

    assert (raised.value.reason, raised.value.attempts) == ("timeout", 1)
    assert len(openai_server.requests) == 1


def test_total_timeout_bounds_every_attempt(openai_server, geography_sources):
    # The server would answer after 3 s; a 0.2 s budget times out and leaves none for a retry.
    openai_server.enqueue(Reply(delay_s=3.0))
    config = openai_config(openai_server.base_url, timeout_s=0.2, fallback_to_extractive=True)
    with InferenceClient(config) as client:
        answer = client.answer("What is the capital of France?", geography_sources)

    assert (answer.metadata.served_by, answer.metadata.fallback_reason) == ("extractive", "timeout")
    assert answer.metadata.attempts == 1
    assert len(openai_server.requests) == 1


def test_malformed_json_raises_a_protocol_error(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="raw", body=b'{"choices": [{"message": '))
    client = InferenceClient(openai_config(openai_server.base_url))
    with client, pytest.raises(InferenceProtocolError) as raised:
        client.answer("Capital of France?", geography_sources)

    assert raised.value.reason == "malformed_response"
    assert len(openai_server.requests) == 1


def test_completion_without_choices_falls_back(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="raw", body=b'{"object": "chat.completion", "choices": []}'))
    config = openai_config(openai_server.base_url, fallback_to_extractive=True)
    with InferenceClient(config) as client:
        answer = client.answer("What is the capital of France?", geography_sources)

    assert (answer.metadata.served_by, answer.metadata.fallback_reason) == (
        "extractive",
        "malformed_response",
    )


def test_citations_to_unknown_sources_are_dropped_and_reported(openai_server, geography_sources):
    openai_server.default = Reply(
        content="Paris is the capital of France [1][4]. Bananas are purple [9]. It rains [0]."
    )
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        answer = client.answer("Capital of France?", geography_sources)

    assert answer.text == "Paris is the capital of France [1]. Bananas are purple. It rains."
    assert [c.source_id for c in answer.citations] == ["doc-paris"]
    assert [(d.number, d.claim_text, d.reason) for d in answer.dropped_citations] == [
        (4, "Paris is the capital of France.", "unknown_source"),
        (9, "Bananas are purple.", "unknown_source"),
        (0, "It rains.", "unknown_source"),
    ]


def test_connection_refused_falls_back_to_extractive(refused_url, geography_sources):
    config = openai_config(refused_url, max_retries=1, fallback_to_extractive=True)
    with InferenceClient(config) as client:
        answer = client.answer("What is the capital of France?", geography_sources)

    assert answer.text == "Paris is the capital of France [1]."
    assert answer.metadata.served_by == "extractive"
    assert answer.metadata.fallback_reason == "connection_error"
    assert answer.metadata.attempts == 2


def test_streaming_connection_refused_falls_back_before_any_token(refused_url, geography_sources):
    config = openai_config(refused_url, max_retries=0, fallback_to_extractive=True)
    with InferenceClient(config) as client:
        events = list(client.stream_answer("What is the capital of France?", geography_sources))

    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Paris is the capital of France [1]."
    ]
    assert events[-1].answer.metadata.fallback_reason == "connection_error"


def test_stream_cut_after_the_first_token_is_not_retried(openai_server, geography_sources):
    openai_server.enqueue(Reply(kind="sse_cut"))
    config = openai_config(openai_server.base_url, fallback_to_extractive=True)
    received: list[str] = []
    client = InferenceClient(config)
    with client, pytest.raises(InferenceUnavailable) as raised:
        for event in client.stream_answer("Capital of France?", geography_sources):
            received.append(event.text)

    assert raised.value.reason == "stream_interrupted"
    assert "".join(received) == "Paris is"
    assert len(openai_server.requests) == 1


def test_circuit_opens_after_failures_and_skips_the_server(openai_server, geography_sources):
    openai_server.enqueue(*[Reply(kind="status", status=503)] * 2)
    config = openai_config(
        openai_server.base_url,
        max_retries=0,
        breaker_failure_threshold=2,
        breaker_cooldown_s=30.0,
        fallback_to_extractive=True,
    )
    now = [1000.0]
    with InferenceClient(config, clock=lambda: now[0]) as client:
        reasons = [
            client.answer("Capital of France?", geography_sources).metadata.fallback_reason
            for _ in range(3)
        ]
        requests_while_open = len(openai_server.requests)
        now[0] += 29.0
        still_open = client.answer("Capital of France?", geography_sources).metadata
        now[0] += 1.0
        recovered = client.answer("Capital of France?", geography_sources)

    assert reasons == ["http_503", "http_503", "circuit_open"]
    assert requests_while_open == 2
    assert still_open.fallback_reason == "circuit_open"
    assert len(openai_server.requests) == 3
    assert recovered.metadata.served_by == "openai"
    assert client.breaker.state == "closed"


def test_concurrent_requests_respect_the_cap(openai_server, geography_sources):
    openai_server.default = Reply(delay_s=0.05)
    config = openai_config(openai_server.base_url, max_concurrency=3)
    answers = []
    with InferenceClient(config) as client:

        def ask() -> None:
            answers.append(client.answer("Capital of France?", geography_sources))

        threads = [threading.Thread(target=ask) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(answers) == 12
    assert {a.text for a in answers} == {ANSWER_TEXT}
    assert openai_server.max_in_flight == 3


def test_sponsored_units_are_returned_labelled_and_never_sent_or_cited(
    openai_server, geography_sources
):
    ad = Sponsored(
        id="ad-1", title="Visit Paris", text="Cheap flights to France.", url="https://ads"
    )
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        answer = client.answer("Capital of France?", geography_sources, sponsored=[ad])

    assert answer.sponsored == (ad,)
    assert answer.sponsored[0].label == "Sponsored"
    assert "Cheap flights" not in str(openai_server.requests[0])
    assert "ad-1" not in [c.source_id for c in answer.citations]
    assert "ad-1" not in [w.source_id for w in answer.attribution.sources]


def test_health_lists_the_served_models(openai_server):
    with InferenceClient(openai_config(openai_server.base_url)) as client:
        health = client.health()

    assert (health.ok, health.backend, health.models, health.detail) == (
        True,
        "openai",
        ("test-model",),
        "",
    )


def test_health_fails_when_the_model_is_not_served(openai_server):
    with InferenceClient(openai_config(openai_server.base_url, model="other")) as client:
        health = client.health()

    assert health.ok is False
    assert health.detail == "model 'other' is not served; the server has ['test-model']"


def test_health_fails_when_nothing_listens(refused_url):
    with InferenceClient(openai_config(refused_url)) as client:
        health = client.health()

    assert (health.ok, health.models) == (False, ())
    assert health.detail.startswith("ConnectError")


def test_model_is_taken_from_the_server_when_not_configured(
    openai_server: FakeOpenAIServer, geography_sources: list[Source]
):
    openai_server.models = ["served-model"]
    with InferenceClient(openai_config(openai_server.base_url, model="")) as client:
        client.answer("Capital of France?", geography_sources)

    assert openai_server.requests[0]["model"] == "served-model"


def test_a_cap_larger_than_one_pool_shard_is_reached_and_respected(
    openai_server, geography_sources
):
    openai_server.default = Reply(delay_s=0.1)
    config = openai_config(openai_server.base_url, max_concurrency=10)
    answers = []
    with InferenceClient(config) as client:

        def ask() -> None:
            answers.append(client.answer("Capital of France?", geography_sources))

        threads = [threading.Thread(target=ask) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(answers) == 20
    assert openai_server.max_in_flight == 10
