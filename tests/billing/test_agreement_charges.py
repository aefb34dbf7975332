"""Subscriptions are charged at acceptance and each renewal, and lapse when left unpaid;
purchases are charged once."""

from datetime import timedelta

import pytest

from billing import services as billing
from billing.models import Transaction
from licensing import services as licensing
from licensing.models import LicenseAgreement

pytestmark = pytest.mark.django_db

MONTH = timedelta(days=30)
PRICE = 49_000_000  # $49 a month


@pytest.fixture
def subscription(agent, provider, make_offer, accept):
    offer = make_offer(
        provider,
        name="Monthly",
        payment_type="subscription",
        price_micros=PRICE,
        price_unit="period",
        period="month",
    )
    return accept(agent, offer)


def _agreement(info):
    return LicenseAgreement.objects.get(id=info.id)


def _wallet(org):
    return billing.balance_of(organization_id=org.id).currencies[0].wallet_micros


def test_a_subscription_is_charged_its_period_price_at_acceptance(agent, provider, subscription):
    billing.grant_credit(organization_id=agent.id, amount_micros=100_000_000, idempotency_key="t")

    run = billing.charge_agreements()
    again = billing.charge_agreements()

    assert (run.charged, again.charged) == (1, 0)
    assert _wallet(agent) == 51_000_000
    assert billing.balance_of(organization_id=provider.id).currencies[0].payable_micros == (
        44_100_000  # less the 10% take
    )
    charge = Transaction.objects.get(kind="subscription")
    assert charge.idempotency_key == f"subscription:{subscription.id}:0"
    assert charge.agreement_id == subscription.id
    assert billing.check_ledger().ok


def test_a_paid_renewal_extends_the_subscription_by_a_period(agent, subscription):
    billing.grant_credit(organization_id=agent.id, amount_micros=100_000_000, idempotency_key="t")
    starts = _agreement(subscription).starts_at
    billing.charge_agreements(now=starts + timedelta(minutes=1))

    run = billing.charge_agreements(now=starts + MONTH + timedelta(minutes=1))

    assert (run.charged, run.renewed) == (1, 1)
    assert _agreement(subscription).ends_at == starts + 2 * MONTH
    assert _wallet(agent) == 2_000_000
    keys = set(Transaction.objects.values_list("idempotency_key", flat=True))
    assert f"subscription:{subscription.id}:1" in keys


def test_an_unpaid_renewal_keeps_the_licence_through_its_grace_then_lapses(
    agent, subscription, settings
):
    settings.BILLING_GRACE_PERIOD_S = 3 * 86400
    billing.grant_credit(organization_id=agent.id, amount_micros=PRICE, idempotency_key="t")
    starts = _agreement(subscription).starts_at
    billing.charge_agreements(now=starts)
    renewal = starts + MONTH

    in_grace = billing.charge_agreements(now=renewal + timedelta(days=1))
    assert (in_grace.charged, in_grace.unpaid) == (0, 1)
    assert _agreement(subscription).ends_at == renewal + timedelta(days=3)
    assert _agreement(subscription).status == "active"

    lapsed = billing.charge_agreements(now=renewal + timedelta(days=3, seconds=1))

    assert lapsed.lapsed == 1
    agreement = _agreement(subscription)
    assert (agreement.status, agreement.status_reason) == ("suspended", "renewal_unpaid")
    assert Transaction.objects.filter(kind="subscription").count() == 1
    entitled = licensing.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    assert entitled.terms == ()


def test_a_renewal_paid_within_its_grace_renews_from_the_period_start(agent, subscription):
    billing.grant_credit(organization_id=agent.id, amount_micros=PRICE, idempotency_key="t")
    starts = _agreement(subscription).starts_at
    billing.charge_agreements(now=starts)
    billing.charge_agreements(now=starts + MONTH + timedelta(days=1))  # unpaid: in grace

    billing.grant_credit(organization_id=agent.id, amount_micros=PRICE, idempotency_key="t2")
    run = billing.charge_agreements(now=starts + MONTH + timedelta(days=2))

    assert (run.charged, run.renewed) == (1, 1)
    assert _agreement(subscription).ends_at == starts + 2 * MONTH


def test_a_postpaid_subscription_is_invoiced(agent, subscription):
    billing.set_postpaid(organization_id=agent.id, postpaid=True)

    billing.charge_agreements()

    line = billing.balance_of(organization_id=agent.id).currencies[0]
    assert (line.wallet_micros, line.receivable_micros) == (0, PRICE)


def test_an_unfunded_subscription_lapses_after_its_grace(agent, subscription, settings):
    settings.BILLING_GRACE_PERIOD_S = 3600
    starts = _agreement(subscription).starts_at

    assert billing.charge_agreements(now=starts).unpaid == 1
    assert billing.charge_agreements(now=starts + timedelta(hours=2)).lapsed == 1
    assert Transaction.objects.count() == 0


def test_a_cancelled_subscription_is_not_renewed(agent, subscription):
    billing.grant_credit(organization_id=agent.id, amount_micros=10 * PRICE, idempotency_key="t")
    starts = _agreement(subscription).starts_at
    billing.charge_agreements(now=starts)
    LicenseAgreement.objects.filter(id=subscription.id).update(status="cancelled")

    run = billing.charge_agreements(now=starts + 3 * MONTH)

    assert run.charged == 0
    assert Transaction.objects.filter(kind="subscription").count() == 1


def test_a_purchase_is_charged_once(agent, provider, make_offer, accept):
    offer = make_offer(
        provider,
        name="Dataset",
        usage_types=("ai-train",),
        payment_type="purchase",
        price_micros=500_000_000,
        price_unit="one_off",
    )
    agreement = accept(agent, offer)
    billing.set_postpaid(organization_id=agent.id, postpaid=True)

    first = billing.charge_agreements()
    later = billing.charge_agreements(now=_agreement(agreement).starts_at + 3 * MONTH)

    assert (first.charged, later.charged) == (1, 0)
    charge = Transaction.objects.get()
    assert (charge.kind, charge.idempotency_key) == ("purchase", f"purchase:{agreement.id}")
    assert billing.balance_of(organization_id=provider.id).currencies[0].payable_micros == (
        450_000_000
    )
