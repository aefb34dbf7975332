"""Subscriptions are charged at acceptance (refused, 402, when a prepaid wallet cannot pay) and
at each renewal by the periodic pass, and lapse when a renewal is left unpaid; purchases are
charged once, at acceptance. The pass charges nothing the acceptance charged (same keys)."""

from datetime import timedelta

import pytest

from billing import errors as billing_errors
from billing import services as billing
from billing.models import Transaction
from licensing import services as licensing
from licensing.models import LicenseAgreement
from licensing.services.agreements import accept_for_agent

pytestmark = pytest.mark.django_db

MONTH = timedelta(days=30)
PRICE = 49_000_000  # $49 a month


@pytest.fixture
def monthly(provider, make_offer):
    return make_offer(
        provider,
        name="Monthly",
        payment_type="subscription",
        price_micros=PRICE,
        price_unit="period",
        period="month",
    )


@pytest.fixture
def funded(agent):
    """Return a function putting `amount` more in the agent's wallet."""
    keys = iter(range(1000))

    def fund(amount):
        billing.grant_credit(
            organization_id=agent.id, amount_micros=amount, idempotency_key=f"t{next(keys)}"
        )

    return fund


@pytest.fixture
def subscription(agent, monthly, accept, funded):
    """A $49 monthly subscription accepted (and so paid) from a wallet of exactly $49."""
    funded(PRICE)
    return accept(agent, monthly)


def _agreement(info):
    return LicenseAgreement.objects.get(id=info.id)


def _wallet(org):
    return billing.balance_of(organization_id=org.id).currencies[0].wallet_micros


def test_a_subscription_is_charged_its_period_price_at_acceptance(
    agent, provider, monthly, accept, funded
):
    funded(100_000_000)

    agreement = accept(agent, monthly)

    assert _wallet(agent) == 51_000_000  # charged at once, before any periodic pass
    assert billing.balance_of(organization_id=provider.id).currencies[0].payable_micros == (
        44_100_000  # less the 10% take
    )
    charge = Transaction.objects.get(kind="subscription")
    assert charge.idempotency_key == f"subscription:{agreement.id}:0"
    assert charge.agreement_id == agreement.id
    run = billing.charge_agreements()  # the pass finds the period paid, under the same key
    assert (run.charged, run.unpaid) == (0, 0)
    assert Transaction.objects.filter(kind="subscription").count() == 1
    assert _wallet(agent) == 51_000_000
    assert billing.check_ledger().ok


def test_accepting_again_charges_nothing_more(agent, subscription, monthly, accept):
    again = accept(agent, monthly)

    assert again.id == subscription.id
    assert Transaction.objects.filter(kind="subscription").count() == 1


def test_a_wallet_that_cannot_pay_the_first_period_refuses_the_acceptance(
    agent, monthly, accept, funded
):
    funded(PRICE - 1)

    with pytest.raises(billing_errors.InsufficientFunds) as refused:
        accept(agent, monthly)

    assert refused.value.details["available_micros"] == PRICE - 1
    assert LicenseAgreement.objects.count() == 0
    assert Transaction.objects.filter(kind="subscription").count() == 0
    assert _wallet(agent) == PRICE - 1
    assert billing.check_ledger().ok


def test_a_paid_renewal_extends_the_subscription_by_a_period(agent, subscription, funded):
    funded(51_000_000)
    starts = _agreement(subscription).starts_at
    assert billing.charge_agreements(now=starts + timedelta(minutes=1)).charged == 0

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


def test_a_renewal_paid_within_its_grace_renews_from_the_period_start(agent, subscription, funded):
    starts = _agreement(subscription).starts_at
    billing.charge_agreements(now=starts)
    billing.charge_agreements(now=starts + MONTH + timedelta(days=1))  # unpaid: in grace

    funded(PRICE)
    run = billing.charge_agreements(now=starts + MONTH + timedelta(days=2))

    assert (run.charged, run.renewed) == (1, 1)
    assert _agreement(subscription).ends_at == starts + 2 * MONTH


def test_a_postpaid_subscription_is_invoiced_at_acceptance(agent, monthly, accept):
    billing.set_postpaid(organization_id=agent.id, postpaid=True)

    accept(agent, monthly)

    line = billing.balance_of(organization_id=agent.id).currencies[0]
    assert (line.wallet_micros, line.receivable_micros) == (0, PRICE)
    assert billing.charge_agreements().charged == 0


def test_an_unfunded_renewal_lapses_after_its_grace(agent, subscription, settings):
    settings.BILLING_GRACE_PERIOD_S = 3600
    renewal = _agreement(subscription).starts_at + MONTH

    assert billing.charge_agreements(now=renewal).unpaid == 1
    assert billing.charge_agreements(now=renewal + timedelta(hours=2)).lapsed == 1
    assert Transaction.objects.filter(kind="subscription").count() == 1


def test_a_cancelled_subscription_is_not_renewed(agent, subscription, funded):
    funded(10 * PRICE)
    starts = _agreement(subscription).starts_at
    LicenseAgreement.objects.filter(id=subscription.id).update(status="cancelled")

    run = billing.charge_agreements(now=starts + 3 * MONTH)

    assert run.charged == 0
    assert Transaction.objects.filter(kind="subscription").count() == 1


@pytest.fixture
def dataset_offer(provider, make_offer):
    return make_offer(
        provider,
        name="Dataset",
        usage_types=("ai-train",),
        payment_type="purchase",
        price_micros=500_000_000,
        price_unit="one_off",
    )


def test_a_purchase_is_charged_once_at_acceptance(agent, provider, dataset_offer, accept):
    billing.set_postpaid(organization_id=agent.id, postpaid=True)

    agreement = accept(agent, dataset_offer)

    charge = Transaction.objects.get()
    assert (charge.kind, charge.idempotency_key) == ("purchase", f"purchase:{agreement.id}")
    first = billing.charge_agreements()
    later = billing.charge_agreements(now=_agreement(agreement).starts_at + 3 * MONTH)
    assert (first.charged, later.charged) == (0, 0)
    assert Transaction.objects.count() == 1
    assert billing.balance_of(organization_id=provider.id).currencies[0].payable_micros == (
        450_000_000
    )


def test_a_purchase_the_wallet_cannot_pay_is_refused(agent, dataset_offer, accept, funded):
    funded(1_000_000)

    with pytest.raises(billing_errors.InsufficientFunds):
        accept(agent, dataset_offer)

    assert LicenseAgreement.objects.count() == 0
    assert _wallet(agent) == 1_000_000


def test_the_periodic_pass_charges_an_agreement_acceptance_did_not(agent, dataset_offer):
    """An agreement made without the acceptance charge (an auto-accept offer on first use) is
    charged by the pass, under the key acceptance would have used."""
    agreement = accept_for_agent(agent_id=agent.id, offer_id=dataset_offer.id, origin="auto_accept")
    billing.set_postpaid(organization_id=agent.id, postpaid=True)
    assert Transaction.objects.count() == 0

    assert billing.charge_agreements().charged == 1
    assert Transaction.objects.get().idempotency_key == f"purchase:{agreement.id}"
