"""The auction: one function, `run_auction`, over a swappable engine chosen by a setting.

The default engine, `SecondPriceEngine`, is the rule of docs/ads.md ("The auction") in numpy,
with no Python loop over candidates:

    score = pacing x max bid x event rate x u^beta

(event rate 1/1000 for CPM, the estimated CTR for CPC: a score is expected micros per unit
served, so CPM and CPC bids compare). A unit takes part only if it is eligible, its relevance u
is at least the floor tau, its bid is at least its type's floor price and its score at least
the "no ad" reserve gamma (and above 0). The best K units by score, at most one per
advertiser, win the K slots; ties go to the lower unit id. The unit in slot k pays per event
the least bid that would still have kept slot k:

    price_k = max(score_{k+1}, gamma) / (pacing_k x rate_k x u_k^beta)

rounded up to a whole micro, raised to the floor price, never above its bid. With one slot this
is the second-price (Vickrey) rule with a reserve, where bidding one's value is a dominant
strategy; with K slots it is the generalised second price.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol, cast

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from ads.services.auction.candidates import (
    EVENTS_PER_MILLE,
    AuctionParams,
    AuctionResult,
    BidType,
    Candidates,
    FloatArray,
    IntArray,
    Reason,
)

# A price within this relative distance above a whole micro is that micro: the division that
# recovers the least winning bid must not round a tie up by one micro through float error.
CEIL_TOLERANCE = 1e-12
# How many of the best qualified units are sorted first, per distinct advertiser needed.
SHORTLIST_PER_SLOT = 4


class AuctionEngine(Protocol):
    """Decide one auction: winners with prices, and a reason for every candidate."""

    def run(self, candidates: Candidates, params: AuctionParams) -> AuctionResult: ...


class SecondPriceEngine:
    """The relevance-weighted second-price rule with a floor and a reserve, in numpy."""

    def run(self, candidates: Candidates, params: AuctionParams) -> AuctionResult:
        c = candidates
        is_cpc = c.bid_type == BidType.CPC
        weight = c.pacing * np.where(is_cpc, c.est_ctr, 1.0 / EVENTS_PER_MILLE)
        weight = weight * _power(c.relevance, params.beta)
        scores = c.max_bid_micros * weight
        floor = np.where(is_cpc, params.floor_cpc_micros, params.floor_cpm_micros)

        reasons = c.reasons.copy()
        open_ = reasons == Reason.ELIGIBLE
        open_ = _mark(reasons, open_, c.pacing <= 0.0, Reason.PACED)
        open_ = _mark(reasons, open_, c.relevance < params.relevance_floor, Reason.BELOW_FLOOR)
        open_ = _mark(reasons, open_, c.max_bid_micros < floor, Reason.BELOW_PRICE_FLOOR)
        open_ = _mark(
            reasons, open_, (scores < params.reserve_micros) | (scores <= 0.0), Reason.BELOW_RESERVE
        )
        reasons[open_] = Reason.OUTBID

        ranked = _best_per_advertiser(c, scores, np.flatnonzero(open_), params.slots + 1)
        winners = ranked[: params.slots]
        following = np.zeros(len(winners))
        runners_up = scores[ranked[1 : params.slots + 1]]
        following[: len(runners_up)] = runners_up
        threshold = np.maximum(following, params.reserve_micros)
        least_bid = threshold / weight[winners]
        price = np.ceil(least_bid * (1.0 - CEIL_TOLERANCE))
        price = np.minimum(np.maximum(price, floor[winners]), c.max_bid_micros[winners])
        reasons[winners] = Reason.WON
        for array in (winners, scores, reasons):
            array.setflags(write=False)
        prices = price.astype(np.int64)
        prices.setflags(write=False)
        return AuctionResult(
            candidates=c, winners=winners, price_micros=prices, scores=scores, reasons=reasons
        )


def _power(u: FloatArray, beta: float) -> FloatArray:
    if beta == 1.0:
        return u
    if beta == 2.0:
        return u * u
    return cast(FloatArray, np.power(u, beta))


def _mark(reasons: Any, open_: Any, failed: Any, reason: Reason) -> Any:
    """Give `reason` to the open candidates that fail a test; return those still open."""
    hit = open_ & failed
    reasons[hit] = reason
    return open_ & ~hit


def _best_per_advertiser(
    c: Candidates, scores: FloatArray, qualified: IntArray, wanted: int
) -> IntArray:
    """Return up to `wanted` qualified candidates, best first, the best one per advertiser.

    Only a shortlist is sorted: the best few by `argpartition`, widened to every unit tied with
    its last (so ties are broken by unit id, never by partition order), and widened further
    only while it holds fewer than `wanted` advertisers.
    """
    if not len(qualified):
        return qualified
    qualified_scores = scores[qualified]
    size = min(len(qualified), SHORTLIST_PER_SLOT * wanted)
    while True:
        if size < len(qualified):
            kth = np.partition(qualified_scores, len(qualified) - size)[len(qualified) - size]
            shortlist = qualified[qualified_scores >= kth]
        else:
            shortlist = qualified
        order = np.lexsort((c.unit_id[shortlist], -scores[shortlist]))
        ranked = shortlist[order]
        _, first = np.unique(c.advertiser_id[ranked], return_index=True)
        distinct = ranked[np.sort(first)]
        if len(distinct) >= wanted or len(shortlist) == len(qualified):
            return cast(IntArray, distinct[:wanted])
        size = min(len(qualified), size * SHORTLIST_PER_SLOT)


@functools.cache
def _engine(path: str) -> AuctionEngine:
    engine = import_string(path)()
    if not callable(getattr(engine, "run", None)):
        raise TypeError(f"ADS_AUCTION_ENGINE {path!r} has no run(candidates, params)")
    return cast(AuctionEngine, engine)


def auction_engine() -> AuctionEngine:
    """Return the engine named by the ADS_AUCTION_ENGINE setting (one per process)."""
    return _engine(str(settings.ADS_AUCTION_ENGINE))


def auction_params(**overrides: Any) -> AuctionParams:
    """Return the rule's parameters from the ADS_* settings (config/settings.py, the one
    source of their defaults), with any overrides."""
    values: dict[str, Any] = {
        "slots": int(settings.ADS_SLOTS),
        "relevance_floor": float(settings.ADS_RELEVANCE_FLOOR),
        "reserve_micros": float(settings.ADS_RESERVE_MICROS),
        "beta": float(settings.ADS_BETA),
        "floor_cpm_micros": int(settings.ADS_FLOOR_CPM_MICROS),
        "floor_cpc_micros": int(settings.ADS_FLOOR_CPC_MICROS),
    }
    return AuctionParams(**{**values, **overrides})


def run_auction(
    candidates: Candidates,
    params: AuctionParams | None = None,
    *,
    engine: AuctionEngine | None = None,
) -> AuctionResult:
    """Return the auction's winners, prices and decision trace (settings unless given)."""
    chosen = engine if engine is not None else auction_engine()
    return chosen.run(candidates, params if params is not None else auction_params())
