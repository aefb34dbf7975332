"""Top-ups: asked for through the API, paid through Stripe, credited by the signed webhook."""

import pytest

from billing import services as billing
from billing.models import Transaction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent(make_org):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    return org


def _wallet(org):
    return billing.balance_of(organization_id=org.id).currencies[0]


def test_top_up_is_credited_only_when_the_signed_webhook_says_it_was_paid(
    stripe_env, agent, key_client
):
    client = key_client(agent, scopes=["billing"])

    response = client.post("/api/v1/billing/top-ups", {"amount_micros": 25_000_000}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["client_secret"].startswith(body["payment_intent_id"] + "_secret_")
    assert _wallet(agent).wallet_micros == 0
    stripe_env.pay(body["payment_intent_id"])
    assert _wallet(agent).wallet_micros == 0  # paid at Stripe, not yet told
    delivered = stripe_env.deliver()
    assert "payment_intent.succeeded" in [e["type"] for e in delivered]
    assert _wallet(agent).wallet_micros == 25_000_000
    assert client.get(f"/api/v1/billing/top-ups/{body['id']}").json()["status"] == "succeeded"
    top_up = Transaction.objects.get(idempotency_key=f"top_up:{body['id']}")
    assert top_up.kind == "top_up"
    assert sorted(e.amount_micros for e in top_up.entries.all()) == [-25_000_000, 25_000_000]
    intent = stripe_env.server.requests
    assert ("POST", "/v1/payment_intents", f"top-up-{body['id']}") in intent
