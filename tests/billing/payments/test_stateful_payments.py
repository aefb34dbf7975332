"""Any sequence of usage, renewals, revenue reports, top-ups, refunds, payouts, webhook replays
and rating re-runs, with money moving through the local Stripe server, keeps the ledger whole
and in agreement with Stripe.

Top-ups are created through the service against the local Stripe server and paid there (a
card, a declined card, or a Checkout page); refunds are made at Stripe; payouts transfer to the
provider's connected account, and Stripe may fail a transfer (before or after it takes effect),
refuse it, reverse it, or disable and enable the account. Stripe's events wait in a mailbox and
are delivered to /stripe/webhook, signed with the real secret, in any order, and again. The
gateway never calls Stripe inside a transaction, so examples commit: each starts by emptying
the database and the Stripe server.

Beyond the ledger's invariants (LedgerMachine): every delivered event is processed once and a
replayed one writes nothing; a top-up is credited once and only if Stripe took the payment, and
its refunds leave the wallet once; a payout debited the payable once, a failed or reversed one
credited it back once, and Stripe transferred at most once per payout. Once every event is
delivered, the ledger agrees with Stripe: what was paid, refunded, transferred and reversed,
the connected account's state, and the reconciliation of Stripe clearing.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from billing import errors
from billing import services as billing
from billing.models import (
    Account,
    ConnectedAccount,
    Entry,
    Payout,
    StripeEvent,
    TopUp,
    Transaction,
)
from core import cache as local_caches
from tests.acting import acting_for
from tests.billing.ledger_machine import LedgerMachine
from tests.stripe_server import store

pytestmark = pytest.mark.django_db(transaction=True)

CARD, DECLINED = "4242424242424242", "4000000000000341"
CENT = 10_000  # micros in a US cent


@dataclass
class TopUpAtStripe:
    """What Stripe knows of a top-up: whether it was paid, and how much was refunded."""

    id: object
    payment_intent_id: str
    checkout_session_id: str
    amount_micros: int
    state: str = "open"  # open, paid, declined
    refunded_cents: int = 0

    @property
    def refundable_cents(self) -> int:
        return self.amount_micros // CENT - self.refunded_cents if self.state == "paid" else 0


@dataclass(frozen=True)
class TransferAtStripe:
    id: str
    amount: int
    destination: str
    payout_id: str
    reversed: bool


class Payments(LedgerMachine):
    """Provider 0 is paid out through its connected account; provider 1 never onboarded."""

    env = None  # the test's StripeEnv, set before the machine runs
    use_price_micros = 250_000  # enough earnings for payouts above the $1 minimum

    def begin(self):
        call_command("flush", interactive=False, verbosity=0)  # what a transactional test does
        cache.clear()
        local_caches.clear_all()
        self.env.server.reset()
        self.client = APIClient()
        self.mailbox: list[dict] = []  # Stripe's events not delivered yet
        self.delivered: list[dict] = []
        self.top_ups: list[TopUpAtStripe] = []

    def __init__(self):
        super().__init__()
        connect = billing.start_onboarding(**acting_for(self.providers[0]))
        self.account_id = connect.account_id
        self.env.act(f"accounts/{self.account_id}/enable")  # onboarding finished at Stripe
        self._collect()
        while self.mailbox:
            self.delivered.append(self.mailbox.pop())
            self._post(self.delivered[-1])
        assert billing.get_connect_status(**acting_for(self.providers[0])).payouts_enabled

    # -- Stripe: top-ups and refunds ---------------------------------------------------------

    @rule(agent=st.integers(0, 1), cents=st.integers(100, 3_000), checkout=st.booleans())
    def start_top_up(self, agent, cents, checkout):
        info = billing.create_top_up(
            **acting_for(self.agents[agent]),
            amount_micros=cents * CENT,
            method="checkout" if checkout else "payment_intent",
        )
        assert (info.status, info.amount_micros) == ("pending", cents * CENT)
        self.top_ups.append(
            TopUpAtStripe(
                id=info.id,
                payment_intent_id=info.payment_intent_id,
                checkout_session_id=info.checkout_session_id,
                amount_micros=info.amount_micros,
            )
        )
        self._collect()

    @precondition(lambda self: any(t.state == "open" for t in self.top_ups))
    @rule(pick=st.integers(0, 1_000), declined=st.integers(0, 3).map(lambda n: n == 0))
    def payer_pays_at_stripe(self, pick, declined):
        waiting = [t for t in self.top_ups if t.state == "open"]
        top_up = waiting[pick % len(waiting)]
        if top_up.checkout_session_id:
            self.env.act(f"checkout/sessions/{top_up.checkout_session_id}/pay")
            top_up.state = "paid"
        else:
            paid = self.env.pay(top_up.payment_intent_id, card=DECLINED if declined else CARD)
            top_up.state = "declined" if "error" in paid else "paid"
            assert (top_up.state == "declined") == declined
        self._collect()

    @precondition(lambda self: any(t.refundable_cents for t in self.top_ups))
    @rule(pick=st.integers(0, 1_000), cents=st.integers(1, 3_000))
    def refunded_at_stripe(self, pick, cents):
        refundable = [t for t in self.top_ups if t.refundable_cents]
        top_up = refundable[pick % len(refundable)]
        cents = min(cents, top_up.refundable_cents)
        self.env.payer.v1.refunds.create(
            params={"payment_intent": top_up.payment_intent_id, "amount": cents}
        )
        top_up.refunded_cents += cents
        self._collect()

    # -- Stripe: payouts ------------------------------------------------------------------

    @rule(by_task=st.booleans())
    def pay_out(self, by_task):
        provider = self.providers[0]
        if by_task:
            billing.pay_providers()
        else:
            before = self._payable(provider)
            try:
                billing.request_payout(**acting_for(provider))
            except errors.Conflict as exc:
                assert exc.code in ("below_payout_minimum", "payouts_not_enabled")
                assert self._payable(provider) == before
        self._collect()

    @rule()
    def provider_without_connected_account_asks_for_a_payout(self):
        provider = self.providers[1]
        before = self._payable(provider)
        try:
            billing.request_payout(**acting_for(provider))
        except errors.Conflict as exc:
            assert exc.code == "no_connected_account"
        else:
            raise AssertionError("a provider without a connected account was paid out")
        assert self._payable(provider) == before
        assert not Payout.objects.filter(organization_id=provider.id).exists()

    @rule(after=st.booleans())
    def stripe_fails_the_next_transfer(self, after):
        """Stripe answers 500 to the next transfer, before it takes effect or after."""
        self.env.server.fail_next("/v1/transfers", after=after, exact=True)

    @rule(enabled=st.booleans())
    def stripe_changes_the_account(self, enabled):
        self.env.act(f"accounts/{self.account_id}/{'enable' if enabled else 'disable'}")
        self._collect()

    @precondition(lambda self: any(not t.reversed for t in self._transfers()))
    @rule(pick=st.integers(0, 1_000))
    def stripe_reverses_a_transfer(self, pick):
        standing = [t for t in self._transfers() if not t.reversed]
        self.env.payer.v1.transfers.reversals.create(standing[pick % len(standing)].id)
        self._collect()

    # -- webhooks -------------------------------------------------------------------------

    @precondition(lambda self: self.mailbox)
    @rule(pick=st.integers(0, 1_000))
    def deliver_an_event(self, pick):
        """Deliver one waiting event: any of them, so events arrive in any order."""
        event = self.mailbox.pop(pick % len(self.mailbox))
        self._post(event)
        self.delivered.append(event)

    @precondition(lambda self: self.delivered)
    @rule(pick=st.integers(0, 1_000))
    def replay_an_event(self, pick):
        before = self._snapshot()
        self._post(self.delivered[pick % len(self.delivered)])
        assert self._snapshot() == before, "a replayed event wrote something"

    @rule(order=st.randoms(use_true_random=False))
    def deliver_everything(self, order):
        """Deliver every waiting event in some order; then the ledger agrees with Stripe."""
        order.shuffle(self.mailbox)
        while self.mailbox:
            event = self.mailbox.pop()
            self._post(event)
            self.delivered.append(event)
        self._agrees_with_stripe()

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def every_delivered_event_is_processed(self):
        assert list(StripeEvent.objects.exclude(processed_at__isnull=False, error="")) == []
        assert StripeEvent.objects.count() == len({e["id"] for e in self.delivered})

    @invariant()
    def top_ups_are_credited_and_refunded_once(self):
        at_stripe = {t.id: t for t in self.top_ups}
        for row in TopUp.objects.all():
            clearing = Entry.objects.filter(account__purpose="stripe_clearing")
            credited = clearing.filter(transaction__idempotency_key=f"top_up:{row.id}")
            assert list(credited.values_list("amount_micros", flat=True)) == (
                [row.amount_micros] if row.credited_at else []
            )
            refunds = clearing.filter(
                transaction__idempotency_key__startswith=f"refund:{row.id}:"
            ).aggregate(total=Sum("amount_micros"))["total"]
            assert -(refunds or 0) == row.refunded_micros
            if row.credited_at or row.refunded_micros:
                assert at_stripe[row.id].state == "paid", "credited without Stripe's payment"
                assert row.credited_at is not None
            assert row.refunded_micros <= at_stripe[row.id].refunded_cents * CENT

    @invariant()
    def payouts_agree_with_the_ledger(self):
        transfers = Counter(t.payout_id for t in self._transfers())
        for payout in Payout.objects.all():
            legs = Entry.objects.filter(transaction__idempotency_key=f"payout:{payout.id}")
            assert sorted(legs.values_list("account__purpose", "amount_micros")) == [
                ("provider_payable", payout.amount_micros),
                ("stripe_clearing", -payout.amount_micros),
            ]
            undone = Entry.objects.filter(
                transaction__idempotency_key=f"reversal:payout:{payout.id}"
            )
            assert sorted(undone.values_list("account__purpose", "amount_micros")) == (
                [
                    ("provider_payable", -payout.amount_micros),
                    ("stripe_clearing", payout.amount_micros),
                ]
                if payout.status in ("failed", "reversed")
                else []
            )
            assert transfers[str(payout.id)] <= 1, "Stripe transferred a payout twice"
            if payout.status == "failed":
                assert transfers[str(payout.id)] == 0
        for provider in self.providers:  # payable = earned - what payouts took and kept
            payable = Account.objects.filter(
                organization_id=provider.id, purpose="provider_payable"
            ).first()
            if payable is None:
                continue
            earned = (
                Entry.objects.filter(account=payable)
                .exclude(transaction__kind=Transaction.Kind.PAYOUT)
                .exclude(transaction__idempotency_key__startswith="reversal:payout:")
                .aggregate(total=Sum("amount_micros"))["total"]
                or 0
            )
            out = Payout.objects.filter(
                organization_id=provider.id, status__in=("pending", "paid")
            ).aggregate(total=Sum("amount_micros"))["total"]
            assert payable.balance_micros == earned + (out or 0)

    # -- helpers --------------------------------------------------------------------------

    def _agrees_with_stripe(self):
        for top_up in self.top_ups:
            row = TopUp.objects.get(id=top_up.id)
            assert (row.credited_at is not None) == (top_up.state == "paid")
            assert row.refunded_micros == top_up.refunded_cents * CENT
            status = {"open": "pending", "paid": "succeeded", "declined": "failed"}[top_up.state]
            assert row.status == ("refunded" if top_up.refunded_cents else status)
        account = self.env.server.call(lambda: store[f"account:{self.account_id}"].payouts_enabled)
        assert ConnectedAccount.objects.get().payouts_enabled == account
        transfers = {t.payout_id: t for t in self._transfers()}
        for payout in Payout.objects.exclude(status="pending"):
            transfer = transfers.get(str(payout.id))
            if payout.status == "failed":
                assert transfer is None
                continue
            assert transfer is not None and transfer.amount * CENT == payout.amount_micros
            assert transfer.destination == self.account_id
            assert transfer.reversed == (payout.status == "reversed")
            assert payout.transfer_id == transfer.id
        if not Payout.objects.filter(status="pending").exists():
            now = timezone.now()
            report = billing.reconcile(
                since=now - timedelta(hours=1), until=now + timedelta(minutes=5)
            )
            assert report.differences == ()

    def _collect(self):
        self.mailbox.extend(self.env.server.take_events())

    def _post(self, event):
        body, signature = self.env.server.signed(event)
        response = self.client.post(
            "/stripe/webhook",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 200, response.content

    def _transfers(self) -> list[TransferAtStripe]:
        def read():
            return [
                TransferAtStripe(
                    id=t.id,
                    amount=t.amount,
                    destination=t.destination,
                    payout_id=str((t.metadata or {}).get("payout_id", "")),
                    reversed=t.reversed,
                )
                for key, t in list(store.items())
                if key.startswith("transfer:")
            ]

        return self.env.server.call(read)

    def _payable(self, provider) -> int:
        return billing.balance_of(organization_id=provider.id).currencies[0].payable_micros

    def _snapshot(self):
        return (
            Transaction.objects.count(),
            Entry.objects.count(),
            StripeEvent.objects.count(),
            sorted(Account.objects.values_list("id", "balance_micros", "reserved_micros")),
            sorted(TopUp.objects.values_list("id", "status", "refunded_micros", "credited_at")),
            sorted(Payout.objects.values_list("id", "status", "transfer_id")),
            list(ConnectedAccount.objects.values_list("payouts_enabled", "updated_by_event_at")),
        )


def test_money_through_stripe_keeps_the_ledger_whole(
    stripe_env, make_org, make_offer, accept, settings
):
    settings.BILLING_PAYOUT_MINIMUM_MICROS = 1_000_000
    Payments.env = stripe_env
    Payments.make_org = staticmethod(make_org)
    Payments.make_offer = staticmethod(make_offer)
    Payments.accept = staticmethod(accept)
    run_state_machine_as_test(
        Payments,
        settings=hypothesis_settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
