"""Idempotency-Key retries when the database fails under a request (bench/bench_faults.py
does it for real): an answer is metered with its stored response or not at all, and a
failed request releases its key on a new connection once the database is back."""

import pytest
from django.db import OperationalError, connection, transaction

from licensing.models import AnswerRecord, UsageEvent
from marketplace.models import IdempotencyRecord
from marketplace.services import idempotency

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
ENDPOINTS = {
    "answers": ("/api/v1/answers", {"question": HEAT_QUESTION}),
    "chat": (
        "/v1/chat/completions",
        {"model": "provenant", "messages": [{"role": "user", "content": HEAT_QUESTION}]},
    ),
}

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="kills a PostgreSQL connection (set DATABASE_URL)"
)


def _fail_first(monkeypatch, module, name: str) -> list[int]:
    """Make `module.name` raise OperationalError on its first call; return the call count."""
    original, calls = getattr(module, name), []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_an_answer_whose_response_could_not_be_stored_is_not_metered_and_its_retry_is_answered(
    market, agent_client, monkeypatch, endpoint
):
    path, body = ENDPOINTS[endpoint]
    headers = {"Idempotency-Key": f"db-fails-{endpoint}"}
    _fail_first(monkeypatch, idempotency, "complete")  # the database goes away right there

    failed = agent_client.post(path, body, format="json", headers=headers)

    assert failed.status_code == 500
    assert AnswerRecord.objects.count() == 0
    assert UsageEvent.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0  # released: the retry runs
    retry = agent_client.post(path, body, format="json", headers=headers)
    assert retry.status_code == 200, retry.json()
    record = AnswerRecord.objects.get()
    assert record.events.count() == record.sources_count > 0
    again = agent_client.post(path, body, format="json", headers=headers)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == retry.json()
    assert AnswerRecord.objects.count() == 1


def _claim(market, key: str) -> dict:
    fields = {"organization_id": market.agent.id, "endpoint": "answers", "key": key}
    assert idempotency.claim(**fields, digest=idempotency.fingerprint({"q": key})) is None
    return fields


@pytest.mark.django_db(transaction=True)
def test_release_tries_again_on_a_new_connection_when_the_database_went_away(market, monkeypatch):
    fields = _claim(market, "released-later")
    calls = _fail_first(monkeypatch, idempotency.licensing, "is_metered")

    idempotency.release(**fields, request_id="ans_never_metered")

    assert len(calls) == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_release_inside_a_transaction_is_not_retried(market, monkeypatch):
    fields = _claim(market, "in-a-transaction")
    calls = _fail_first(monkeypatch, idempotency.licensing, "is_metered")

    with pytest.raises(OperationalError), transaction.atomic():
        idempotency.release(**fields, request_id="ans_never_metered")

    assert len(calls) == 1
    assert IdempotencyRecord.objects.count() == 1


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_release_after_the_server_closed_the_connection_releases_the_key(market):
    import psycopg

    fields = _claim(market, "connection-killed")
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or None,
        password=db["PASSWORD"] or None, autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    idempotency.release(**fields, request_id="ans_never_metered")

    assert IdempotencyRecord.objects.count() == 0
    assert connection.connection.info.backend_pid != backend
