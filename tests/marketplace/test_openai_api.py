"""The OpenAI-compatible API (/v1), proven with the official `openai` package against a server."""

import json
import threading
import time

import openai
import pytest
from openai import OpenAI

from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.models import IdempotencyRecord
from tests.acting import acting_for

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
CANAL_QUESTION = "When did the Panama Canal open?"


def _user(text):
    return [{"role": "user", "content": text}]


def _nothing_metered():
    return AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0


def _request_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


@pytest.fixture
def sdk(live_server, market, make_key):
    """Return a function giving an OpenAI client for an organization's new key (the agent's)."""
    clients, before = [], _request_threads()

    def make(org=None, *, api_key=None, **key_options):
        secret = api_key or make_key(org or market.agent, **key_options)
        client = OpenAI(base_url=f"{live_server.url}/v1", api_key=secret, max_retries=0, timeout=30)
        clients.append(client)
        return client

    yield make
    # Let the server finish this test's requests before the database is flushed.
    for client in clients:
        client.close()
    deadline = time.monotonic() + 10
    while _request_threads() - before and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def bare_agent_client(make_org, key_client):
    """Return a client for an agent with no licences: enough for requests refused as invalid."""
    agent, _ = make_org(roles=("agent",), name="Bare Agents")
    return key_client(agent)


def _chat(client, content=HEAT_QUESTION, **kwargs):
    return client.chat.completions.create(model="provenant", messages=_user(content), **kwargs)


# -- through the OpenAI SDK, against a live server --------------------------------------------


def test_sdk_answer_has_markers_annotations_and_the_provenant_field(sdk, market):
    completion = _chat(sdk())

    assert completion.object == "chat.completion"
    assert completion.model == "provenant"
    assert completion.id.startswith("chatcmpl_")
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert "[1]" in message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.completion_tokens > 0

    extra = completion.model_extra["provenant"]
    assert extra["id"] == completion.id
    assert extra["answer"] == message.content
    assert extra["question"] == HEAT_QUESTION
    sources = {s["id"]: s for s in extra["sources"]}
    assert {s["provider"]["name"] for s in sources.values()} == {"Northwind Press"}
    assert extra["cost"]["total_micros"] == 2000 * len(sources)
    assert extra["receipt"]["payload"]["id"] == completion.id
    assert extra["sponsored"] == []
    assert {"attribution", "metadata", "citations"} <= set(extra)

    assert len(message.annotations) == len(extra["citations"]) >= 1
    for annotation, citation in zip(message.annotations, extra["citations"], strict=True):
        assert annotation.type == "url_citation"
        source = sources[citation["source_id"]]
        assert annotation.url_citation.url == source["url"]
        assert annotation.url_citation.title == source["title"]
        assert annotation.url_citation.start_index == citation["answer_start"]
        assert annotation.url_citation.end_index == citation["answer_end"]
        assert message.content[citation["answer_start"] : citation["answer_end"]]

    record = AnswerRecord.objects.get()
    assert record.request_id == completion.id
    assert record.total_micros == extra["cost"]["total_micros"]


def test_sdk_accepts_content_parts_and_ignores_common_parameters(sdk):
    completion = sdk().chat.completions.create(
        model="provenant",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": CANAL_QUESTION},  # earlier turns are not the question
            {"role": "assistant", "content": "I cannot say."},
            {"role": "user", "content": [{"type": "text", "text": HEAT_QUESTION}]},
        ],
        temperature=0.2,
        top_p=0.9,
        n=1,
        seed=7,
        user="end-user-1",
        max_completion_tokens=300,
        stop=["\n\n\n"],
        response_format={"type": "text"},
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
        tool_choice="auto",
    )

    assert completion.model_extra["provenant"]["question"] == HEAT_QUESTION
    assert completion.choices[0].message.tool_calls is None
    assert AnswerRecord.objects.count() == 1


def test_sdk_streaming_sends_role_deltas_provenant_usage_then_done(sdk):
    stream = _chat(sdk(), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "[1]" in text
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1
    assert finishing[0].choices[0].finish_reason == "stop"
    extra = finishing[0].model_extra["provenant"]
    assert extra["id"] == chunks[0].id
    assert extra["answer"] == text
    assert extra["cost"]["total_micros"] == 2000 * len(extra["sources"])
    annotations = finishing[0].choices[0].delta.model_extra["annotations"]
    assert len(annotations) == len(extra["citations"])
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.total_tokens == (
        usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert AnswerRecord.objects.get().request_id == chunks[0].id
    assert UsageEvent.objects.count() == len(extra["sources"])


def test_sdk_streaming_without_usage_sends_no_usage_chunk(sdk):
    chunks = list(_chat(sdk(), stream=True))

    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "provenant" in chunks[-1].model_extra


def test_sdk_lists_and_retrieves_the_model(sdk):
    client = sdk()

    models = client.models.list()

    assert [m.id for m in models.data] == ["provenant"]
    assert models.data[0].object == "model"
    assert models.data[0].owned_by == "provenant"
    assert isinstance(models.data[0].created, int)
    assert client.models.retrieve("provenant").id == "provenant"
    with pytest.raises(openai.NotFoundError) as error:
        client.models.retrieve("gpt-4o")
    assert error.value.code == "model_not_found"


def test_sdk_unknown_model_is_404_model_not_found(sdk):
    with pytest.raises(openai.NotFoundError) as error:
        sdk().chat.completions.create(model="gpt-4o", messages=_user(HEAT_QUESTION))

    assert error.value.status_code == 404
    assert error.value.code == "model_not_found"
    assert "gpt-4o" in error.value.message
    assert _nothing_metered()


def test_sdk_bad_key_is_an_authentication_error(sdk):
    with pytest.raises(openai.AuthenticationError) as error:
        _chat(sdk(api_key="pvn_nope_notakey"))

    assert error.value.status_code == 401
    assert error.value.code == "invalid_api_key"
    assert error.value.type == "authentication_error"
    assert error.value.body["message"] == "Invalid API key."  # the `error` object's message
    assert "Invalid API key." in error.value.message  # how the SDK words it varies by version
    with pytest.raises(openai.AuthenticationError):
        sdk(api_key="pvn_nope_notakey").models.list()
    assert _nothing_metered()


def test_sdk_unlicensed_content_is_402_with_the_offers(sdk, market):
    with pytest.raises(openai.APIStatusError) as error:
        _chat(sdk(), CANAL_QUESTION)

    assert error.value.status_code == 402
    assert error.value.code == "license_required"
    assert error.value.type == "payment_required"
    assert "Harbor Guides" in error.value.message  # the message names the offers
    body = error.value.response.json()
    assert body["code"] == "license_required"
    assert [o["offer_id"] for o in body["details"]["offers"]] == [str(market.canals_offer.id)]
    assert _nothing_metered()


def test_sdk_streaming_refusal_is_an_error_before_the_stream(sdk):
    with pytest.raises(openai.APIStatusError) as error:
        _chat(sdk(), CANAL_QUESTION, stream=True)

    assert error.value.status_code == 402
    assert error.value.code == "license_required"
    assert IdempotencyRecord.objects.count() == 0
    assert _nothing_metered()


def test_sdk_price_limit_rides_in_extra_body(sdk):
    client = sdk()
    question = "How do heat pumps extract heat from outdoor air?"

    completion = _chat(client, question, extra_body={"provenant": {"max_price_micros": 2000}})
    with pytest.raises(openai.APIStatusError) as error:
        _chat(client, question, extra_body={"provenant": {"max_price_micros": 1999}})

    cost = completion.model_extra["provenant"]["cost"]
    assert cost["total_micros"] == 2000
    assert cost["max_price_micros"] == 2000
    assert len(cost["left_out_for_price"]) == 1
    assert len(completion.model_extra["provenant"]["sources"]) == 1
    assert error.value.status_code == 402
    assert error.value.code == "price_limit_too_low"
    assert AnswerRecord.objects.count() == 1


def test_sdk_collections_and_max_sources_ride_in_extra_body(sdk, market):
    options = {"collections": [str(market.canals.id)], "max_sources": 1}
    with pytest.raises(openai.NotFoundError) as error:
        _chat(sdk(), extra_body={"provenant": options})

    assert error.value.code == "no_matching_content"
    assert _nothing_metered()


def test_sdk_idempotency_key_replays_the_same_answer_metered_once(sdk):
    client = sdk()
    headers = {"Idempotency-Key": "chat-retry-1"}

    first = _chat(client, extra_headers=headers)
    second = _chat(client, extra_headers=headers)
    raw = client.chat.completions.with_raw_response.create(
        model="provenant", messages=_user(HEAT_QUESTION), extra_headers=headers
    )

    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert raw.headers["Idempotent-Replayed"] == "true"
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == len(first.model_extra["provenant"]["sources"])


def test_sdk_idempotency_key_replays_a_stream(sdk):
    client = sdk()
    headers = {"Idempotency-Key": "chat-stream-1"}
    options = {"stream": True, "stream_options": {"include_usage": True}, "extra_headers": headers}

    first = list(_chat(client, **options))
    second = list(_chat(client, **options))

    def text(chunks):
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    def provenant(chunks):
        return next(c.model_extra["provenant"] for c in chunks if "provenant" in c.model_extra)

    assert {c.id for c in second} == {first[0].id}
    assert text(second) == text(first)
    assert provenant(second) == provenant(first)
    assert second[-1].usage == first[-1].usage
    assert AnswerRecord.objects.count() == 1


def test_sdk_over_the_rate_limit_is_a_rate_limit_error(sdk):
    client = sdk(rate_limit_per_minute=1)
    _chat(client)

    with pytest.raises(openai.RateLimitError) as error:
        _chat(client)

    assert error.value.status_code == 429
    assert int(error.value.response.headers["Retry-After"]) >= 1
    assert error.value.type == "rate_limit_error"
    assert AnswerRecord.objects.count() == 1


def test_sdk_provider_key_is_a_permission_error(sdk, market):
    with pytest.raises(openai.PermissionDeniedError) as error:
        _chat(sdk(market.northwind))

    assert error.value.status_code == 403
    assert error.value.code == "insufficient_scope"  # a provider's keys cannot hold `query`
    assert _nothing_metered()


def test_sdk_metering_refusal_mid_stream_is_an_api_error(sdk, market):
    LicenseAgreement.objects.filter(offer_id=market.energy_offer.id).update(spend_cap_micros=1)
    stream = _chat(
        sdk(), stream=True, extra_headers={"Idempotency-Key": "capped"}, max_completion_tokens=50
    )

    with pytest.raises(openai.APIError) as error:
        list(stream)

    assert error.value.code == "spend_cap_reached"
    assert IdempotencyRecord.objects.count() == 0  # released: a retry runs again
    assert _nothing_metered()


# -- through the API client --------------------------------------------------------------------


def _post(client, body, **headers):
    return client.post("/v1/chat/completions", body, format="json", headers=headers)


def _body(**overrides):
    return {"model": "provenant", "messages": _user(HEAT_QUESTION), **overrides}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"model": "provenant"}, "invalid", "messages"),
        (_body(messages=[]), "invalid", "messages"),
        (_body(messages="hello"), "invalid", "messages"),
        (_body(messages=["hello"]), "invalid", "messages.0.non_field_errors"),
        (_body(messages=[{"content": "hi"}]), "invalid", "messages.0.role"),
        (_body(messages=[{"role": "robot", "content": "hi"}]), "invalid", "messages.0.role"),
        (_body(messages=[{"role": "user", "content": 42}]), "invalid", "messages.0.content"),
        (_body(messages=[{"role": "user", "content": [{"text": "x"}]}]), "invalid", None),
        (
            _body(messages=[{"role": "user", "content": [{"type": "text", "text": 1}]}]),
            "invalid",
            "messages.0.content",
        ),
        (_body(messages=[{"role": "user", "content": ""}]), "empty_question", None),
        (_body(messages=[{"role": "user", "content": "  "}]), "empty_question", None),
        (_body(messages=[{"role": "user", "content": []}]), "empty_question", None),
        (_body(messages=[{"role": "user"}]), "empty_question", None),
        (_body(messages=[{"role": "system", "content": "Be brief."}]), "empty_question", None),
        (
            _body(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                    }
                ]
            ),
            "unsupported_content",
            None,
        ),
        (_body(messages=_user("x" * 2001)), "question_too_long", None),
        (_body(model=None), "invalid", "model"),
        (_body(model=3), "invalid", "model"),
        (_body(n=2), "invalid", "n"),
        (_body(n="one"), "invalid", "n"),
        (_body(max_tokens=0), "invalid", "max_tokens"),
        (_body(max_completion_tokens="many"), "invalid", "max_completion_tokens"),
        (_body(stream="sometimes"), "invalid", "stream"),
        (_body(stream=True, stream_options={"include_usage": "x"}), "invalid", None),
        (_body(stream_options={"colour": True}), "unknown_field", None),
        (_body(frobnicate=True), "unknown_field", "frobnicate"),
        (_body(response_format={"type": "json_object"}), "invalid", "response_format"),
        (_body(tool_choice="required"), "invalid", "tool_choice"),
        (_body(tool_choice={"type": "function", "function": {"name": "f"}}), "invalid", None),
        (_body(provenant={"max_sources": 0}), "invalid", None),
        (_body(provenant={"max_price_micros": -1}), "invalid", None),
        (_body(provenant={"max_price_micros": "lots"}), "invalid", None),
        (_body(provenant={"collections": ["not-a-uuid"]}), "invalid", None),
        (_body(provenant={"collections": []}), "invalid", None),
        (_body(provenant={"colour": "red"}), "unknown_field", None),
        (_body(provenant="cheap"), "invalid", "provenant.non_field_errors"),
    ],
)
def test_bad_input_is_400_in_both_error_formats_and_meters_nothing(
    bare_agent_client, body, code, param
):
    response = _post(bare_agent_client, body)

    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == code
    assert set(data) == {"code", "message", "details", "error"}
    assert data["error"]["type"] == "invalid_request_error"
    assert data["error"]["code"] == code
    assert data["error"]["message"].startswith(data["message"].rstrip("."))
    if param is not None:
        assert data["error"]["param"] == param
    assert _nothing_metered()
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_validation_messages_name_the_field(market, agent_client):
    response = _post(agent_client, _body(n=2))

    assert response.json()["error"]["message"] == "Invalid input (n: Only n=1 is supported.)"


@pytest.mark.django_db
def test_malformed_json_is_400_in_both_formats(market, agent_client):
    response = agent_client.post(
        "/v1/chat/completions", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_unknown_model_is_404_and_meters_nothing(market, agent_client):
    response = _post(agent_client, _body(model="gpt-4o"))

    assert response.status_code == 404
    assert response.json()["code"] == "model_not_found"
    assert response.json()["error"] == {
        "message": "The model 'gpt-4o' does not exist; use 'provenant'.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    assert _nothing_metered()


@pytest.mark.django_db
def test_unknown_model_id_is_404(market, agent_client):
    response = agent_client.get("/v1/models/gpt-4o")

    assert response.status_code == 404
    assert response.json()["code"] == "model_not_found"


@pytest.mark.django_db
def test_models_list_shape(market, agent_client):
    response = agent_client.get("/v1/models")

    assert response.status_code == 200
    assert response.json() == {
        "object": "list",
        "data": [
            {"id": "provenant", "object": "model", "created": 1735689600, "owned_by": "provenant"}
        ],
    }


@pytest.mark.django_db
def test_without_a_key_it_is_401_in_both_formats(market, api_client):
    for response in (api_client.get("/v1/models"), _post(api_client, _body())):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.json()["error"]["type"] == "authentication_error"
    assert _nothing_metered()


@pytest.mark.django_db
def test_a_provider_key_or_a_key_without_the_query_scope_is_403(market, key_client):
    provider = _post(key_client(market.northwind), _body())
    unscoped = _post(key_client(market.agent, scopes=["licensing"]), _body())

    assert provider.status_code == 403
    assert provider.json()["code"] == "insufficient_scope"
    assert provider.json()["error"]["type"] == "permission_error"
    assert unscoped.status_code == 403
    assert unscoped.json()["code"] == "insufficient_scope"
    assert _nothing_metered()


@pytest.mark.django_db
def test_another_agent_cannot_replay_this_agents_answer(market, agent_client, make_org, key_client):
    from licensing import services as licensing

    other, _ = make_org(roles=("agent",), name="Other Agents")
    licensing.accept_offer(**acting_for(other), offer_id=market.energy_offer.id)

    mine = _post(agent_client, _body(), **{"Idempotency-Key": "shared"}).json()
    theirs = _post(key_client(other), _body(), **{"Idempotency-Key": "shared"}).json()

    assert mine["id"] != theirs["id"]
    assert AnswerRecord.objects.get(request_id=theirs["id"]).agent_id == other.id
    assert AnswerRecord.objects.count() == 2


@pytest.mark.django_db
def test_keys_are_separate_from_the_answers_endpoint(market, agent_client):
    headers = {"Idempotency-Key": "both"}
    chat = _post(agent_client, _body(), **headers).json()
    answer = agent_client.post(
        "/api/v1/answers", {"question": HEAT_QUESTION}, format="json", headers=headers
    ).json()

    assert chat["id"] != answer["id"]
    assert AnswerRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_key_reused_for_another_request_is_422(market, agent_client):
    headers = {"Idempotency-Key": "reuse"}
    _post(agent_client, _body(), **headers)

    response = _post(agent_client, _body(stream=True), **headers)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert AnswerRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_releases_its_key(market, agent_client):
    headers = {"Idempotency-Key": "after-402"}
    assert _post(agent_client, _body(messages=_user(CANAL_QUESTION)), **headers).status_code == 402
    assert IdempotencyRecord.objects.count() == 0

    agent_client.post(f"/api/v1/market/offers/{market.canals_offer.id}/accept")
    response = _post(agent_client, _body(messages=_user(CANAL_QUESTION)), **headers)

    assert response.status_code == 200
    assert AnswerRecord.objects.count() == 1


@pytest.mark.django_db
def test_stream_events_are_data_only_and_end_with_done(market, agent_client):
    response = _post(agent_client, _body(stream=True))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    blocks = [b for b in b"".join(response.streaming_content).decode().split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    assert blocks[-1] == "data: [DONE]"
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["provenant"]["id"] == chunks[0]["id"]


@pytest.mark.django_db
def test_max_tokens_reaches_the_model(market, agent_client, settings):
    from tests.inference_client.conftest import FakeOpenAIServer, Reply

    server = FakeOpenAIServer()
    server.start()
    try:
        server.default = Reply(content="Inverter compressors keep them working [1].")
        settings.INFERENCE_BACKEND = "openai"
        settings.INFERENCE_BASE_URL = server.base_url
        settings.INFERENCE_MODEL = "test-model"

        response = _post(agent_client, _body(max_tokens=64))
    finally:
        server.stop()

    assert response.status_code == 200
    body = response.json()
    assert body["choices"][0]["message"]["content"] == (
        "Inverter compressors keep them working [1]."
    )
    assert body["provenant"]["metadata"]["served_by"] == "openai"
    sent = server.requests[0]
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 64


@pytest.mark.django_db
def test_get_on_chat_completions_is_405_in_both_formats(market, agent_client):
    response = agent_client.get("/v1/chat/completions")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_sdk_declared_revenue_rides_in_extra_body(sdk):
    completion = _chat(sdk(), extra_body={"provenant": {"revenue_micros": 250_000}})

    assert completion.model_extra["provenant"]["sources"]
    assert AnswerRecord.objects.get().revenue_micros == 250_000
