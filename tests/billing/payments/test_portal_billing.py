"""The portal's billing page: balances, a Checkout top-up, Connect onboarding, payouts."""

import pytest
from django.test import Client

from billing import services as billing
from billing.models import ConnectedAccount, TopUp
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_without_stripe_the_page_says_so_and_shows_the_balance(make_org, settings):
    settings.STRIPE_SECRET_KEY = ""
    org, owner = make_org(roles=("agent",))
    billing.grant_credit(organization_id=org.id, amount_micros=3_000_000, idempotency_key="p")

    page = _signed_in(owner).get(f"/orgs/{org.id}/billing/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Stripe is not configured on this deployment" in text
    assert "<td>3.00</td>" in text
    assert "Pay with Stripe" not in text


def test_a_top_up_from_the_portal_goes_to_stripe_checkout(stripe_env, make_org):
    org, owner = make_org(roles=("agent",))

    response = _signed_in(owner).post(
        f"/orgs/{org.id}/billing/top-up/", {"amount_micros": "25000000"}
    )

    top_up = TopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/checkout/{top_up.checkout_session_id}")
    assert (top_up.amount_micros, top_up.method, top_up.status) == (
        25_000_000,
        "checkout",
        "pending",
    )


def test_a_provider_sets_up_payouts_from_the_portal(stripe_env, make_org):
    org, owner = make_org(roles=("provider",))
    client = _signed_in(owner)

    response = client.post(f"/orgs/{org.id}/billing/connect/")

    account = ConnectedAccount.objects.get(organization=org)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/connect/onboarding/{account.stripe_account_id}")
    page = client.get(f"/orgs/{org.id}/billing/").content.decode()
    assert "payouts not enabled yet: finish onboarding" in page


def test_a_payout_refused_in_the_portal_says_why(stripe_env, make_org):
    org, owner = make_org(roles=("provider",))
    client = _signed_in(owner)

    response = client.post(f"/orgs/{org.id}/billing/payout/", follow=True)

    assert "no connected Stripe account" in response.content.decode()


def test_a_payout_from_the_portal_says_what_it_paid(
    stripe_env, agent, provider, make_offer, accept, settings
):
    settings.BILLING_PAYOUT_MINIMUM_MICROS = 1_000_000
    meter(agent, accept(agent, make_offer(provider, price_micros=2_000_000)))
    billing.rate_usage()  # 1.80 USD payable: a $2 use less the 10% take
    client = _signed_in(provider.memberships.get(role="owner").user)
    client.post(f"/orgs/{provider.id}/billing/connect/")
    account = ConnectedAccount.objects.get(organization=provider)
    stripe_env.act(f"accounts/{account.stripe_account_id}/enable")
    stripe_env.deliver()

    response = client.post(f"/orgs/{provider.id}/billing/payout/", follow=True)

    assert response.status_code == 200
    assert "Payout of 1.80 USD: paid." in response.content.decode()


def test_another_organizations_billing_page_is_404(make_org):
    org, _ = make_org(roles=("agent",))
    _, me = make_org(roles=("agent",))

    client = _signed_in(me)

    assert client.get(f"/orgs/{org.id}/billing/").status_code == 404
    assert client.post(f"/orgs/{org.id}/billing/top-up/", {"amount_micros": "1"}).status_code == 404
    assert client.post(f"/orgs/{org.id}/billing/connect/").status_code == 404
    assert client.post(f"/orgs/{org.id}/billing/payout/").status_code == 404
