"""A Hypothesis state machine of the ledger's money flows, shared by the stateful tests.

`LedgerMachine` sets up two agents (one prepaid, one postpaid), two providers and their
offers (per use, revenue share, monthly subscription), and has the rules every billing
machine shares: usage, rating and re-rating, voided answers, time passing (renewals) and
revenue reports, with the invariants that keep the ledger whole. Subclasses decide how an
example starts from nothing (`begin`) and how wallets are funded (a credit, or Stripe).
"""

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from billing import errors
from billing import services as billing
from billing.models import Account, Entry, RevenueReport, Transaction
from billing.services.rating.usage import RATED_KINDS
from licensing import services as licensing
from tests.acting import acting_for
from tests.billing.conftest import meter


class LedgerMachine(RuleBasedStateMachine):
    """One example: two agents, two providers (one selling per use and by the month, one
    selling a revenue share), and an agreement of each agent to each offer."""

    make_org = make_offer = accept = None  # the test's fixtures, set before the machine runs
    use_price_micros = 2_000
    monthly_price_micros = 10_000_000

    def __init__(self):
        super().__init__()
        self.begin()
        cls = type(self)
        self.providers = [cls.make_org(roles=("provider",))[0] for _ in range(2)]
        self.agents = [cls.make_org(roles=("agent",))[0] for _ in range(2)]
        billing.set_postpaid(organization_id=self.agents[1].id, postpaid=True)
        per_use = cls.make_offer(self.providers[0], name="Use", price_micros=self.use_price_micros)
        share = cls.make_offer(
            self.providers[1],
            name="Share",
            payment_type="revenue_share",
            price_micros=0,
            price_unit="none",
            revenue_share_bps=2_500,
            revenue_share_min_micros=300,
        )
        monthly = cls.make_offer(
            self.providers[0],
            name="Monthly",
            payment_type="subscription",
            price_micros=self.monthly_price_micros,
            price_unit="period",
            period="month",
        )
        # The first month is paid at acceptance: the prepaid agent's wallet must cover it.
        billing.grant_credit(
            organization_id=self.agents[0].id,
            amount_micros=self.monthly_price_micros,
            idempotency_key="start",
        )
        self.agreements = {
            (agent.id, kind): cls.accept(agent, offer)
            for agent in self.agents
            for kind, offer in (("use", per_use), ("share", share), ("monthly", monthly))
        }
        self.now = timezone.now()
        self.requests: list[str] = []
        self.voided = False

    def begin(self):
        """Start the example from an empty ledger."""
        raise NotImplementedError

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
