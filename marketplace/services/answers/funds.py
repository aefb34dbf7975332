"""Holding an answer's worst-case cost against a prepaid agent's wallet (billing holds).

The hold is taken when the answer is planned, before any text is written, so a wallet that
cannot cover the answer is refused with 402 `insufficient_funds` like every other refusal. It
is settled on what the answer was metered at when it completes, and released if it fails.
"""

from typing import TYPE_CHECKING

from django.conf import settings

from billing import services as billing

if TYPE_CHECKING:  # planning holds funds once it has planned
    from marketplace.services.answers.planning import AnswerPlan

REVENUE_SHARE = "revenue_share"


def worst_case_micros(answer_plan: "AnswerPlan") -> int:
    """Return the most the planned answer can be charged: each source priced as if cited,
    and a revenue share at its basis points of the declared revenue (all the weight)."""
    total = 0
    for candidate in answer_plan.chosen:
        if candidate.terms.payment_type == REVENUE_SHARE:
            revenue = answer_plan.revenue_micros or 0
            total += -(-candidate.terms.revenue_share_bps * revenue // 10_000)  # ceiling
        else:
            total += candidate.price_micros
    return total


def hold_funds(answer_plan: "AnswerPlan") -> int:
    """Hold the planned answer's worst-case cost; return what was held (0: nothing needed).

    Raises InsufficientFunds (402 insufficient_funds) when the wallet cannot cover it.
    """
    worst_case = worst_case_micros(answer_plan)
    held = billing.hold_for_answer(
        organization_id=answer_plan.agent_id,
        request_id=answer_plan.request_id,
        amount_micros=worst_case,
        currency=settings.LICENSING_CURRENCY,
    )
    return worst_case if held else 0


def settle_funds(answer_plan: "AnswerPlan", total_micros: int) -> None:
    """Replace the answer's hold with what it was metered at (if it is less than held: at
    the worst case the hold stands as it is, due for release when BILLING_HOLD_TTL_S old),
    and have what was metered rated soon."""
    billing.rate_soon()
    if answer_plan.held_micros and total_micros != answer_plan.held_micros:
        billing.settle_hold(
            organization_id=answer_plan.agent_id,
            request_id=answer_plan.request_id,
            currency=settings.LICENSING_CURRENCY,
            held_micros=answer_plan.held_micros,
            amount_micros=total_micros,
        )


def release_funds(answer_plan: "AnswerPlan") -> None:
    """Release the answer's hold: it failed, and owes nothing."""
    if answer_plan.held_micros:
        billing.release_hold(request_id=answer_plan.request_id)
