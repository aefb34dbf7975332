"""Top-ups: asked for through the API, paid through Stripe, credited by the signed webhook."""

import pytest

from billing import services as billing
from billing.models import StripeEvent, TopUp, Transaction

pytestmark = pytest.mark.django_db(transaction=True)


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


def _start(client, amount=25_000_000, **extra):
    response = client.post(
        "/api/v1/billing/top-ups", {"amount_micros": amount, **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_checkout_top_up_is_credited_once_whichever_event_says_it_first(
    stripe_env, agent, key_client
):
    client = key_client(agent, scopes=["billing"])
    body = _start(client, 10_000_000, method="checkout")
    assert body["checkout_url"].endswith(body["checkout_session_id"])

    stripe_env.act(f"checkout/sessions/{body['checkout_session_id']}/pay")
    events = stripe_env.deliver()

    assert {"checkout.session.completed", "payment_intent.succeeded"} <= {e["type"] for e in events}
    assert _wallet(agent).wallet_micros == 10_000_000
    assert Transaction.objects.filter(kind="top_up").count() == 1
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("amount", "field_error"),
    [
        (0, "amount_micros"),
        (-5_000_000, "amount_micros"),
        (1_000_001, "amount_micros"),
        (999_999_999_990_000, "amount_micros"),
        ("10", "amount_micros"),
        (True, "amount_micros"),
    ],
)
def test_bad_top_up_amounts_are_refused_and_nothing_is_written(
    stripe_env, agent, key_client, amount, field_error
):
    client = key_client(agent, scopes=["billing"])

    response = client.post("/api/v1/billing/top-ups", {"amount_micros": amount}, format="json")

    assert response.status_code == 400
    assert field_error in response.json()["details"]
    assert TopUp.objects.count() == 0
    assert stripe_env.server.requests == []


def test_a_top_up_below_the_minimum_is_refused(stripe_env, agent, key_client, settings):
    settings.BILLING_TOP_UP_MIN_MICROS = 5_000_000
    client = key_client(agent, scopes=["billing"])

    response = client.post("/api/v1/billing/top-ups", {"amount_micros": 1_000_000}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"amount_micros": ["Between 5000000 and 10000000000."]}
    assert TopUp.objects.count() == 0


def test_without_stripe_top_ups_say_so_plainly_and_nothing_is_written(agent, key_client, settings):
    settings.STRIPE_SECRET_KEY = ""
    client = key_client(agent, scopes=["billing"])

    response = client.post("/api/v1/billing/top-ups", {"amount_micros": 5_000_000}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "stripe_not_configured"
    assert "Stripe is not configured" in response.json()["message"]
    assert TopUp.objects.count() == 0
    # Everything else works: the balance is there.
    assert client.get("/api/v1/billing/balance").status_code == 200


def test_another_organizations_top_up_is_not_found(stripe_env, agent, make_org, key_client):
    other, _ = make_org(roles=("agent",))
    body = _start(key_client(agent, scopes=["billing"]))

    response = key_client(other, scopes=["billing"]).get(f"/api/v1/billing/top-ups/{body['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_top_up_needs_the_billing_scope(stripe_env, agent, key_client):
    response = key_client(agent, scopes=["query"]).post(
        "/api/v1/billing/top-ups", {"amount_micros": 5_000_000}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_a_declined_card_fails_the_top_up_and_credits_nothing(stripe_env, agent, key_client):
    client = key_client(agent, scopes=["billing"])
    body = _start(client)

    stripe_env.pay(body["payment_intent_id"], card="4000000000000341")
    stripe_env.deliver()

    top_up = client.get(f"/api/v1/billing/top-ups/{body['id']}").json()
    assert top_up["status"] == "failed"
    assert top_up["failure_message"] == "Your card was declined."
    assert _wallet(agent).wallet_micros == 0


def test_replayed_webhooks_credit_once(stripe_env, agent, key_client, api_client):
    body = _start(key_client(agent, scopes=["billing"]))
    stripe_env.pay(body["payment_intent_id"])
    events = stripe_env.server.take_events("payment_intent.succeeded")
    assert len(events) == 1

    for _ in range(3):
        payload, signature = stripe_env.server.signed(events[0])
        response = api_client.post(
            "/stripe/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 200

    assert StripeEvent.objects.count() == 1
    assert Transaction.objects.filter(kind="top_up").count() == 1
    assert _wallet(agent).wallet_micros == 25_000_000


def test_a_refund_arriving_before_the_payment_event_credits_then_refunds(
    stripe_env, agent, key_client
):
    body = _start(key_client(agent, scopes=["billing"]))
    stripe_env.pay(body["payment_intent_id"])
    succeeded = stripe_env.server.take_events("payment_intent.succeeded")
    stripe_env.payer.v1.refunds.create(
        params={"payment_intent": body["payment_intent_id"], "amount": 1000}
    )

    stripe_env.deliver("charge.refunded")  # out of order: the refund first
    assert _wallet(agent).wallet_micros == 25_000_000 - 10_000_000
    stripe_env.server.events.extend(succeeded)
    stripe_env.deliver()  # then the late payment event changes nothing

    assert _wallet(agent).wallet_micros == 15_000_000
    assert TopUp.objects.get().refunded_micros == 10_000_000
    assert billing.check_ledger().ok


def test_a_refund_of_funds_already_spent_is_owed_back(stripe_env, agent, key_client):
    body = _start(key_client(agent, scopes=["billing"]))
    stripe_env.pay(body["payment_intent_id"])
    stripe_env.deliver()
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="spend-test",
            kind="use",
            legs=(
                billing.debit(billing.org_account(agent.id, "agent_wallet", "USD"), 20_000_000),
                billing.credit(billing.platform_account("platform_revenue", "USD"), 20_000_000),
            ),
            effective_at=TopUp.objects.get().created_at,
        )
    )
    stripe_env.payer.v1.refunds.create(params={"payment_intent": body["payment_intent_id"]})

    stripe_env.deliver()

    line = _wallet(agent)
    assert (line.wallet_micros, line.receivable_micros) == (0, 20_000_000)
    assert TopUp.objects.get().status == "refunded"


def test_an_advertiser_tops_up_its_prepaid_ad_funds(stripe_env, make_org, key_client):
    advertiser, _ = make_org(roles=("advertiser",), name="Warmth Ltd")
    client = key_client(advertiser, scopes=["billing"])

    body = _start(client, 30_000_000)
    stripe_env.pay(body["payment_intent_id"])
    stripe_env.deliver()

    assert body["purpose"] == "advertiser_prepaid"
    line = _wallet(advertiser)
    assert (line.advertiser_prepaid_micros, line.wallet_micros) == (30_000_000, 0)
    top_up = Transaction.objects.get(idempotency_key=f"top_up:{body['id']}")
    assert {(e.account.purpose, e.amount_micros) for e in top_up.entries.all()} == {
        ("stripe_clearing", 30_000_000),
        ("advertiser_prepaid", -30_000_000),
    }
    assert billing.check_ledger().ok


def test_an_agent_that_also_advertises_says_which_funds_a_top_up_is_for(
    stripe_env, make_org, key_client
):
    both, _ = make_org(roles=("agent", "advertiser"))
    client = key_client(both, scopes=["billing"])

    wallet = _start(client, 10_000_000)
    ads = _start(client, 20_000_000, purpose="advertiser_prepaid")
    for body in (wallet, ads):
        stripe_env.pay(body["payment_intent_id"])
    stripe_env.deliver()

    assert (wallet["purpose"], ads["purpose"]) == ("agent_wallet", "advertiser_prepaid")
    line = _wallet(both)
    assert (line.wallet_micros, line.advertiser_prepaid_micros) == (10_000_000, 20_000_000)


def test_a_top_up_for_funds_the_organization_does_not_have_is_refused(
    stripe_env, agent, key_client
):
    client = key_client(agent, scopes=["billing"])

    wrong_role = client.post(
        "/api/v1/billing/top-ups",
        {"amount_micros": 10_000_000, "purpose": "advertiser_prepaid"},
        format="json",
    )
    unknown = client.post(
        "/api/v1/billing/top-ups",
        {"amount_micros": 10_000_000, "purpose": "provider_payable"},
        format="json",
    )

    assert (wrong_role.status_code, wrong_role.json()["code"]) == (403, "wrong_role")
    assert unknown.status_code == 400
    assert not TopUp.objects.exists()
