"""The ads auction: candidates in, winners with second prices and a decision trace out.

`run_auction` (engine.py) decides; `relevance` (relevance.py) scores units against a question
and its sources; `budget_store` (budgets.py) holds what a winner may cost before it is served;
`run_and_reserve` (serving.py) does both. Plain Python, numpy, scipy and Redis: no models.
The rule and its settings: docs/ads.md, "The auction".
"""

from ads.services.auction.budgets import (
    BudgetError,
    BudgetNotLoaded,
    BudgetStore,
    LedgerSpend,
    LocalBudgetStore,
    Reconciled,
    RedisBudgetStore,
    Remaining,
    Reservation,
    budget_store,
)
from ads.services.auction.candidates import (
    AuctionParams,
    AuctionResult,
    BidType,
    Candidates,
    Reason,
)
from ads.services.auction.engine import (
    AuctionEngine,
    SecondPriceEngine,
    auction_engine,
    auction_params,
    run_auction,
)
from ads.services.auction.relevance import UnitIndex, UnitText, build_unit_index, relevance
from ads.services.auction.serving import ServedAuction, cost_micros, run_and_reserve

__all__ = [
    "AuctionEngine",
    "AuctionParams",
    "AuctionResult",
    "BidType",
    "BudgetError",
    "BudgetNotLoaded",
    "BudgetStore",
    "Candidates",
    "LedgerSpend",
    "LocalBudgetStore",
    "Reason",
    "Reconciled",
    "RedisBudgetStore",
    "Remaining",
    "Reservation",
    "SecondPriceEngine",
    "ServedAuction",
    "UnitIndex",
    "UnitText",
    "auction_engine",
    "auction_params",
    "budget_store",
    "build_unit_index",
    "cost_micros",
    "relevance",
    "run_and_reserve",
    "run_auction",
]
