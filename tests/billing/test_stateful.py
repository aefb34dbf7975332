"""Any sequence of usage, credits, rating and re-rating, voided answers, renewals and revenue
reports keeps the ledger whole: the trial balance is zero, balance rows equal their entries,
no wallet goes below zero, and no usage event is ever counted twice.

Each example runs inside one atomic block it rolls back. Top-ups through Stripe (which is never
called inside a transaction), refunds, payouts and webhooks are in
tests/billing/payments/test_stateful_payments.py."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from billing import services as billing
from tests.billing.ledger_machine import LedgerMachine

pytestmark = pytest.mark.django_db


class Ledger(LedgerMachine):
    """Wallets funded by an operator's credits; every example rolls back."""

    def begin(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # every example rolls back: the next starts from nothing
        self.credits = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(agent=st.integers(0, 1), amount=st.integers(1, 30_000_000))
    def top_up(self, agent, amount):
        self.credits += 1
        billing.grant_credit(
            organization_id=self.agents[agent].id,
            amount_micros=amount,
            idempotency_key=f"credit-{self.credits}",
        )


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
