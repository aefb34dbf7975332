"""What an auction takes and gives: candidate arrays in, winners and a decision trace out.

Everything here is plain Python and numpy (no Django), so the engine can run in any process
and the benchmark can build candidates without a database. A candidate is a row across the
arrays of one `Candidates` value; the engine never turns rows into Python objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
CodeArray = NDArray[np.uint8]


class BidType(enum.IntEnum):
    """How a unit pays: per 1,000 units served (CPM) or per click (CPC)."""

    CPM = 0
    CPC = 1


class Reason(enum.IntEnum):
    """Why a candidate won or lost; the first five are decided before the auction (eligibility)."""

    ELIGIBLE = 0  # an input code only: the candidate takes part in the auction
    NOT_APPROVED = 1
    OUT_OF_BUDGET = 2
    PACED = 3  # its pacing multiplier is 0: held back to spread the budget over the day
    BLOCKED = 4  # a provider's, an agent's or a sensitive-topic block list
    FREQUENCY_CAPPED = 5
    OFF_SCHEDULE = 6
    BELOW_FLOOR = 7  # relevance u below the floor tau
    BELOW_PRICE_FLOOR = 8  # its max bid is below the floor price of its bid type
    BELOW_RESERVE = 9  # score below the "no ad" reserve gamma
    OUTBID = 10  # another unit (or its own advertiser's better unit) took the slots
    WON = 11

    @property
    def code(self) -> str:
        """Return the lower-case name used in traces and the API ("below_floor")."""
        return self.name.lower()


# Codes a caller may put into `Candidates.reasons`: what eligibility decides.
ELIGIBILITY_CODES = frozenset(
    {
        Reason.ELIGIBLE,
        Reason.NOT_APPROVED,
        Reason.OUT_OF_BUDGET,
        Reason.PACED,
        Reason.BLOCKED,
        Reason.FREQUENCY_CAPPED,
        Reason.OFF_SCHEDULE,
    }
)
REASON_NAMES = tuple(reason.code for reason in Reason)
EVENTS_PER_MILLE = 1_000.0


DTYPES: dict[str, type[np.generic]] = {
    "unit_id": np.int64,
    "campaign_id": np.int64,
    "advertiser_id": np.int64,
    "bid_type": np.int8,
    "max_bid_micros": np.int64,
    "est_ctr": np.float64,
    "pacing": np.float64,
    "relevance": np.float64,
    "reasons": np.uint8,
}
_INPUT_CODE = np.zeros(256, dtype=bool)
_INPUT_CODE[list(ELIGIBILITY_CODES)] = True


def _frozen(values: Any, dtype: type[np.generic]) -> Any:
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError("candidate arrays are one-dimensional")
    array.setflags(write=False)
    return array


def _check(name: str, array: Any) -> None:
    if not len(array):
        return
    if name == "bid_type":
        ok = bool(((array == BidType.CPM) | (array == BidType.CPC)).all())
    elif name == "max_bid_micros":
        ok = int(array.min()) >= 0
    elif name in ("est_ctr", "pacing", "relevance"):
        ok = _within_unit_interval(array)
    elif name == "reasons":
        ok = bool(_INPUT_CODE[array].all())
    else:
        ok = True
    if not ok:
        raise ValueError(
            f"bad candidate {name}: bid types are cpm or cpc, bids are >= 0, pacing, relevance "
            "and CTR lie in [0, 1], and input reasons are eligibility codes"
        )


@dataclass(frozen=True, eq=False)
class Candidates:
    """The units of one auction, as aligned read-only arrays (one row per unit).

    `max_bid_micros` is per event of the bid type: per 1,000 served for CPM, per click for CPC.
    `est_ctr` is read for CPC units only; `pacing` and `relevance` are in [0, 1]; `reasons`
    holds each unit's eligibility code (`Reason.ELIGIBLE` to take part).
    """

    unit_id: IntArray
    campaign_id: IntArray
    advertiser_id: IntArray
    bid_type: NDArray[np.int8]
    max_bid_micros: IntArray
    est_ctr: FloatArray
    pacing: FloatArray
    relevance: FloatArray
    reasons: CodeArray

    def __post_init__(self) -> None:
        self._set(dict(self.__dict__))

    def _set(self, arrays: dict[str, Any]) -> None:
        for name, values in arrays.items():
            array = _frozen(values, DTYPES[name])
            _check(name, array)
            object.__setattr__(self, name, array)
        n = len(self.unit_id)
        if any(len(getattr(self, name)) != n for name in DTYPES):
            raise ValueError("candidate arrays differ in length")

    def __len__(self) -> int:
        return len(self.unit_id)

    def with_relevance(self, relevance: FloatArray) -> Candidates:
        """Return the same units with this question's relevance (only it is checked again)."""
        return self._replace(relevance=relevance)

    def with_reasons(self, reasons: CodeArray) -> Candidates:
        """Return the same units with other eligibility codes (only they are checked again)."""
        return self._replace(reasons=reasons)

    def _replace(self, **arrays: Any) -> Candidates:
        new = object.__new__(Candidates)
        for name in DTYPES:
            object.__setattr__(new, name, getattr(self, name))
        new._set(arrays)
        return new


def _within_unit_interval(values: FloatArray) -> bool:
    return bool(np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0)


@dataclass(frozen=True)
class AuctionParams:
    """The rule's parameters (`auction_params()` reads them from the ADS_* settings, whose
    defaults live in config/settings.py only; see docs/ads.md).

    `reserve_micros` (gamma) is in score units: expected micros per unit served.
    `floor_cpm_micros` and `floor_cpc_micros` are the least price per event of each bid type.
    """

    slots: int
    relevance_floor: float
    reserve_micros: float
    beta: float
    floor_cpm_micros: int
    floor_cpc_micros: int

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise ValueError("an auction has at least one slot")
        if not 0.0 <= self.relevance_floor <= 1.0:
            raise ValueError("the relevance floor lies in [0, 1]")
        if not (np.isfinite(self.reserve_micros) and self.reserve_micros >= 0.0):
            raise ValueError("the no-ad reserve is a finite amount >= 0")
        if not (np.isfinite(self.beta) and self.beta >= 0.0):
            raise ValueError("beta is a finite number >= 0")
        if self.floor_cpm_micros < 0 or self.floor_cpc_micros < 0:
            raise ValueError("floor prices are >= 0")


@dataclass(frozen=True, eq=False)
class AuctionResult:
    """Winners in slot order, and the reason and score of every candidate (aligned arrays).

    `winners` indexes the candidates; `price_micros` is per event of each winner's bid type,
    never above its bid and never below its floor price.
    """

    candidates: Candidates
    winners: IntArray
    price_micros: IntArray
    scores: FloatArray
    reasons: CodeArray

    @property
    def unit_ids(self) -> IntArray:
        return self.candidates.unit_id[self.winners]

    @property
    def bid_types(self) -> NDArray[np.int8]:
        return self.candidates.bid_type[self.winners]

    @property
    def winner_scores(self) -> FloatArray:
        return self.scores[self.winners]

    def render_winners(self) -> list[dict[str, int | float | str]]:
        """Return the winners as plain dicts, slot by slot."""
        c = self.candidates
        return [
            {
                "slot": slot,
                "unit_id": int(c.unit_id[i]),
                "campaign_id": int(c.campaign_id[i]),
                "advertiser_id": int(c.advertiser_id[i]),
                "bid_type": BidType(int(c.bid_type[i])).name.lower(),
                "price_micros": int(price),
                "score": float(self.scores[i]),
            }
            for slot, (i, price) in enumerate(zip(self.winners, self.price_micros, strict=True))
        ]

    def render_trace(self) -> list[dict[str, int | float | str]]:
        """Return one dict per candidate: its unit, reason, relevance, score and bid."""
        c = self.candidates
        return [
            {
                "unit_id": int(c.unit_id[i]),
                "campaign_id": int(c.campaign_id[i]),
                "reason": REASON_NAMES[int(self.reasons[i])],
                "relevance": float(c.relevance[i]),
                "score": float(self.scores[i]),
                "max_bid_micros": int(c.max_bid_micros[i]),
            }
            for i in range(len(c))
        ]

    def reason_counts(self) -> dict[str, int]:
        """Return how many candidates ended with each reason (the non-zero ones)."""
        counts = np.bincount(self.reasons, minlength=len(Reason))
        return {REASON_NAMES[code]: int(n) for code, n in enumerate(counts) if n}
