"""POST /api/v1/answers: licensed retrieval, citations, attribution, metering, receipts."""

import json

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts_services
from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"


def _ask(client, **body):
    return client.post("/api/v1/answers", body, format="json")


def _nothing_metered():
    return AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0


def test_answer_is_cited_attributed_metered_and_signed(market, agent_client):
    response = _ask(agent_client, question=HEAT_QUESTION)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"].startswith("ans_")
    assert "[1]" in body["answer"]
    sources = {s["id"]: s for s in body["sources"]}
    assert sources
    assert {s["provider"]["name"] for s in sources.values()} == {"Northwind Press"}
    assert {s["title"] for s in sources.values()} <= {
        "How heat pumps work",
        "Heat pumps in freezing weather",
    }
    for source in sources.values():
        assert source["license"]["offer_id"] == str(market.energy_offer.id)
        assert source["license"]["offer_version"] == 1
        assert source["price"] == {"units": 1, "amount_micros": 2000, "currency": "USD"}
        assert source["url"].startswith("https://")
    for citation in body["citations"]:
        assert citation["source_id"] in sources
        claim = body["answer"][citation["answer_start"] : citation["answer_end"]]
        assert claim
        snippet = sources[citation["source_id"]]["snippet"]
        if citation["source_start"] is not None:
            cited = snippet[citation["source_start"] : citation["source_end"]]
            assert cited == citation["cited_text"]

    attribution = body["attribution"]
    weights = [s["weight_ppm"] for s in attribution["sources"]]
    assert sum(weights) + attribution["unattributed_ppm"] == 1_000_000
    assert attribution["providers"] == [
        {
            "provider_id": str(market.northwind.id),
            "name": "Northwind Press",
            "weight_ppm": sum(weights),
            "amount_micros": 2000 * len(sources),
        }
    ]
    assert body["cost"]["total_micros"] == 2000 * len(sources)
    assert body["cost"]["currency"] == "USD"
    assert body["sponsored"] == []
    assert body["metadata"]["served_by"] == "extractive"
    assert body["metadata"]["fallback"] is False

    record = AnswerRecord.objects.get(request_id=body["id"])
    assert record.total_micros == 2000 * len(sources)
    events = UsageEvent.objects.filter(answer=record)
    assert events.count() == len(sources)
    assert {e.provider_id for e in events} == {market.northwind.id}
    by_chunk = {f"chunk_{e.chunk_id}": e for e in events}
    for source_id, source in sources.items():
        assert by_chunk[source_id].attribution_weight_ppm == next(
            w["weight_ppm"] for w in attribution["sources"] if w["source_id"] == source_id
        )
        assert by_chunk[source_id].cited == source["cited"]

    verified = APIClient().post(
        "/api/v1/receipts/verify", {"receipt": body["receipt"]}, format="json"
    )
    assert verified.json() == {"valid": True, "reason": "valid", "metered": True}
    payload = body["receipt"]["payload"]
    assert payload["id"] == body["id"]
    assert payload["total_micros"] == body["cost"]["total_micros"]


def test_a_tampered_receipt_does_not_verify(market, agent_client):
    body = _ask(agent_client, question=HEAT_QUESTION).json()
    receipt = json.loads(json.dumps(body["receipt"]))
    receipt["payload"]["sources"][0]["amount_micros"] = 1

    response = APIClient().post("/api/v1/receipts/verify", {"receipt": receipt}, format="json")

    assert response.json() == {
        "valid": False,
        "reason": "the signature does not match the payload",
        "metered": None,
    }


def test_receipt_verifies_offline_with_the_public_key(market, agent_client):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from marketplace.services.receipts import _unb64, canonical_json

    body = _ask(agent_client, question=HEAT_QUESTION).json()
    key = APIClient().get("/api/v1/receipts/public-key").json()

    public = Ed25519PublicKey.from_public_bytes(_unb64(key["public_key"]))
    message = json.dumps(
        body["receipt"]["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert message == canonical_json(body["receipt"]["payload"])
    public.verify(_unb64(body["receipt"]["signature"]), message)  # raises if invalid
    assert body["receipt"]["key_id"] == key["key_id"]


def test_offer_snippet_limit_applies_and_free_sources_cost_nothing(market, agent_client):
    response = _ask(agent_client, question="What happens to memory during deep sleep?")

    assert response.status_code == 200, response.json()
    body = response.json()
    sleep_sources = [s for s in body["sources"] if s["provider"]["name"] == "Helio Science"]
    assert sleep_sources
    for source in sleep_sources:
        assert len(source["snippet"]) <= 200
        assert source["license"]["citation_required"] is True
        assert source["price"]["amount_micros"] == 0
        assert source["span"]["end"] - source["span"]["start"] == len(source["snippet"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"question": ""}, "empty_question"),
        ({"question": "   "}, "empty_question"),
        ({"question": "x" * 2001}, "question_too_long"),
        ({"question": 42}, "invalid"),
        ({"question": ["a"]}, "invalid"),
        ({}, "invalid"),
        ({"question": "heat pump", "colour": "red"}, "unknown_field"),
        ({"question": "heat pump", "max_sources": 0}, "invalid"),
        ({"question": "heat pump", "max_sources": 500}, "invalid"),
        ({"question": "heat pump", "max_price_micros": -1}, "invalid"),
        ({"question": "heat pump", "max_price_micros": "lots"}, "invalid"),
        ({"question": "heat pump", "collections": ["not-a-uuid"]}, "invalid"),
        ({"question": "heat pump", "collections": []}, "invalid"),
    ],
)
def test_bad_input_is_400_and_meters_nothing(market, agent_client, body, code):
    response = _ask(agent_client, **body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}
    assert _nothing_metered()


def test_malformed_json_is_400(market, agent_client):
    response = agent_client.post(
        "/api/v1/answers", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unlicensed_content_is_402_listing_the_offers_that_cover_it(market, agent_client):
    response = _ask(agent_client, question="When did the Panama Canal open?")

    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "license_required"
    offers = body["details"]["offers"]
    assert [o["offer_id"] for o in offers] == [str(market.canals_offer.id)]
    assert offers[0]["price_micros"] == 5000
    assert offers[0]["price_unit"] == "cited_source"
    assert offers[0]["accept_url"] == f"/api/v1/market/offers/{market.canals_offer.id}/accept"
    assert _nothing_metered()


def test_accepting_the_listed_offer_makes_the_question_answerable(market, agent_client):
    offer_id = _ask(agent_client, question="When did the Panama Canal open?").json()["details"][
        "offers"
    ][0]["offer_id"]
    assert agent_client.post(f"/api/v1/market/offers/{offer_id}/accept").status_code in (200, 201)

    response = _ask(agent_client, question="When did the Panama Canal open?")

    assert response.status_code == 200
    body = response.json()
    assert {s["provider"]["name"] for s in body["sources"]} == {"Harbor Guides"}
    cited = [s for s in body["sources"] if s["cited"]]
    assert body["cost"]["total_micros"] == 5000 * len(cited)


def test_a_question_nothing_matches_is_404(market, agent_client):
    response = _ask(agent_client, question="zymurgy xylophone quokka")

    assert response.status_code == 404
    assert response.json()["code"] == "no_matching_content"
    assert _nothing_metered()


def test_price_limit_below_the_cheapest_source_is_402_with_the_quote(market, agent_client):
    response = _ask(agent_client, question=HEAT_QUESTION, max_price_micros=1999)

    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "price_limit_too_low"
    assert body["details"]["cheapest_source_micros"] == 2000
    quote = body["details"]["quote"]
    assert quote["total_micros"] == 2000 * quote["sources"]
    assert quote["currency"] == "USD"
    assert _nothing_metered()


def test_price_limit_chooses_sources_within_it_and_says_what_was_left_out(market, agent_client):
    response = _ask(
        agent_client,
        question="How do heat pumps extract heat from outdoor air?",
        max_price_micros=2000,
    )

    assert response.status_code == 200
    body = response.json()
    assert len(body["sources"]) == 1
    assert body["cost"]["total_micros"] == 2000
    assert body["cost"]["max_price_micros"] == 2000
    left_out = body["cost"]["left_out_for_price"]
    assert len(left_out) == 1
    assert left_out[0]["price_micros"] == 2000
    assert left_out[0]["reason"] == "price"
    assert left_out[0]["source_id"] not in {s["id"] for s in body["sources"]}


def test_collections_outside_the_agents_licenses_are_not_used(market, agent_client):
    only_canals = [str(market.canals.id)]
    canal = _ask(agent_client, question="When did the Panama Canal open?", collections=only_canals)
    heat = _ask(agent_client, question=HEAT_QUESTION, collections=only_canals)

    assert canal.status_code == 402  # the canal collection is for sale, not licensed
    assert heat.status_code == 404  # the licensed heat pump articles are not in that collection
    assert _nothing_metered()


def test_revoked_key_is_401(market, make_key):
    secret = make_key(market.agent)
    owner = market.agent.memberships.get(role="owner").user
    key = accounts_services.list_api_keys(
        actor=accounts_services.actor_for_user(user_id=owner.pk), organization_id=market.agent.id
    )[0]
    accounts_services.revoke_api_key(
        actor=accounts_services.actor_for_user(user_id=owner.pk),
        organization_id=market.agent.id,
        api_key_id=key.id,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = _ask(client, question=HEAT_QUESTION)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert _nothing_metered()


def test_a_provider_key_or_a_key_without_the_query_scope_is_403(market, key_client):
    assert _ask(key_client(market.northwind), question=HEAT_QUESTION).status_code == 403
    response = _ask(key_client(market.agent, scopes=["licensing"]), question=HEAT_QUESTION)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert _nothing_metered()


def test_over_the_rate_limit_is_429_with_retry_after(market, key_client):
    client = key_client(market.agent, rate_limit_per_minute=1)
    assert _ask(client, question=HEAT_QUESTION).status_code == 200

    response = _ask(client, question=HEAT_QUESTION)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert AnswerRecord.objects.count() == 1


def test_spend_cap_refuses_the_answer_that_would_pass_it(market, agent_client):
    LicenseAgreement.objects.filter(offer_id=market.energy_offer.id).update(spend_cap_micros=2000)
    first = _ask(agent_client, question=HEAT_QUESTION, max_sources=1)
    assert first.status_code == 200
    assert first.json()["cost"]["total_micros"] == 2000

    second = _ask(agent_client, question=HEAT_QUESTION, max_sources=1)

    assert second.status_code == 402
    assert second.json()["code"] == "spend_cap_reached"
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == 1


def test_inference_server_down_falls_back_and_says_so(market, agent_client, settings):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.INFERENCE_BACKEND = "openai"
    settings.INFERENCE_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.INFERENCE_MODEL = "test-model"

    response = _ask(agent_client, question=HEAT_QUESTION)

    assert response.status_code == 200
    meta = response.json()["metadata"]
    assert meta["backend"] == "openai"
    assert meta["served_by"] == "extractive"
    assert meta["fallback"] is True
    assert meta["fallback_reason"] == "connection_error"
    assert AnswerRecord.objects.count() == 1


def test_answers_from_an_openai_compatible_server(market, agent_client, settings):
    from tests.inference_client.conftest import FakeOpenAIServer, Reply

    server = FakeOpenAIServer()
    server.start()
    try:
        server.default = Reply(
            content="Inverter compressors keep cold-climate heat pumps working [1]."
        )
        settings.INFERENCE_BACKEND = "openai"
        settings.INFERENCE_BASE_URL = server.base_url
        settings.INFERENCE_MODEL = "test-model"

        response = _ask(agent_client, question=HEAT_QUESTION, max_sources=2)
    finally:
        server.stop()

    assert response.status_code == 200
    body = response.json()
    assert body["answer"] == "Inverter compressors keep cold-climate heat pumps working [1]."
    assert body["metadata"]["served_by"] == "openai"
    assert body["metadata"]["model"] == "test-model"
    assert [c["source_id"] for c in body["citations"]] == [body["sources"][0]["id"]]
    prompt = json.dumps(server.requests[0])
    assert "inverter" in prompt.lower()  # the licensed passages reached the model


def test_streaming_sends_deltas_then_the_metered_answer(market, agent_client):
    response = _ask(agent_client, question=HEAT_QUESTION, stream=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    raw = b"".join(response.streaming_content).decode()
    events = [block for block in raw.split("\n\n") if block]
    names = [block.split("\n")[0].removeprefix("event: ") for block in events]
    assert names[-1] == "answer.completed"
    assert "answer.delta" in names
    final = json.loads(events[-1].split("\n")[1].removeprefix("data: "))
    deltas = "".join(
        json.loads(b.split("\n")[1].removeprefix("data: "))["text"]
        for b in events
        if b.startswith("event: answer.delta")
    )
    assert final["answer"]
    assert deltas
    assert AnswerRecord.objects.get().request_id == final["id"]
    assert UsageEvent.objects.count() == len(final["sources"])


def test_streaming_refusals_are_plain_json_errors(market, agent_client):
    response = _ask(agent_client, question="When did the Panama Canal open?", stream=True)
    assert response.status_code == 402
    assert response.json()["code"] == "license_required"


def test_the_provider_sees_the_use_with_its_amount(market, agent_client, key_client):
    body = _ask(agent_client, question=HEAT_QUESTION).json()

    provider_client = key_client(market.northwind)
    events = provider_client.get("/api/v1/provider/usage/events").json()

    rows = events["results"] if isinstance(events, dict) else events
    assert {r["request_id"] for r in rows} == {body["id"]}
    assert sum(r["amount_micros"] for r in rows) == body["cost"]["total_micros"]
    helio_rows = key_client(market.helio).get("/api/v1/provider/usage/events").json()
    assert (helio_rows["results"] if isinstance(helio_rows, dict) else helio_rows) == []


def answer_path_queries() -> int:
    """Return the most statements one warm answer may make on this database."""
    from django.conf import settings
    from django.db import connection

    postgres = settings.RETRIEVAL_BACKEND in ("auto", "postgres") and (
        connection.vendor == "postgresql"
    )
    return 13 if postgres else 11


def test_answer_path_queries_are_bounded(market, agent_client, django_assert_max_num_queries):
    _ask(agent_client, question=HEAT_QUESTION)  # warm the entitlement cache
    # Key, organization, retrieval (2), agreements locked, answer row, spend, savepoints (4:
    # metering's, and the one that stores the response with it); the usage events go in by
    # COPY on PostgreSQL, which the counter does not see. PostgreSQL's BM25 search asks in
    # rounds while the k-th score is not settled: two more here.
    with django_assert_max_num_queries(answer_path_queries()):
        response = _ask(agent_client, question=HEAT_QUESTION)
    assert response.status_code == 200


def test_passages_matching_one_word_of_the_question_are_not_bought(market, agent_client):
    # The heat pump articles share only "heat" with this question: not worth paying for.
    response = _ask(agent_client, question="What are the symptoms of heat exhaustion in runners?")

    assert response.status_code == 404
    assert response.json()["code"] == "no_matching_content"
    assert _nothing_metered()


def test_relevance_gate_keeps_passages_covering_the_question():
    import uuid

    from catalog.services.retrieval import ChunkHit
    from marketplace.services.answers import relevant_hits

    def hit(chunk_id, score, text):
        return ChunkHit(
            chunk_id=chunk_id,
            document_id=chunk_id,
            collection_id=uuid.uuid4(),
            provider_org_id=uuid.uuid4(),
            score=score,
            text=text,
            char_start=0,
            char_end=len(text),
            document_title="",
            document_url="",
            document_author="",
            document_published_at=None,
        )

    hits = [
        hit(1, 9.0, "Sourdough rises because wild yeast ferments the flour."),
        hit(2, 5.0, "Bread prices rose again this year."),  # shares no content word
        hit(3, 2.0, "Why sourdough rising takes hours."),  # covers both, but scores too low
    ]

    kept = relevant_hits("Why does sourdough rise?", hits)

    assert [h.chunk_id for h in kept] == [1]


def test_a_402_says_when_a_licence_lapsed_for_an_unpaid_renewal(market, agent_client):
    agreement = licensing.accept_offer(**acting_for(market.agent), offer_id=market.canals_offer.id)
    licensing.lapse_agreement(agreement_id=agreement.id, reason=licensing.RENEWAL_UNPAID)

    response = _ask(agent_client, question="When did the Panama Canal open?")

    assert response.status_code == 402
    body = response.json()
    assert "lapsed: its renewal was not paid" in body["message"]
    assert body["details"]["lapsed"] == [
        {
            "agreement_id": str(agreement.id),
            "offer_id": str(market.canals_offer.id),
            "reason": "renewal_unpaid",
            "ended_at": body["details"]["lapsed"][0]["ended_at"],
        }
    ]


def test_declared_revenue_is_metered_with_the_answer(market, agent_client):
    response = _ask(agent_client, question=HEAT_QUESTION, revenue_micros=1_500_000)

    assert response.status_code == 200
    assert AnswerRecord.objects.get().revenue_micros == 1_500_000


@pytest.mark.parametrize("revenue", [-1, "5", 10**16, True])
def test_a_bad_declared_revenue_is_400_and_meters_nothing(market, agent_client, revenue):
    response = _ask(agent_client, question=HEAT_QUESTION, revenue_micros=revenue)

    assert response.status_code == 400
    assert "revenue_micros" in response.json()["details"]
    assert _nothing_metered()
