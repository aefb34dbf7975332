"""Postpaid invoices (one line per licence, paid by webhook), automatic top-ups, and the
reconciliation of the ledger's Stripe clearing with Stripe's balance transactions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import FundingProfile, StripeInvoice, TopUp
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db(transaction=True)

MARCH = datetime(2026, 3, 10, tzinfo=UTC)


def _line(org):
    return billing.balance_of(organization_id=org.id).currencies[0]


@pytest.fixture
def postpaid_usage(agent, provider, make_offer, accept):
    """A postpaid agent that used two licences in March 2026: 3 x $2 and 2 x $0.50."""
    billing.set_postpaid(organization_id=agent.id, postpaid=True)
    costly = accept(agent, make_offer(provider, name="Costly", price_micros=2_000_000))
    cheap = accept(agent, make_offer(provider, name="Cheap", price_micros=500_000))
    for _ in range(3):
        meter(agent, costly, created_at=MARCH)
    for _ in range(2):
        meter(agent, cheap, created_at=MARCH)
    billing.rate_usage()
    assert _line(agent).receivable_micros == 7_000_000
    return costly, cheap


def test_a_postpaid_organization_gets_one_invoice_line_per_licence_and_pays_it(
    stripe_env, agent, postpaid_usage
):
    costly, cheap = postpaid_usage

    run = billing.invoice_postpaid(period="2026-03")

    assert (run.invoiced, run.skipped) == (1, 0)
    invoice = StripeInvoice.objects.get()
    assert (invoice.status, invoice.amount_micros) == ("open", 7_000_000)
    lines = {line["agreement_id"]: line for line in invoice.lines}
    assert lines[str(costly.id)]["amount_micros"] == 6_000_000
    assert lines[str(costly.id)]["uses"] == 3
    assert lines[str(costly.id)]["description"] == "Licence Costly (use), 3 uses, 2026-03"
    assert lines[str(cheap.id)]["amount_micros"] == 1_000_000
    stripe_lines = stripe_env.payer.v1.invoices.retrieve(invoice.stripe_invoice_id).lines.data
    assert sorted(item.amount for item in stripe_lines) == [100, 600]
    assert billing.invoice_postpaid(period="2026-03").invoiced == 0  # once a month

    stripe_env.act(f"invoices/{invoice.stripe_invoice_id}/pay")
    stripe_env.deliver()
    stripe_env.deliver()

    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert _line(agent).receivable_micros == 0
    assert billing.check_ledger().ok


def test_without_stripe_nothing_is_invoiced(agent, postpaid_usage, settings):
    settings.STRIPE_SECRET_KEY = ""
    from billing.payment_tasks import invoice_postpaid

    assert invoice_postpaid(period="2026-03") == {"invoiced": 0, "skipped": 0}
    assert StripeInvoice.objects.count() == 0


def test_a_low_wallet_is_topped_up_automatically_with_the_saved_card(stripe_env, agent, key_client):
    client = key_client(agent, scopes=["billing"])
    from billing.services.top_ups import ensure_customer

    card = stripe_env.card(ensure_customer(agent.id))
    response = client.patch(
        "/api/v1/billing/funding",
        {
            "low_balance_micros": 5_000_000,
            "auto_top_up_micros": 20_000_000,
            "payment_method_id": card,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["has_payment_method"] is True

    run = billing.check_low_balances()
    assert (run.low, run.started) == (1, 1)
    assert billing.check_low_balances().started == 0  # one in flight at a time
    stripe_env.deliver()

    top_up = TopUp.objects.get()
    assert (top_up.method, top_up.status) == ("automatic", "succeeded")
    assert _line(agent).wallet_micros == 20_000_000
    assert FundingProfile.objects.get().low_balance_since is None
    assert billing.check_low_balances() == billing.LowBalanceRun(low=0, started=0)


def test_auto_top_up_needs_a_saved_card(stripe_env, agent, key_client):
    response = key_client(agent, scopes=["billing"]).patch(
        "/api/v1/billing/funding", {"auto_top_up_micros": 20_000_000}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "no_payment_method"
    assert FundingProfile.objects.get().auto_top_up_micros == 0


def test_reconciliation_matches_top_ups_refunds_and_payouts_and_reports_what_differs(
    stripe_env, agent, key_client
):
    client = key_client(agent, scopes=["billing"])
    for amount in (5_000_000, 7_000_000):
        body = client.post("/api/v1/billing/top-ups", {"amount_micros": amount}, format="json")
        stripe_env.pay(body.json()["payment_intent_id"])
    stripe_env.payer.v1.refunds.create(
        params={"payment_intent": body.json()["payment_intent_id"], "amount": 200}
    )
    stripe_env.deliver()
    window = {
        "since": timezone.now() - timedelta(minutes=5),
        "until": timezone.now() + timedelta(minutes=5),
    }

    clean = billing.reconcile(**window)

    assert clean.stripe_transactions == 3
    assert clean.differences == ()
    # A payment Stripe took that the ledger never heard of (its webhook lost):
    third = client.post("/api/v1/billing/top-ups", {"amount_micros": 3_000_000}, format="json")
    stripe_env.pay(third.json()["payment_intent_id"])
    stripe_env.server.take_events()

    report = billing.reconcile(**window)

    assert [(d.kind, d.stripe_micros, d.ledger_micros, d.problem) for d in report.differences] == [
        ("charge", 3_000_000, 0, "at Stripe, not in the ledger")
    ]
