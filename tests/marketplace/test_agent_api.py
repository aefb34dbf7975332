"""Licensed search, usage summaries and safe retries (Idempotency-Key) of the agent API."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from licensing.models import AnswerRecord, UsageEvent
from marketplace.models import IdempotencyRecord
from marketplace.services import idempotency
from tests.acting import acting_for
from tests.marketplace.conftest import reset_by_client

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent requests need PostgreSQL (set DATABASE_URL to run it)",
)


def _ask(client, headers=None, **body):
    return client.post("/api/v1/answers", body, format="json", headers=headers or {})


# -- search -----------------------------------------------------------------------------------


def test_search_returns_licensed_snippets_with_their_terms_and_meters_them(market, agent_client):
    response = agent_client.get("/api/v1/search", {"q": "heat pump freezing", "limit": 3})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"].startswith("srch_")
    assert body["results"]
    for result in body["results"]:
        assert result["provider"]["name"] == "Northwind Press"
        assert result["license"]["offer_id"] == str(market.energy_offer.id)
        assert result["license"]["payment_type"] == "use"
        assert result["price"]["amount_micros"] == 2000
        assert len(result["snippet"]) <= 400
    assert body["cost"]["total_micros"] == 2000 * len(body["results"])
    record = AnswerRecord.objects.get(request_id=body["id"])
    assert record.usage_type == "search"
    events = UsageEvent.objects.filter(answer=record)
    assert events.count() == len(body["results"])
    assert sum(e.attribution_weight_ppm for e in events) <= 1_000_000


def test_search_outside_the_licenses_is_402_with_offers(market, agent_client):
    response = agent_client.get("/api/v1/search", {"q": "Panama Canal locks"})

    assert response.status_code == 402
    assert response.json()["details"]["offers"][0]["offer_id"] == str(market.canals_offer.id)
    assert AnswerRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "x" * 2001}, "q"),
        ({"q": "heat", "limit": "ten"}, "limit"),
        ({"q": "heat", "limit": "0"}, "limit"),
        ({"q": "heat", "limit": "51"}, "limit"),
        ({"q": "heat", "max_price_micros": "-5"}, "max_price_micros"),
        ({"q": "heat", "collections": "nope"}, "collections"),
        ({"q": "heat", "page": "2"}, "page"),
    ],
)
def test_search_bad_input_is_400(market, agent_client, params, field):
    response = agent_client.get("/api/v1/search", params)

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert AnswerRecord.objects.count() == 0


# -- usage ------------------------------------------------------------------------------------


def test_usage_groups_cost_by_day_collection_and_provider(market, agent_client, key_client):
    first = _ask(agent_client, question=HEAT_QUESTION).json()
    second = _ask(agent_client, question="What happens to memory during deep sleep?").json()
    agent_client.get("/api/v1/search", {"q": "heat pump", "limit": 1})

    body = agent_client.get("/api/v1/usage").json()

    total = first["cost"]["total_micros"] + second["cost"]["total_micros"] + 2000
    assert body["currency"] == "USD"
    assert body["totals"] == {
        "answers": 2,
        "searches": 1,
        "content_fetches": 0,
        "events": len(first["sources"]) + len(second["sources"]) + 1,
        "amount_micros": total,
    }
    today = timezone.now().date().isoformat()
    assert [row["day"] for row in body["by_day"]] == [today]
    assert body["by_day"][0]["amount_micros"] == total
    providers = {row["name"]: row for row in body["by_provider"]}
    assert providers["Northwind Press"]["amount_micros"] == total
    assert {row["name"] for row in body["by_collection"]} <= {"Energy", "Sleep"}
    assert {row["usage_type"] for row in body["by_usage_type"]} == {"ai-input", "search"}


def test_usage_is_per_agent(market, agent_client, make_org, key_client):
    _ask(agent_client, question=HEAT_QUESTION)
    other, _ = make_org(roles=("agent",), name="Other Agents")

    body = key_client(other).get("/api/v1/usage").json()

    assert body["totals"] == {
        "answers": 0,
        "searches": 0,
        "content_fetches": 0,
        "events": 0,
        "amount_micros": 0,
    }
    assert body["by_provider"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-02-30"},
        {"since": "2026-05-02", "until": "2026-05-01"},
    ],
)
def test_usage_bad_dates_are_400(market, agent_client, params):
    assert agent_client.get("/api/v1/usage", params).status_code == 400


def test_usage_range_excludes_other_days(market, agent_client):
    _ask(agent_client, question=HEAT_QUESTION)
    UsageEvent.objects.update(created_at=timezone.now() - timedelta(days=40))

    body = agent_client.get("/api/v1/usage").json()

    assert body["totals"]["events"] == 0
    since = (timezone.now() - timedelta(days=45)).date().isoformat()
    assert agent_client.get("/api/v1/usage", {"since": since}).json()["totals"]["events"] > 0


# -- idempotency ------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_answer_metered_once(market, agent_client):
    headers = {"Idempotency-Key": "retry-1"}
    first = _ask(agent_client, headers, question=HEAT_QUESTION)
    second = _ask(agent_client, headers, question=HEAT_QUESTION)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == len(first.json()["sources"])


def test_a_key_reused_for_another_question_is_422(market, agent_client):
    headers = {"Idempotency-Key": "retry-2"}
    _ask(agent_client, headers, question=HEAT_QUESTION)

    response = _ask(agent_client, headers, question="What happens to memory during sleep?")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert AnswerRecord.objects.count() == 1


def test_keys_are_per_organization(market, agent_client, make_org, key_client):
    from licensing import services as licensing

    other, _ = make_org(roles=("agent",), name="Other Agents")
    licensing.accept_offer(**acting_for(other), offer_id=market.energy_offer.id)
    headers = {"Idempotency-Key": "shared-key"}

    mine = _ask(agent_client, headers, question=HEAT_QUESTION).json()
    theirs = _ask(key_client(other), headers, question=HEAT_QUESTION).json()

    assert mine["id"] != theirs["id"]
    assert AnswerRecord.objects.count() == 2


def test_a_failed_request_releases_its_key(market, agent_client):
    headers = {"Idempotency-Key": "after-402"}
    refused = _ask(agent_client, headers, question="When did the Panama Canal open?")
    assert refused.status_code == 402
    assert IdempotencyRecord.objects.count() == 0

    agent_client.post(f"/api/v1/market/offers/{market.canals_offer.id}/accept")
    response = _ask(agent_client, headers, question="When did the Panama Canal open?")

    assert response.status_code == 200
    assert AnswerRecord.objects.count() == 1


def _orphan_claim(organization, key: str, body: dict, **fields) -> None:
    """Leave a claim as a request whose process died would: in progress, its lock expired."""
    now = timezone.now()
    IdempotencyRecord.objects.create(
        organization=organization,
        endpoint="answers",
        key=key,
        fingerprint=idempotency.fingerprint(body),
        created_at=now,
        locked_until=now - timedelta(seconds=1),
        **fields,
    )


def test_a_claim_left_by_a_request_that_died_before_metering_is_taken_over(market, agent_client):
    _orphan_claim(market.agent, "orphan", {"question": HEAT_QUESTION})

    response = _ask(agent_client, {"Idempotency-Key": "orphan"}, question=HEAT_QUESTION)

    assert response.status_code == 200
    assert AnswerRecord.objects.get().request_id == response.json()["id"]
    assert IdempotencyRecord.objects.get().status == IdempotencyRecord.Status.COMPLETED


def test_a_claim_left_by_a_request_that_died_after_metering_is_refused_not_rerun(
    market, agent_client
):
    headers = {"Idempotency-Key": "orphan"}
    first = _ask(agent_client, headers, question=HEAT_QUESTION).json()
    # As if the first request's process died after metering, before storing its response.
    IdempotencyRecord.objects.update(
        status=IdempotencyRecord.Status.IN_PROGRESS,
        response_body=None,
        locked_until=timezone.now() - timedelta(seconds=1),
    )

    second = _ask(agent_client, headers, question=HEAT_QUESTION)

    assert second.status_code == 422
    assert second.json()["code"] == "idempotency_key_used"
    assert second.json()["details"] == {"request_id": first["id"]}
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == len(first["sources"])
    # The claim is kept, unlocked: the next retry is refused at once, not after the lock.
    assert _ask(agent_client, headers, question=HEAT_QUESTION).status_code == 422


def test_a_key_whose_stored_response_was_purged_is_refused_not_answered_free(
    market, agent_client, settings
):
    from marketplace.tasks import purge_idempotency_records

    headers = {"Idempotency-Key": "kept-too-long"}
    first = _ask(agent_client, headers, question=HEAT_QUESTION).json()
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_S + 1)
    )
    assert purge_idempotency_records.delay().get() == 1

    again = _ask(agent_client, headers, question=HEAT_QUESTION)

    assert again.status_code == 422
    assert again.json()["code"] == "idempotency_key_used"
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == len(first["sources"])


def test_a_purged_key_sent_with_another_question_is_a_new_paid_answer(
    market, agent_client, settings
):
    from marketplace.tasks import purge_idempotency_records

    headers = {"Idempotency-Key": "kept-too-long"}
    first = _ask(agent_client, headers, question=HEAT_QUESTION, max_sources=1).json()
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_S + 1)
    )
    purge_idempotency_records.delay().get()

    other = _ask(agent_client, headers, question="How does a heat pump move heat?", max_sources=1)

    assert other.status_code == 200
    body = other.json()
    assert body["id"] != first["id"]  # metered under its own request id: it is paid for
    assert body["cost"]["total_micros"] == 2000
    assert AnswerRecord.objects.count() == 2
    assert sum(UsageEvent.objects.values_list("amount_micros", flat=True)) == 4000


def test_a_stream_cut_off_by_the_client_after_metering_keeps_its_key(market, agent_client):
    headers = {"Idempotency-Key": "reset"}
    response = _ask(agent_client, headers, question=HEAT_QUESTION, stream=True)
    first_event = next(iter(response.streaming_content))
    assert first_event.startswith(b"event: answer.delta")
    reset_by_client(response)  # the client reset the connection after the first bytes
    metered = AnswerRecord.objects.get()

    same = _ask(agent_client, headers, question=HEAT_QUESTION, stream=True)
    other = _ask(agent_client, headers, question="What happens to memory during sleep?")

    assert (same.status_code, same.json()["code"]) == (422, "idempotency_key_used")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert list(AnswerRecord.objects.values_list("request_id", flat=True)) == [metered.request_id]
    assert UsageEvent.objects.filter(answer=metered).count() == metered.sources_count


def test_a_duplicate_of_a_request_in_progress_is_409_at_once(
    market, agent_client, django_assert_max_num_queries
):
    now = timezone.now()
    IdempotencyRecord.objects.create(
        organization=market.agent,
        endpoint="answers",
        key="busy",
        fingerprint=idempotency.fingerprint({"question": HEAT_QUESTION}),
        created_at=now,
        locked_until=now + timedelta(seconds=60),
    )

    # No polling: key, organization, the claim's insert (savepoint) and one read of the claim.
    with django_assert_max_num_queries(8):
        response = _ask(agent_client, {"Idempotency-Key": "busy"}, question=HEAT_QUESTION)

    assert response.status_code == 409
    assert response.json()["code"] == "request_in_progress"
    assert AnswerRecord.objects.count() == 0


def test_a_streamed_answer_is_replayed_to_a_retry(market, agent_client):
    headers = {"Idempotency-Key": "stream-1"}
    first = _ask(agent_client, headers, question=HEAT_QUESTION, stream=True)
    raw_first = b"".join(first.streaming_content).decode()

    second = _ask(agent_client, headers, question=HEAT_QUESTION, stream=True)
    raw_second = b"".join(second.streaming_content).decode()

    assert second["Idempotent-Replayed"] == "true"

    def completed(raw: str) -> dict:
        block = raw.split("event: answer.completed\n")[1]
        return json.loads(block.split("\n")[0].removeprefix("data: "))

    assert completed(raw_second) == completed(raw_first)
    assert AnswerRecord.objects.count() == 1


def test_invalid_idempotency_keys_are_400(market, agent_client):
    response = _ask(agent_client, {"Idempotency-Key": "x" * 256}, question=HEAT_QUESTION)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_are_answered_once(make_org, make_key, search_index, request):
    from rest_framework.test import APIClient

    market = request.getfixturevalue("market")
    secret = make_key(market.agent)
    results, barrier = [], threading.Barrier(4)

    def ask():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        try:
            response = _ask(client, {"Idempotency-Key": "race"}, question=HEAT_QUESTION)
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # A duplicate that arrives while the first runs is told 409 at once; later ones replay.
    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 200
    assert set(statuses) <= {200, 409}
    assert len({body["id"] for status, body in results if status == 200}) == 1
    assert {body["code"] for status, body in results if status == 409} <= {"request_in_progress"}
    assert AnswerRecord.objects.count() == 1
    answered = next(body for status, body in results if status == 200)
    assert UsageEvent.objects.count() == len(answered["sources"])


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spend_cap_holds_under_concurrent_answers(make_key, search_index, request):
    from rest_framework.test import APIClient

    from licensing.models import LicenseAgreement

    market = request.getfixturevalue("market")
    LicenseAgreement.objects.filter(offer_id=market.energy_offer.id).update(spend_cap_micros=6000)
    secret = make_key(market.agent)
    statuses, barrier = [], threading.Barrier(6)

    def ask():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        try:
            statuses.append(_ask(client, question=HEAT_QUESTION, max_sources=1).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 200, 402, 402, 402]
    agreement = LicenseAgreement.objects.get(offer_id=market.energy_offer.id)
    assert agreement.spent_micros == 6000
    assert UsageEvent.objects.count() == 3


def test_stored_responses_are_purged_after_their_ttl(market, agent_client, settings):
    from marketplace.tasks import purge_idempotency_records

    _ask(agent_client, {"Idempotency-Key": "old"}, question=HEAT_QUESTION)
    _ask(agent_client, {"Idempotency-Key": "new"}, question=HEAT_QUESTION)
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_S + 1)
    )

    assert purge_idempotency_records.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
