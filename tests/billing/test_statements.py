"""Monthly statements: the month's lines by account and kind, balances when it opened and
closed (from the balance rows, without summing history), the whole platform, month end."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Entry
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db


def _months():
    this = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (this - timedelta(days=1)).replace(day=1)
    return last, this


@pytest.fixture
def two_months(agent, provider, make_offer, accept):
    """Two uses dated last month, three this month, rated; then a $1 credit."""
    last, this = _months()
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    for day in (2, 3):
        meter(agent, agreement, created_at=last + timedelta(days=day))
    for _ in range(3):
        meter(agent, agreement)
    billing.rate_usage()
    billing.grant_credit(organization_id=agent.id, amount_micros=1_000_000, idempotency_key="c")
    return last.strftime("%Y-%m"), this.strftime("%Y-%m")


def test_a_statement_opens_where_the_last_month_closed(two_months, agent, provider):
    last, this = two_months

    before = billing.statement_for(organization_id=agent.id, period=last)
    now = billing.statement_for(organization_id=agent.id, period=this)

    assert [(a.account, a.opening_micros, a.closing_micros) for a in before.accounts] == [
        ("agent_receivable", 0, 4000)
    ]
    assert [(line.kind, line.transactions, line.debit_micros) for line in before.lines] == [
        ("use", 2, 4000)
    ]
    assert {(a.account, a.opening_micros, a.closing_micros) for a in now.accounts} == {
        ("agent_wallet", 0, 1_000_000),
        ("agent_receivable", 4000, 10_000),
    }
    assert {
        (x.account, x.kind, x.transactions, x.debit_micros, x.credit_micros) for x in now.lines
    } == {
        ("agent_wallet", "credit", 1, 0, 1_000_000),
        ("agent_receivable", "use", 3, 6000, 0),
    }
    provider_now = billing.statement_for(organization_id=provider.id, period=this)
    assert [(a.opening_micros, a.closing_micros) for a in provider_now.accounts] == [(3600, 9000)]


def test_a_closed_month_does_not_change_when_later_months_move(two_months, agent, provider):
    last, _ = two_months
    before = billing.statement_for(organization_id=agent.id, period=last)

    billing.grant_credit(organization_id=agent.id, amount_micros=5, idempotency_key="later")

    assert billing.statement_for(organization_id=agent.id, period=last) == before


def test_month_end_gives_each_organization_its_own_statement(two_months, agent, provider):
    _, this = two_months

    found = {s.organization_id: s for s in billing.month_end_statements(period=this)}

    assert set(found) == {None, agent.id, provider.id}
    for org_id in (None, agent.id, provider.id):
        assert found[org_id] == billing.statement_for(organization_id=org_id, period=this)


def test_the_platform_statement_adds_every_account_up_by_purpose(two_months):
    _, this = two_months

    whole = billing.platform_statement(period=this)

    assert whole.whole_platform is True
    assert [(a.account, a.opening_micros, a.closing_micros) for a in whole.accounts] == [
        ("agent_receivable", 4000, 10_000),
        ("agent_wallet", 0, 1_000_000),
        ("platform_promotions", 0, 1_000_000),
        ("platform_revenue", 400, 1000),
        ("provider_payable", 3600, 9000),
    ]
    debits = sum(line.debit_micros for line in whole.lines)
    assert debits == sum(line.credit_micros for line in whole.lines) == 6000 + 1_000_000
    assert billing.platform_statement(period="2001-01").lines == ()


def test_entries_carry_their_transactions_kind_and_time(two_months):
    for entry in Entry.objects.select_related("transaction"):
        assert (entry.kind, entry.effective_at) == (
            entry.transaction.kind,
            entry.transaction.effective_at,
        )
    assert billing.check_ledger().ok
