"""Adding prepaid ad funds from the billing page: a Checkout top-up whose purpose is the
advertiser's prepaid funds (chosen when the organization is an agent too), through the local
Stripe-compatible server; without Stripe the page says so."""

import pytest

from billing.models import TopUp
from tests.billing.payments.conftest import _local_stripe, stripe_env
from tests.portal.advertiser.conftest import signed_in

__all__ = ["_local_stripe", "stripe_env"]

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_advertiser_adds_ad_funds_through_checkout(stripe_env, make_org):
    org, _ = make_org(roles=("advertiser",), name="Warmth Ltd")
    client = signed_in(org)

    page = client.get(f"/orgs/{org.id}/billing/", {"purpose": "advertiser_prepaid"})
    text = page.content.decode()
    assert "Add ad funds" in text
    assert '<input type="hidden" name="purpose" value="advertiser_prepaid">' in text
    response = client.post(
        f"/orgs/{org.id}/billing/top-up/",
        {"amount_micros": "25000000", "purpose": "advertiser_prepaid"},
    )

    top_up = TopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/checkout/{top_up.checkout_session_id}")
    assert (top_up.purpose, top_up.amount_micros, top_up.method) == (
        "advertiser_prepaid",
        25_000_000,
        "checkout",
    )


def test_an_agent_that_advertises_chooses_what_a_top_up_credits(stripe_env, make_org):
    org, _ = make_org(roles=("agent", "advertiser"), name="Acme")
    client = signed_in(org)

    text = client.get(f"/orgs/{org.id}/billing/", {"purpose": "advertiser_prepaid"}).content
    assert b'<option value="advertiser_prepaid" selected>Prepaid ad funds</option>' in text
    assert b'<option value="agent_wallet">Agent wallet</option>' in text
    client.post(f"/orgs/{org.id}/billing/top-up/", {"amount_micros": "10000000"})
    client.post(
        f"/orgs/{org.id}/billing/top-up/",
        {"amount_micros": "10000000", "purpose": "advertiser_prepaid"},
    )

    assert sorted(TopUp.objects.values_list("purpose", flat=True)) == [
        "advertiser_prepaid",
        "agent_wallet",
    ]


def test_a_purpose_the_organization_has_not_is_refused(stripe_env, make_org):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    client = signed_in(org)

    response = client.post(
        f"/orgs/{org.id}/billing/top-up/",
        {"amount_micros": "10000000", "purpose": "advertiser_prepaid"},
        follow=True,
    )

    assert "This organization has no advertiser prepaid to top up." in response.content.decode()
    assert TopUp.objects.count() == 0


def test_without_stripe_the_advertiser_is_told_and_sees_its_ad_funds(settings, make_org):
    settings.STRIPE_SECRET_KEY = ""
    org, _ = make_org(roles=("advertiser",), name="Warmth Ltd")

    text = signed_in(org).get(f"/orgs/{org.id}/billing/").content.decode()

    assert "Stripe is not configured on this deployment" in text
    assert '<td data-testid="ad-funds">0.00</td>' in text
    assert "Pay with Stripe" not in text
