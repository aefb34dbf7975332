"""Payments through the local Stripe-compatible server (tests/stripe_server.py).

Stripe is never called inside a database transaction (the gateway refuses), so these tests
run with real commits (`transaction=True`) rather than inside one test transaction.
"""

from dataclasses import dataclass

import httpx
import pytest
import stripe
from rest_framework.test import APIClient

from tests.stripe_server import SECRET_KEY, WEBHOOK_SECRET, LocalStripe, local_stripe

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class StripeEnv:
    server: LocalStripe
    payer: stripe.StripeClient  # what a payer's browser (Stripe.js) does, through the same API

    def deliver(self, *types: str, client: APIClient | None = None) -> list[dict]:
        """Post the events emitted so far to /stripe/webhook, signed; return them."""
        client = client or APIClient()
        events = self.server.take_events(*types)
        for event in events:
            body, signature = self.server.signed(event)
            response = client.post(
                "/stripe/webhook",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            assert response.status_code == 200, response.content
        return events

    def pay(self, payment_intent_id: str, card: str = "4242424242424242") -> dict:
        """Confirm a PaymentIntent with a card, as Stripe.js does with its client secret."""
        method = self.payer.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        self.payer.v1.payment_intents.update(
            payment_intent_id, params={"payment_method": method.id}
        )
        try:
            return self.payer.v1.payment_intents.confirm(payment_intent_id)
        except stripe.CardError as exc:
            return {"error": str(exc)}

    def act(self, path: str) -> dict:
        """Do what a payer or Stripe does outside our API (`/_config/test/...`)."""
        response = httpx.post(f"{self.server.url}/_config/test/{path}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def card(self, customer_id: str, number: str = "4242424242424242") -> str:
        """Save a card to a customer (what a SetupIntent does client side); return its id."""
        method = self.payer.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        return str(method.id)


@pytest.fixture(scope="session")
def _local_stripe() -> LocalStripe:
    return local_stripe()


@pytest.fixture
def stripe_env(_local_stripe, settings) -> StripeEnv:
    """Stripe configured against the local server, which starts empty."""
    _local_stripe.reset()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_API_BASE = _local_stripe.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    payer = stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": _local_stripe.url}, max_network_retries=0
    )
    return StripeEnv(server=_local_stripe, payer=payer)
