"""Payouts: Connect onboarding, transfers of payable balances, and what each payout paid for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Payout, Transaction
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def earning_provider(agent, provider, make_offer, accept, settings):
    """A provider that earned 3 x 1.8 USD (three $2 uses, 10% take) and has it rated."""
    settings.BILLING_PAYOUT_MINIMUM_MICROS = 1_000_000
    agreement = accept(agent, make_offer(provider, price_micros=2_000_000))
    for _ in range(3):
        meter(agent, agreement)
    billing.rate_usage()
    assert _payable(provider) == 5_400_000
    return provider


def _payable(org):
    return billing.balance_of(organization_id=org.id).currencies[0].payable_micros


def _onboard(stripe_env, client):
    response = client.post("/api/v1/billing/connect", {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["onboarding_url"].endswith(f"/connect/onboarding/{body['account_id']}")
    assert body["payouts_enabled"] is False
    stripe_env.act(f"accounts/{body['account_id']}/enable")  # the provider finishes at Stripe
    stripe_env.deliver()  # account.updated
    return body["account_id"]


def test_a_payout_without_a_connected_account_is_refused_and_the_balance_untouched(
    stripe_env, earning_provider, key_client
):
    client = key_client(earning_provider, scopes=["billing"])

    response = client.post("/api/v1/billing/payouts", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "no_connected_account"
    assert "onboard first" in response.json()["message"]
    assert _payable(earning_provider) == 5_400_000
    assert Payout.objects.count() == 0
    assert not [r for r in stripe_env.server.requests if r[1] == "/v1/transfers"]


def test_onboarding_then_a_payout_transfers_the_payable_balance(
    stripe_env, earning_provider, key_client
):
    client = key_client(earning_provider, scopes=["billing"])
    account_id = _onboard(stripe_env, client)
    assert client.get("/api/v1/billing/connect").json()["payouts_enabled"] is True

    response = client.post("/api/v1/billing/payouts", {}, format="json")

    assert response.status_code == 201, response.json()
    payout = response.json()
    assert (payout["status"], payout["amount_micros"]) == ("paid", 5_400_000)
    assert payout["stripe_account_id"] == account_id
    assert _payable(earning_provider) == 0
    transfer = stripe_env.payer.v1.transfers.retrieve(payout["transfer_id"])
    assert (transfer.amount, transfer.destination) == (540, account_id)
    assert ("POST", "/v1/transfers", f"payout-{payout['id']}") in stripe_env.server.requests
    legs = Transaction.objects.get(idempotency_key=f"payout:{payout['id']}").entries
    assert sorted(legs.values_list("account__purpose", "amount_micros")) == [
        ("provider_payable", 5_400_000),
        ("stripe_clearing", -5_400_000),
    ]
    statement = client.get(f"/api/v1/billing/payouts/{payout['id']}").json()
    assert statement["earned_micros"] == 5_400_000
    assert statement["items_total"] == 3
    assert [i["kind"] for i in statement["items"]] == ["use", "use", "use"]
    assert all(i["usage_event_id"] for i in statement["items"])
    assert [p["id"] for p in client.get("/api/v1/billing/payouts").json()["results"]] == [
        payout["id"]
    ]
    assert billing.check_ledger().ok


def test_another_providers_payout_is_not_found(stripe_env, earning_provider, make_org, key_client):
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)
    payout = client.post("/api/v1/billing/payouts", {}, format="json").json()
    other, _ = make_org(roles=("provider",))

    response = key_client(other, scopes=["billing"]).get(f"/api/v1/billing/payouts/{payout['id']}")

    assert response.status_code == 404


def test_a_lost_transfer_response_is_retried_under_the_same_key_and_pays_once(
    stripe_env, earning_provider, key_client
):
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)
    stripe_env.server.fail_next("/v1/transfers", after=True)  # Stripe pays; we never hear

    first = client.post("/api/v1/billing/payouts", {}, format="json").json()
    assert first["status"] == "pending"
    assert _payable(earning_provider) == 0  # decided: not payable twice meanwhile
    billing.pay_providers()  # the periodic task retries it

    payout = Payout.objects.get()
    assert payout.status == "paid"
    assert payout.attempts == 2
    keys = [r[2] for r in stripe_env.server.requests if r[1] == "/v1/transfers"]
    assert keys == [f"payout-{payout.id}"] * 2
    transfers = stripe_env.payer.v1.transfers  # one transfer at Stripe
    assert transfers.retrieve(payout.transfer_id).amount == 540
    from tests.stripe_server import store

    assert len([k for k in store if k.startswith("transfer:")]) == 1


def test_a_reversed_transfer_makes_the_balance_payable_again(
    stripe_env, earning_provider, key_client
):
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)
    payout = client.post("/api/v1/billing/payouts", {}, format="json").json()

    stripe_env.payer.v1.transfers.reversals.create(payout["transfer_id"])
    stripe_env.deliver()
    stripe_env.deliver()  # nothing new; and a replay below changes nothing

    assert Payout.objects.get().status == "reversed"
    assert _payable(earning_provider) == 5_400_000
    assert billing.check_ledger().ok

    again = client.post("/api/v1/billing/payouts", {}, format="json").json()
    assert (again["status"], again["amount_micros"]) == ("paid", 5_400_000)
    statement = client.get(f"/api/v1/billing/payouts/{again['id']}").json()
    assert (statement["earned_micros"], statement["carried_micros"]) == (5_400_000, 0)
    assert [i["kind"] for i in statement["items"]] == ["use", "use", "use"]  # paid again


def test_an_older_payout_reversed_after_a_later_one_is_on_the_next_statement(
    stripe_env, earning_provider, agent, make_offer, accept, key_client
):
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)
    first = client.post("/api/v1/billing/payouts", {}, format="json").json()
    agreement = accept(agent, make_offer(earning_provider, price_micros=2_000_000))
    for _ in range(2):
        meter(agent, agreement)
    billing.rate_usage()
    second = client.post("/api/v1/billing/payouts", {}, format="json").json()
    assert second["amount_micros"] == 3_600_000

    stripe_env.payer.v1.transfers.reversals.create(first["transfer_id"])  # after the second
    stripe_env.deliver()
    meter(agent, agreement)
    billing.rate_usage()
    third = client.post("/api/v1/billing/payouts", {}, format="json").json()

    assert (third["status"], third["amount_micros"]) == ("paid", 5_400_000 + 1_800_000)
    statement = client.get(f"/api/v1/billing/payouts/{third['id']}").json()
    assert (statement["earned_micros"], statement["carried_micros"]) == (7_200_000, 0)
    kinds = [(i["kind"], i["amount_micros"]) for i in statement["items"]]
    assert kinds == [("reversal", 5_400_000), ("use", 1_800_000)]
    assert statement["items"][0]["memo"] == f"Payout {first['id']} reversed"
    assert billing.check_ledger().ok


def test_a_transfer_stripe_refuses_fails_the_payout_and_keeps_the_balance(
    stripe_env, earning_provider, key_client
):
    client = key_client(earning_provider, scopes=["billing"])
    account_id = _onboard(stripe_env, client)
    stripe_env.server.call(lambda: setattr(_account(account_id), "payouts_enabled", False))

    payout = client.post("/api/v1/billing/payouts", {}, format="json").json()

    assert payout["status"] == "failed"
    assert payout["failure_message"] == "Stripe refused the request."
    assert _payable(earning_provider) == 5_400_000
    # The next payout pays the same earnings.
    stripe_env.server.call(lambda: setattr(_account(account_id), "payouts_enabled", True))
    again = client.post("/api/v1/billing/payouts", {}, format="json").json()
    assert again["status"] == "paid"
    statement = client.get(f"/api/v1/billing/payouts/{again['id']}").json()
    assert statement["items_total"] == 3


def _account(account_id):
    from tests.stripe_server import store

    return store[f"account:{account_id}"]


def test_a_balance_below_the_minimum_is_not_paid(
    stripe_env, earning_provider, key_client, settings
):
    settings.BILLING_PAYOUT_MINIMUM_MICROS = 10_000_000
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)

    response = client.post("/api/v1/billing/payouts", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "below_payout_minimum"
    assert _payable(earning_provider) == 5_400_000


def test_the_periodic_task_pays_every_enabled_provider_above_the_minimum(
    stripe_env, earning_provider, key_client
):
    _onboard(stripe_env, key_client(earning_provider, scopes=["billing"]))
    from billing.payment_tasks import pay_providers

    assert pay_providers() == 1
    assert pay_providers() == 0  # nothing payable left
    assert Payout.objects.get().status == "paid"


def test_payouts_without_stripe_say_so_and_leave_the_balance(
    earning_provider, key_client, settings
):
    from billing.models import ConnectedAccount

    ConnectedAccount.objects.create(
        organization=earning_provider, stripe_account_id="acct_x", payouts_enabled=True
    )
    settings.STRIPE_SECRET_KEY = ""

    response = key_client(earning_provider, scopes=["billing"]).post(
        "/api/v1/billing/payouts", {}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "stripe_not_configured"
    assert _payable(earning_provider) == 5_400_000


def test_an_agent_is_not_paid_out(stripe_env, agent, key_client):
    response = key_client(agent, scopes=["billing"]).post(
        "/api/v1/billing/payouts", {}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"


def test_account_updates_of_one_second_in_any_order_leave_stripes_current_state(
    stripe_env, provider, key_client
):
    """Found by the stateful test: events carry whole seconds, so two `account.updated` of one
    second cannot be ordered by their `created`; the account is read from Stripe instead."""
    client = key_client(provider, scopes=["billing"])
    account_id = client.post("/api/v1/billing/connect", {}, format="json").json()["account_id"]
    stripe_env.act(f"accounts/{account_id}/disable")
    stripe_env.act(f"accounts/{account_id}/enable")
    disabled, enabled = stripe_env.server.take_events("account.updated")
    assert (
        disabled["data"]["object"]["payouts_enabled"],
        enabled["data"]["object"]["payouts_enabled"],
    ) == (False, True)
    disabled["created"] = enabled["created"]  # one second

    stripe_env.server.events.extend([enabled, disabled])  # the later one first
    stripe_env.deliver()

    assert client.get("/api/v1/billing/connect").json()["payouts_enabled"] is True


def test_a_transfer_reversed_before_its_lost_response_is_retried_keeps_its_id(
    stripe_env, earning_provider, key_client
):
    """Found by the stateful test: Stripe made the transfer but its answer was lost, then
    reversed it before our retry; the reversed payout kept no transfer id, and reconciliation
    found the transfer and its reversal "at Stripe, not in the ledger"."""
    client = key_client(earning_provider, scopes=["billing"])
    _onboard(stripe_env, client)
    stripe_env.server.fail_next("/v1/transfers", after=True)
    assert client.post("/api/v1/billing/payouts", {}, format="json").json()["status"] == "pending"
    from tests.stripe_server import store

    (transfer_key,) = [k for k in store if k.startswith("transfer:")]
    transfer_id = transfer_key.removeprefix("transfer:")

    stripe_env.payer.v1.transfers.reversals.create(transfer_id)
    stripe_env.deliver()
    billing.pay_providers()  # the retry finds the payout reversed: nothing to transfer again

    payout = Payout.objects.order_by("created_at").first()
    assert (payout.status, payout.transfer_id) == ("reversed", transfer_id)
    now = timezone.now()
    report = billing.reconcile(since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))
    assert report.differences == ()
    assert billing.check_ledger().ok
