"""Run the auction and hold each winner's cost against its campaign before it is served.

A winner whose campaign cannot cover its cost (another process spent the budget since the
candidates were read) is marked `out_of_budget` with the rest of its campaign's units, every
hold of that round is given back, and the auction runs again without them, so prices are
always those of the units actually served. After `max_rounds` the winners that hold are served
and the others dropped.

What a unit served costs at most: for CPM its price per 1,000 divided by 1,000, rounded up to
a whole micro (a hold never falls short of a charge); for CPC its price per click, held from
the moment the unit is served until the click window ends. With `partial=True` the last
unit of a budget takes what is left (at least one micro) and is charged no more than that, so
a campaign spends its budget to the micro.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ads.services.auction.budgets import BudgetStore, Reservation
from ads.services.auction.candidates import (
    AuctionParams,
    AuctionResult,
    BidType,
    Candidates,
    Reason,
)
from ads.services.auction.engine import AuctionEngine, run_auction

MAX_ROUNDS = 3


def cost_micros(bid_type: int, price_micros: int) -> int:
    """Return the most that serving a unit once can cost at this price per event."""
    if bid_type == BidType.CPM:
        return -(-int(price_micros) // 1000)
    return int(price_micros)


@dataclass(frozen=True)
class ServedAuction:
    """The final auction and one hold per winner, in slot order (aligned with its winners)."""

    result: AuctionResult
    reservations: tuple[Reservation, ...]
    rounds: int


def run_and_reserve(
    candidates: Candidates,
    params: AuctionParams | None = None,
    *,
    store: BudgetStore,
    engine: AuctionEngine | None = None,
    partial: bool = True,
    hold_prefix: str | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> ServedAuction:
    """Return the auction's winners with their budgets held (see the module's docstring).

    `hold_prefix` (an auction id) makes the holds idempotent: a retried call holds nothing twice.
    """
    current = candidates
    for round_number in range(1, max_rounds + 1):
        result = run_auction(current, params, engine=engine)
        held: list[Reservation] = []
        served: list[int] = []
        short: list[int] = []
        for slot, (index, price) in enumerate(
            zip(result.winners.tolist(), result.price_micros.tolist(), strict=True)
        ):
            campaign = int(current.campaign_id[index])
            cost = cost_micros(int(current.bid_type[index]), price)
            hold_id = None if hold_prefix is None else f"{hold_prefix}:{round_number}:{slot}"
            reservation = store.reserve(
                campaign, cost, least_micros=1 if partial else cost, hold_id=hold_id
            )
            if reservation is None:
                short.append(campaign)
            else:
                held.append(reservation)
                served.append(slot)
        if not short:
            return ServedAuction(result, tuple(held), round_number)
        if round_number == max_rounds:
            return ServedAuction(_without_unheld(result, served), tuple(held), round_number)
        for reservation in held:
            store.release(reservation)
        reasons = current.reasons.copy()
        out = np.isin(current.campaign_id, short) & (reasons == Reason.ELIGIBLE)
        reasons[out] = Reason.OUT_OF_BUDGET
        current = current.with_reasons(reasons)
    raise ValueError("max_rounds is at least 1")


def _without_unheld(result: AuctionResult, served: list[int]) -> AuctionResult:
    """Return the result with only the winners that hold their cost; the others out of budget."""
    reasons = result.reasons.copy()
    dropped = np.setdiff1d(result.winners, result.winners[served])
    reasons[dropped] = Reason.OUT_OF_BUDGET
    reasons.setflags(write=False)
    winners = result.winners[served]
    prices = result.price_micros[served]
    return AuctionResult(
        candidates=result.candidates,
        winners=winners,
        price_micros=prices,
        scores=result.scores,
        reasons=reasons,
    )
