"""Any sequence of usage, credits, rating and re-rating, voided answers, renewals and revenue
reports keeps the ledger whole: the trial balance is zero, balance rows equal their entries,
no wallet goes below zero, and no usage event is ever counted twice."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing import errors
from billing import services as billing
from billing.models import Account, Entry, RevenueReport, Transaction
from billing.services.rating.usage import RATED_KINDS
from licensing import services as licensing
from tests.acting import acting_for
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db


class Ledger(RuleBasedStateMachine):
    """One example: two agents (one prepaid, one postpaid) and one provider's offers."""

    make_org = make_offer = accept = None  # set by the test before the machine runs

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # every example rolls back: the next starts from nothing
        cls = type(self)
        provider, _ = cls.make_org(roles=("provider",))
        self.agents = [cls.make_org(roles=("agent",))[0] for _ in range(2)]
        billing.set_postpaid(organization_id=self.agents[1].id, postpaid=True)
        per_use = cls.make_offer(provider, name="Use", price_micros=2_000)
        share = cls.make_offer(
            provider,
            name="Share",
            payment_type="revenue_share",
            price_micros=0,
            price_unit="none",
            revenue_share_bps=2_500,
            revenue_share_min_micros=300,
        )
        monthly = cls.make_offer(
            provider,
            name="Monthly",
            payment_type="subscription",
            price_micros=10_000_000,
            price_unit="period",
            period="month",
        )
        # The first month is paid at acceptance: the prepaid agent's wallet must cover it.
        billing.grant_credit(
            organization_id=self.agents[0].id, amount_micros=10_000_000, idempotency_key="start"
        )
        self.agreements = {
            (agent.id, kind): cls.accept(agent, offer)
            for agent in self.agents
            for kind, offer in (("use", per_use), ("share", share), ("monthly", monthly))
        }
        self.now = timezone.now()
        self.requests: list[str] = []
        self.voided = False
        self.credits = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(
        agent=st.integers(0, 1),
        kind=st.sampled_from(["use", "share"]),
        sources=st.integers(1, 3),
        revenue=st.none() | st.integers(0, 5_000_000),
    )
    def use(self, agent, kind, sources, revenue):
        org = self.agents[agent]
        weights = [1_000_000 // sources] * sources
        self.requests.append(
            meter(
                org,
                self.agreements[(org.id, kind)],
                sources=sources,
                weights=weights,
                revenue_micros=revenue,
                created_at=self.now,
            )
        )

    @rule(agent=st.integers(0, 1), amount=st.integers(1, 30_000_000))
    def top_up(self, agent, amount):
        self.credits += 1
        billing.grant_credit(
            organization_id=self.agents[agent].id,
            amount_micros=amount,
            idempotency_key=f"credit-{self.credits}",
        )

    @rule(batch=st.integers(1, 7))
    def rate(self, batch):
        billing.rate_usage(batch_size=batch)

    @rule(batch=st.integers(1, 7))
    def rerate_everything(self, batch):
        before = Entry.objects.count()
        run = billing.rate_usage(from_id=0, batch_size=batch)
        if run.already_rated == run.events:
            assert Entry.objects.count() == before

    @precondition(lambda self: self.requests)
    @rule(pick=st.integers(0, 1_000))
    def void_an_answer(self, pick):
        request_id = self.requests.pop(pick % len(self.requests))
        licensing.void_use(request_id=request_id)  # a stream that failed, rated or not
        self.voided = True

    @rule()
    def void_window_passes(self):
        billing.reverse_voided_uses(now=timezone.now() + timedelta(hours=1))
        self.requests.clear()  # delivered: metering voids an answer only while it streams
        self.voided = False

    @rule(days=st.integers(1, 40))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        billing.charge_agreements(now=self.now)

    @rule(agent=st.integers(0, 1), revenue=st.integers(1, 50_000_000))
    def report_last_month(self, agent, revenue):
        period = (self.now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        try:
            report = billing.submit_revenue_report(
                **acting_for(self.agents[agent]),
                period=period,
                revenue_micros=revenue,
                now=self.now,
            )
        except (errors.PeriodClosed, errors.Conflict):
            return
        billing.allocate_revenue_report(report_id=report.id)
        billing.allocate_revenue_report(report_id=report.id)  # again: nothing more

    @invariant()
    def trial_balance_is_zero(self):
        by_currency = Entry.objects.values("currency").annotate(total=Sum("amount_micros"))
        assert all(row["total"] == 0 for row in by_currency)

    @invariant()
    def balance_rows_equal_their_entries(self):
        sums = dict(
            Entry.objects.values("account_id")
            .annotate(total=Sum("amount_micros"))
            .values_list("account_id", "total")
        )
        for account_id, balance in Account.objects.values_list("id", "balance_micros"):
            assert balance == sums.get(account_id, 0)

    @invariant()
    def no_wallet_below_zero(self):
        assert not Account.objects.filter(purpose="agent_wallet", balance_micros__gt=0).exists()

    @invariant()
    def no_event_counted_twice(self):
        doubled = (
            Transaction.objects.filter(kind__in=RATED_KINDS)
            .values("usage_event_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not doubled.exists()
        allocated = (
            Transaction.objects.filter(kind="revenue_report")
            .values("revenue_report_id", "usage_event_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not allocated.exists()
        for report in RevenueReport.objects.filter(status="allocated"):
            assert report.allocated_micros >= 0

    @invariant()
    def the_ledger_checks_out(self):
        if not self.voided:  # no voided answer's charge waits for its reversal
            report = billing.check_ledger()
            assert report.ok, report.problems


def test_any_sequence_keeps_the_ledger_whole(make_org, make_offer, accept):
    Ledger.make_org = staticmethod(make_org)
    Ledger.make_offer = staticmethod(make_offer)
    Ledger.accept = staticmethod(accept)
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
