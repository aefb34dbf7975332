"""Rating usage into the ledger: per use and revenue share, exactly once, wallet first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Entry, RatingCursor, Transaction
from licensing import services as licensing
from tests.acting import acting_for
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db


def _line(org):
    return billing.balance_of(organization_id=org.id).currencies[0]


def _platform_revenue():
    return -sum(e.amount_micros for e in Entry.objects.filter(account__purpose="platform_revenue"))


def test_each_use_is_charged_once_at_its_metered_price_less_the_take(
    agent, provider, make_offer, accept
):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    for _ in range(3):
        meter(agent, agreement, sources=2)

    run = billing.rate_usage()

    assert (run.events, run.written, run.already_rated) == (6, 6, 0)
    assert _line(agent).receivable_micros == 12_000
    assert _line(provider).payable_micros == 6 * 1800  # 10% take (BILLING_TAKE_RATE_BPS)
    assert _platform_revenue() == 6 * 200
    assert billing.check_ledger().ok


def test_rating_again_changes_nothing(agent, provider, make_offer, accept):
    agreement = accept(agent, make_offer(provider))
    meter(agent, agreement, sources=3)
    billing.rate_usage()
    before = list(Entry.objects.values_list("id", "amount_micros"))

    again = billing.rate_usage()
    rerun = billing.rate_usage(from_id=0, batch_size=2)

    assert (again.events, again.written) == (0, 0)
    assert (rerun.events, rerun.written, rerun.already_rated) == (3, 0, 3)
    assert list(Entry.objects.values_list("id", "amount_micros")) == before
    assert Transaction.objects.count() == 3


def test_rating_runs_in_batches_and_moves_its_cursor(agent, provider, make_offer, accept):
    agreement = accept(agent, make_offer(provider))
    for _ in range(5):
        meter(agent, agreement)

    first = billing.rate_usage(batch_size=2, max_batches=1)
    rest = billing.rate_usage(batch_size=2)

    assert (first.written, rest.written) == (2, 3)
    last_event = licensing.usage_high_water_mark()
    assert RatingCursor.objects.get(name="usage").position == last_event == rest.position


def test_a_prepaid_wallet_pays_first_and_the_rest_is_owed(agent, provider, make_offer, accept):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    billing.grant_credit(organization_id=agent.id, amount_micros=5000, idempotency_key="start")
    meter(agent, agreement, sources=3)

    billing.rate_usage()

    line = _line(agent)
    assert (line.wallet_micros, line.receivable_micros) == (0, 1000)
    legs = [
        sorted((e.account.purpose, e.amount_micros) for e in t.entries.all())
        for t in Transaction.objects.filter(kind="use").order_by("id")
    ]
    assert [leg[0] for leg in legs] == [
        ("agent_wallet", 2000),
        ("agent_wallet", 2000),
        ("agent_receivable", 1000),
    ]
    assert ("agent_wallet", 1000) in legs[2]


def test_a_postpaid_agent_is_invoiced_whatever_its_wallet_holds(
    agent, provider, make_offer, accept
):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    billing.grant_credit(organization_id=agent.id, amount_micros=5000, idempotency_key="start")
    billing.set_postpaid(organization_id=agent.id, postpaid=True)
    meter(agent, agreement, sources=2)

    billing.rate_usage()

    line = _line(agent)
    assert (line.wallet_micros, line.receivable_micros) == (5000, 4000)
    assert billing.balance_of(organization_id=agent.id).postpaid is True


def test_the_take_rate_setting_decides_the_platforms_share(
    agent, provider, make_offer, accept, settings
):
    settings.BILLING_TAKE_RATE_BPS = {"use": 2_500}
    agreement = accept(agent, make_offer(provider, price_micros=3333))
    meter(agent, agreement)

    billing.rate_usage()

    assert _platform_revenue() == 833  # 25% of 3333, half up
    assert _line(provider).payable_micros == 2500


def test_a_use_is_rated_under_the_version_its_agreement_accepted(
    agent, provider, make_offer, accept
):
    offer = make_offer(provider, price_micros=2000)
    agreement = accept(agent, offer)
    licensing.update_offer(
        **acting_for(provider),
        offer_id=offer.id,
        name=None,
        auto_accept=None,
        changes={"price_micros": 9000},
    )
    meter(agent, agreement)

    billing.rate_usage()

    assert _line(agent).receivable_micros == 2000


def test_a_revenue_share_is_the_offers_share_of_declared_revenue_by_weight(
    agent, provider, make_offer, accept
):
    offer = make_offer(
        provider,
        payment_type="revenue_share",
        price_micros=0,
        price_unit="none",
        revenue_share_bps=2000,
    )
    agreement = accept(agent, offer)
    meter(agent, agreement, sources=2, weights=[600_000, 400_000], revenue_micros=1_000_000)

    billing.rate_usage()

    amounts = sorted(
        t.entries.get(account__purpose="agent_receivable").amount_micros
        for t in Transaction.objects.filter(kind="revenue_share")
    )
    assert amounts == [80_000, 120_000]  # 20% of $1, split 60/40
    assert _line(provider).payable_micros == 180_000  # less 10%
    assert billing.check_ledger().ok


def test_a_revenue_share_pays_at_least_its_minimum_per_use(agent, provider, make_offer, accept):
    offer = make_offer(
        provider,
        payment_type="revenue_share",
        price_micros=0,
        price_unit="none",
        revenue_share_bps=100,
        revenue_share_min_micros=500,
    )
    agreement = accept(agent, offer)
    meter(agent, agreement, sources=2)  # no revenue declared: the minimum
    meter(agent, agreement, sources=1, revenue_micros=10_000)  # 1% of 1 cent < the minimum
    meter(agent, agreement, sources=1, revenue_micros=1_000_000)  # 1% of $1 = 10,000

    billing.rate_usage()

    assert _line(agent).receivable_micros == 500 + 500 + 500 + 10_000


def test_free_uses_and_unearned_revenue_shares_write_nothing(agent, provider, make_offer, accept):
    free = accept(
        agent, make_offer(provider, payment_type="free", price_micros=0, price_unit="none")
    )
    share = accept(
        agent,
        make_offer(
            provider,
            name="Share",
            payment_type="revenue_share",
            price_micros=0,
            price_unit="none",
            revenue_share_bps=2000,
        ),
    )
    meter(agent, free, sources=2)
    meter(agent, share, sources=2)  # no revenue declared, no minimum

    run = billing.rate_usage()

    assert (run.events, run.written) == (0, 0)
    assert Transaction.objects.count() == 0
    assert billing.check_ledger().ok


def test_the_charge_of_a_voided_answer_is_reversed_once_it_can_no_longer_change(
    agent, provider, make_offer, accept
):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    request_id = meter(agent, agreement, sources=2)
    kept = meter(agent, agreement)
    billing.rate_usage()
    licensing.void_use(request_id=request_id)  # a stream that failed after it was rated

    assert billing.reverse_voided_uses() == 0  # still within the void window
    reversed_count = billing.reverse_voided_uses(now=timezone.now() + timedelta(hours=1))
    again = billing.reverse_voided_uses(now=timezone.now() + timedelta(hours=2))

    assert (reversed_count, again) == (2, 0)
    assert _line(agent).receivable_micros == 2000
    assert _line(provider).payable_micros == 1800
    assert Transaction.objects.filter(kind="reversal").count() == 2
    assert billing.check_ledger().ok
    assert kept


def test_billing_check_finds_an_unrated_event_and_a_lost_one(agent, provider, make_offer, accept):
    agreement = accept(agent, make_offer(provider))
    meter(agent, agreement)
    meter(agent, agreement)
    billing.rate_usage()
    RatingCursor.objects.filter(name="usage").update(position=10**9)  # as if more were rated
    meter(agent, agreement)

    report = billing.check_ledger()

    assert not report.ok
    assert report.trial_balance == {"USD": 0}
    assert any("has 0 rating transactions, not 1" in p for p in report.problems)
