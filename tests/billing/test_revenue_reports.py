"""Period revenue reports: a month's revenue shared over its revenue-share uses by weight."""

from datetime import UTC, datetime

import pytest

from billing import errors
from billing import services as billing
from billing.models import RevenueReport, Transaction
from tests.acting import acting_for
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db

IN_JANUARY = datetime(2026, 1, 10, 12, tzinfo=UTC)
EARLY_FEBRUARY = datetime(2026, 2, 5, tzinfo=UTC)


@pytest.fixture
def shares(agent, provider, make_org, make_offer, accept):
    """Two revenue-share agreements with two providers, used in January 2026."""
    other, _ = make_org(roles=("provider",), name="Helio")
    a = accept(
        agent,
        make_offer(
            provider,
            name="A",
            payment_type="revenue_share",
            price_micros=0,
            price_unit="none",
            revenue_share_bps=2000,
        ),
    )
    b = accept(
        agent,
        make_offer(
            other,
            name="B",
            payment_type="revenue_share",
            price_micros=0,
            price_unit="none",
            revenue_share_bps=5000,
            revenue_share_min_micros=100,
        ),
    )
    meter(agent, a, weights=[750_000], created_at=IN_JANUARY)
    meter(agent, b, weights=[250_000], created_at=IN_JANUARY)
    meter(agent, a, weights=[1_000_000], created_at=IN_JANUARY, revenue_micros=1_000)  # declared
    meter(agent, a, weights=[1_000_000], created_at=EARLY_FEBRUARY)  # another month
    billing.rate_usage()
    return a, b, other


def _report(agent, **kwargs):
    kwargs.setdefault("now", EARLY_FEBRUARY)
    return billing.submit_revenue_report(**acting_for(agent), **kwargs)


def _earned(org):
    return billing.balance_of(organization_id=org.id).currencies[0].payable_micros


def test_a_months_revenue_is_shared_by_weight_less_what_minimums_paid(
    agent, provider, shares, django_capture_on_commit_callbacks
):
    _, _, other = shares
    assert _earned(other) == 90  # the minimum per use, less the take, at rating

    with django_capture_on_commit_callbacks(execute=True):
        report = _report(agent, period="2026-01", revenue_micros=10_000_000)

    report = RevenueReport.objects.get(id=report.id)
    # A: 20% of $10 x 0.75 = $1.50; B: 50% of $10 x 0.25 = $1.25, of which 100 was paid.
    assert (report.status, report.uses_count) == ("allocated", 2)
    assert report.allocated_micros == 1_500_000 + 1_249_900
    assert _earned(provider) == 1_350_000 + 180  # and the declared answer's 20% of 1,000
    assert _earned(other) == 1_125_000
    assert Transaction.objects.filter(kind="revenue_report").count() == 2
    assert billing.check_ledger().ok


def test_allocating_again_writes_nothing(agent, shares):
    report = _report(agent, period="2026-01", revenue_micros=10_000_000)
    billing.allocate_revenue_report(report_id=report.id)
    RevenueReport.objects.filter(id=report.id).update(status="pending")  # a worker died

    billing.allocate_revenue_report(report_id=report.id)

    assert Transaction.objects.filter(kind="revenue_report").count() == 2
    assert RevenueReport.objects.get(id=report.id).allocated_micros == 2_749_900


def test_a_report_for_one_agreement_shares_over_its_uses_only(agent, provider, shares):
    a, _, other = shares

    report = _report(agent, period="2026-01", revenue_micros=10_000_000, agreement_id=a.id)
    billing.allocate_revenue_report(report_id=report.id)

    assert _earned(provider) == 1_800_000 + 180  # 20% of all $10, less 10%
    assert _earned(other) == 90


@pytest.mark.parametrize(
    ("period", "now", "code"),
    [
        ("2026-02", EARLY_FEBRUARY, "period_open"),
        ("2025-12", EARLY_FEBRUARY, "period_closed"),
        ("2026-01", datetime(2026, 2, 16, tzinfo=UTC), "period_closed"),
    ],
)
def test_a_report_outside_its_window_is_422(agent, shares, period, now, code):
    with pytest.raises(errors.PeriodClosed) as raised:
        _report(agent, period=period, revenue_micros=1_000, now=now)

    assert (raised.value.status, raised.value.code) == (422, code)
    assert RevenueReport.objects.count() == 0


def test_a_month_is_reported_once(agent, shares):
    _report(agent, period="2026-01", revenue_micros=1_000)

    with pytest.raises(errors.Conflict):
        _report(agent, period="2026-01", revenue_micros=2_000)


def test_another_agents_agreement_is_not_found(agent, shares, make_org):
    a, _, _ = shares
    stranger, _ = make_org(roles=("agent",))

    with pytest.raises(errors.NotFound):
        _report(stranger, period="2026-01", revenue_micros=1_000, agreement_id=a.id)
    assert RevenueReport.objects.count() == 0


def test_a_report_for_a_per_use_agreement_is_refused(agent, provider, make_offer, accept):
    per_use = accept(agent, make_offer(provider))

    with pytest.raises(errors.ValidationFailed):
        _report(agent, period="2026-01", revenue_micros=1_000, agreement_id=per_use.id)


@pytest.mark.parametrize("revenue", [0, -5])
def test_revenue_is_more_than_zero(agent, revenue):
    with pytest.raises(errors.ValidationFailed):
        _report(agent, period="2026-01", revenue_micros=revenue)
