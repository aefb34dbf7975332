"""Accepting a subscription or a purchase through the API charges it at once: 201 with the
wallet drawn, or 402 `insufficient_funds` with nothing written."""

import pytest

from billing import services as billing
from billing.models import Transaction
from licensing.models import LicenseAgreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def monthly(provider, make_offer):
    return make_offer(
        provider,
        name="Monthly",
        payment_type="subscription",
        price_micros=9_000_000,
        price_unit="period",
        period="month",
    )


def _accept(client, offer):
    return client.post(f"/api/v1/market/offers/{offer.id}/accept", {}, format="json")


def test_accepting_a_subscription_pays_its_first_month_from_the_wallet(agent, monthly, key_client):
    billing.grant_credit(organization_id=agent.id, amount_micros=10_000_000, idempotency_key="w")
    client = key_client(agent, scopes=["licensing", "billing"])

    first, again = _accept(client, monthly), _accept(client, monthly)

    assert (first.status_code, again.status_code) == (201, 200)
    balance = client.get("/api/v1/billing/balance").json()["currencies"][0]
    assert (balance["wallet_micros"], balance["receivable_micros"]) == (1_000_000, 0)
    [row] = client.get("/api/v1/billing/transactions").json()["results"][:1]
    assert row["kind"] == "subscription"
    assert row["agreement_id"] == first.json()["id"]
    assert Transaction.objects.filter(kind="subscription").count() == 1


def test_a_wallet_short_of_the_first_month_is_402_and_no_licence(agent, monthly, key_client):
    billing.grant_credit(organization_id=agent.id, amount_micros=8_999_999, idempotency_key="w")
    client = key_client(agent, scopes=["licensing", "billing"])

    refused = _accept(client, monthly)

    assert refused.status_code == 402
    body = refused.json()
    assert body["code"] == "insufficient_funds"
    assert body["details"] == {
        "agreement_price_micros": 9_000_000,
        "available_micros": 8_999_999,
        "currency": "USD",
        "offer_id": str(monthly.id),
    }
    assert LicenseAgreement.objects.count() == 0
    assert client.get("/api/v1/agreements").json() == []
    assert client.get("/api/v1/billing/balance").json()["currencies"][0]["wallet_micros"] == (
        8_999_999
    )


def test_a_per_use_offer_is_accepted_whatever_the_wallet_holds(
    agent, provider, make_offer, key_client
):
    offer = make_offer(provider, price_micros=2000)

    response = _accept(key_client(agent, scopes=["licensing"]), offer)

    assert response.status_code == 201
    assert Transaction.objects.count() == 0


def test_what_answers_in_flight_hold_is_not_the_licences_to_take(
    agent, monthly, key_client, settings
):
    settings.BILLING_WALLET_HOLDS = True
    billing.grant_credit(organization_id=agent.id, amount_micros=10_000_000, idempotency_key="w")
    billing.hold_for_answer(
        organization_id=agent.id, request_id="in-flight", amount_micros=2_000_000, currency="USD"
    )

    refused = _accept(key_client(agent, scopes=["licensing"]), monthly)

    assert refused.status_code == 402
    assert refused.json()["details"]["available_micros"] == 8_000_000
    assert LicenseAgreement.objects.count() == 0
