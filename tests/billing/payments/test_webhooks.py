"""/stripe/webhook: the signature is checked on the raw body; a bad one writes nothing."""

import time

import pytest

from billing import services as billing
from billing.models import StripeEvent, TopUp, Transaction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid_event(stripe_env, agent, key_client):
    """A real payment_intent.succeeded event of a top-up, not delivered yet."""
    response = key_client(agent, scopes=["billing"]).post(
        "/api/v1/billing/top-ups", {"amount_micros": 5_000_000}, format="json"
    )
    stripe_env.pay(response.json()["payment_intent_id"])
    (event,) = stripe_env.server.take_events("payment_intent.succeeded")
    return event


def _post(api_client, payload: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return api_client.post(
        "/stripe/webhook", data=payload, content_type="application/json", **headers
    )


def _nothing_written():
    assert StripeEvent.objects.count() == 0
    assert Transaction.objects.count() == 0
    assert TopUp.objects.get().status == "pending"


def test_a_signature_made_with_another_secret_is_a_400(stripe_env, paid_event, api_client):
    payload, signature = stripe_env.server.signed(paid_event, secret="whsec_someone_else")

    response = _post(api_client, payload, signature)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    _nothing_written()


def test_a_body_changed_after_signing_is_a_400(stripe_env, paid_event, api_client):
    payload, signature = stripe_env.server.signed(paid_event)

    response = _post(api_client, payload.replace(b"5000000", b"9000000", 1) + b" ", signature)

    assert response.status_code == 400
    _nothing_written()


def test_an_old_timestamp_is_a_400_even_when_correctly_signed(
    stripe_env, paid_event, api_client, settings
):
    old = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_S - 5
    payload, signature = stripe_env.server.signed(paid_event, timestamp=old)

    response = _post(api_client, payload, signature)

    assert response.status_code == 400
    assert "Timestamp outside the tolerance zone" in response.json()["message"]
    _nothing_written()


@pytest.mark.parametrize("header", [None, "", "t=1,v1=", "garbage"])
def test_a_missing_or_malformed_signature_is_a_400(stripe_env, paid_event, api_client, header):
    payload, _ = stripe_env.server.signed(paid_event)

    response = _post(api_client, payload, header)

    assert response.status_code == 400
    _nothing_written()


def test_a_webhook_without_a_configured_secret_is_a_400(
    stripe_env, paid_event, api_client, settings
):
    payload, signature = stripe_env.server.signed(paid_event)
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = _post(api_client, payload, signature)

    assert response.status_code == 400
    _nothing_written()


def test_the_webhook_takes_only_post(api_client):
    assert api_client.get("/stripe/webhook").status_code == 405


def test_an_event_that_failed_to_process_is_kept_and_retried(
    stripe_env, paid_event, api_client, monkeypatch
):
    from billing.services import webhooks

    def broken(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(webhooks, "_handle", broken)
    payload, signature = stripe_env.server.signed(paid_event)
    assert _post(api_client, payload, signature).status_code == 200  # stored: Stripe is answered
    assert StripeEvent.objects.get().processed_at is None
    monkeypatch.undo()

    assert billing.unprocessed_event_ids() == [paid_event["id"]]
    from billing.payment_tasks import retry_stripe_events

    assert retry_stripe_events() == 1
    assert StripeEvent.objects.get().processed_at is not None
    assert TopUp.objects.get().status == "succeeded"
