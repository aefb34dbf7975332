"""The demo's first answers and what they moved: the demo agent's wallet gets a starting
credit (before it accepts offers: a purchase is paid at acceptance), it asks a few questions
across the catalog (under request ids of its own, so a second seed asks nothing twice), and
billing rates the usage, so every paid provider has a payable balance and a statement from the
start."""

import uuid
from dataclasses import dataclass

from billing import services as billing
from licensing import services as licensing
from marketplace.services import answers

# $100 in the demo agent's wallet: for its answers, and for the first month ($49) of the
# Research Roundups subscription that `make run` shows it how to take (charged at acceptance).
DEMO_CREDIT_MICROS = 100_000_000
# What the training licence the demo agent buys costs (paid from its wallet at acceptance).
DEMO_TRAINING_CREDIT_MICROS = 1_500_000_000
# (question, revenue the agent declares the answer earned: shared with revenue-share sources)
DEMO_QUESTIONS = (
    ("How does a heat pump keep working in freezing weather?", None),
    ("Why does sourdough rise?", None),
    ("How does caffeine keep you awake?", None),
    ("What does Cache-Control no-cache mean?", 20_000),
    ("Why can't Python threads run in parallel? The GIL", 20_000),
    ("How do I prevent altitude sickness?", None),
)


@dataclass(frozen=True)
class DemoUsage:
    answers: int  # asked by this run
    rated: int  # ledger transactions written by this run
    payable_micros: dict[str, int]  # provider name -> its payable balance


def fund_wallet(*, agent_id: uuid.UUID) -> None:
    """Credit the demo agent's wallet once: for its answers, and for the training licence it
    buys (a purchase is paid from the wallet when it is accepted)."""
    billing.grant_credit(
        organization_id=agent_id,
        amount_micros=DEMO_CREDIT_MICROS,
        idempotency_key=f"demo-wallet-{agent_id}",
        memo="Demo credit",
    )
    billing.grant_credit(
        organization_id=agent_id,
        amount_micros=DEMO_TRAINING_CREDIT_MICROS,
        idempotency_key=f"demo-training-{agent_id}",
        memo="Demo credit for a training licence",
    )


def seed_usage(*, agent_id: uuid.UUID, providers: dict[str, uuid.UUID]) -> DemoUsage:
    """Ask the demo questions once and rate what was used (fund the wallet first)."""
    asked = 0
    for n, (question, revenue_micros) in enumerate(DEMO_QUESTIONS):
        request_id = f"demo-{agent_id}-{n}"
        if licensing.is_metered(request_id=request_id):
            continue
        plan = answers.plan(
            agent_id=agent_id,
            question=question,
            request_id=request_id,
            revenue_micros=revenue_micros,
        )
        answers.answer_question(plan)
        asked += 1
    rated = billing.rate_usage()
    billing.release_wallet_holds()  # the answers are rated: nothing is in flight any more
    charged = billing.charge_agreements()
    payable = {
        name: billing.balance_of(organization_id=org_id).currencies[0].payable_micros
        for name, org_id in providers.items()
    }
    return DemoUsage(answers=asked, rated=rated.written + charged.charged, payable_micros=payable)
