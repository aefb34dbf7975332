"""A process's snapshot of the units that may serve: their auction arrays, relevance index and
targeting, built once from `eligible_units` and shared by every auction of the process.

Units, campaigns and advertisers are numbered 0..n-1 in the snapshot (units in id order, so
ties in the auction go to the lower unit id); `unit_ids`, `campaign_ids` and `advertiser_ids`
map the numbers back to ids. Targeting and categories are kept as postings (an id -> the rows
of the units that name it), so an auction's masks are a few numpy assignments, never a loop
over units.

Snapshots are cached per process under (the ads generation, the currency, the time bucket of
ADS_SNAPSHOT_MAX_AGE_S): a change to what may serve bumps the generation
(ads/services/changes.py) and every process rebuilds on its next auction; the units are also
read again at the latest after ADS_SNAPSHOT_MAX_AGE_S (a snapshot holds the units whose
campaigns start before its bucket ends, and checks their schedule when they serve), and the
previous snapshot is kept when they are the same (building the relevance index is the
expensive part: about 0.5 s for 2,000 units).
"""

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings

from ads.models import Category, Pacing
from ads.services.auction import (
    BidType,
    Candidates,
    UnitIndex,
    UnitText,
    build_unit_index,
)
from ads.services.auction.candidates import FloatArray, IntArray
from ads.services.changes import daily_limit, generation
from ads.services.eligibility import EligibleUnit, eligible_units
from core.cache import LocalCache

EMPTY_ROWS: IntArray = np.zeros(0, dtype=np.int64)
NEVER = float("inf")
CATEGORY_CODES = {value: code for code, value in enumerate(Category.values)}
_BID_TYPES = {"cpm": BidType.CPM, "cpc": BidType.CPC}
# Targeting lists kept as postings: what an auction's context is matched against.
TARGET_KEYS = (
    "collections",
    "exclude_collections",
    "providers",
    "exclude_providers",
    "agent_orgs",
    "exclude_agent_orgs",
)

_snapshots: "LocalCache[tuple[object, ...], Snapshot]" = LocalCache(
    "ads.snapshots", maxsize=4, ttl_s=3600
)


@dataclass(frozen=True, eq=False)
class Targets:
    """One targeting list of every unit: the rows naming each id, and the rows naming any."""

    postings: dict[uuid.UUID, IntArray]
    any: np.ndarray[Any, np.dtype[np.bool_]]

    def hit(self, ids: Iterable[uuid.UUID], n: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Return which units name at least one of these ids."""
        mask = np.zeros(n, dtype=bool)
        for value in ids:
            mask[self.postings.get(value, EMPTY_ROWS)] = True
        return mask


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The units that may serve, as the auction reads them (see the module's docstring)."""

    currency: str
    generation: int
    built_at: float  # seconds since the epoch
    units: tuple[EligibleUnit, ...]
    unit_ids: tuple[uuid.UUID, ...]
    unit_rows: dict[uuid.UUID, int]
    unit_numbers: dict[str, int]  # the same, by the id as text (the frequency counters' keys)
    unit_texts: tuple[str, ...]  # each unit's id as text (for traces)
    campaign_ids: tuple[uuid.UUID, ...]
    advertiser_ids: tuple[uuid.UUID, ...]
    advertiser_rows: dict[uuid.UUID, int]
    candidates: Candidates  # every unit eligible, relevance 0, pacing 1: an auction's base
    index: UnitIndex  # relevance (TF-IDF over the units' text, hints and keywords)
    category: IntArray  # per unit, CATEGORY_CODES
    starts_at_s: FloatArray  # per unit: its campaign's schedule, seconds since the epoch
    ends_at_s: FloatArray  # inf: no end
    # Per campaign (by number): budgets, pacing and schedule.
    total_budget_micros: IntArray
    daily_limit_micros: IntArray  # its daily budget, else its total
    has_daily_budget: np.ndarray[Any, np.dtype[np.bool_]]
    paced_evenly: np.ndarray[Any, np.dtype[np.bool_]]
    campaign_starts_s: FloatArray
    campaign_ends_s: FloatArray
    targets: dict[str, Targets]

    def __len__(self) -> int:
        return len(self.units)


def _epoch(value: datetime | None) -> float:
    return NEVER if value is None else value.astimezone(UTC).timestamp()


def _targets(units: Sequence[EligibleUnit], key: str) -> Targets:
    rows: defaultdict[uuid.UUID, list[int]] = defaultdict(list)
    named = np.zeros(len(units), dtype=bool)
    for row, unit in enumerate(units):
        ids = getattr(unit.targeting, key)
        named[row] = bool(ids)
        for value in ids:
            rows[value].append(row)
    return Targets(postings={k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}, any=named)


def _numbered(values: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    numbers: dict[uuid.UUID, int] = {}
    for value in values:
        numbers.setdefault(value, len(numbers))
    return numbers


def build_snapshot(
    units: Sequence[EligibleUnit], *, currency: str, generation: int = 0, built_at: float = 0.0
) -> Snapshot:
    """Return the snapshot of these units (in the order given: `eligible_units` sorts by id)."""
    campaigns = _numbered(u.campaign_id for u in units)
    advertisers = _numbered(u.advertiser_id for u in units)
    first_unit: dict[uuid.UUID, int] = {}
    for row, unit in enumerate(units):
        first_unit.setdefault(unit.campaign_id, row)
    by_campaign = [units[first_unit[c]] for c in campaigns]
    n = len(units)
    candidates = Candidates(
        unit_id=np.arange(n, dtype=np.int64),
        campaign_id=np.fromiter((campaigns[u.campaign_id] for u in units), np.int64, n),
        advertiser_id=np.fromiter((advertisers[u.advertiser_id] for u in units), np.int64, n),
        bid_type=np.fromiter((_BID_TYPES[u.bid_type] for u in units), np.int8, n),
        max_bid_micros=np.fromiter((u.max_bid_micros for u in units), np.int64, n),
        est_ctr=np.full(n, float(settings.ADS_CPC_ESTIMATED_CTR)),
        pacing=np.ones(n),
        relevance=np.zeros(n),
        reasons=np.zeros(n, dtype=np.uint8),
    )
    index = build_unit_index(
        [
            UnitText(
                unit_id=row,
                title=u.title,
                body=u.body,
                hints=u.context_hints,
                keywords=(*u.targeting.keywords, *u.targeting.topics),
            )
            for row, u in enumerate(units)
        ]
    )
    return Snapshot(
        currency=currency,
        generation=generation,
        built_at=built_at,
        units=tuple(units),
        unit_ids=tuple(u.unit_id for u in units),
        unit_rows={u.unit_id: row for row, u in enumerate(units)},
        unit_numbers={str(u.unit_id): row for row, u in enumerate(units)},
        unit_texts=tuple(str(u.unit_id) for u in units),
        campaign_ids=tuple(campaigns),
        advertiser_ids=tuple(advertisers),
        advertiser_rows=advertisers,
        candidates=candidates,
        index=index,
        category=np.fromiter((CATEGORY_CODES.get(u.category, -1) for u in units), np.int64, n),
        starts_at_s=np.fromiter((_epoch(u.starts_at) for u in units), np.float64, n),
        ends_at_s=np.fromiter((_epoch(u.ends_at) for u in units), np.float64, n),
        total_budget_micros=np.asarray([c.total_budget_micros for c in by_campaign], np.int64),
        daily_limit_micros=np.asarray(
            [daily_limit(c.total_budget_micros, c.daily_budget_micros) for c in by_campaign],
            np.int64,
        ),
        has_daily_budget=np.asarray([c.daily_budget_micros is not None for c in by_campaign], bool),
        paced_evenly=np.asarray([c.pacing == Pacing.EVEN for c in by_campaign], bool),
        campaign_starts_s=np.asarray([_epoch(c.starts_at) for c in by_campaign], np.float64),
        campaign_ends_s=np.asarray([_epoch(c.ends_at) for c in by_campaign], np.float64),
        targets={key: _targets(units, key) for key in TARGET_KEYS},
    )


def current_snapshot(
    *, currency: str, now_s: float | None = None, generation_now: int | None = None
) -> Snapshot:
    """Return this process's snapshot of the units that may serve in `currency` (see the
    module's docstring): one query and a build when the generation or time bucket is new.
    `generation_now`: the ads generation, when the caller has just read it."""
    now_s = time.time() if now_s is None else now_s
    max_age_s = max(1, int(settings.ADS_SNAPSHOT_MAX_AGE_S))
    bucket = int(now_s // max_age_s)
    current = generation() if generation_now is None else generation_now

    def build() -> Snapshot:
        now = datetime.fromtimestamp(now_s, UTC)
        until = datetime.fromtimestamp((bucket + 1) * max_age_s, UTC)
        units = eligible_units(now=now, until=until, currency=currency)
        previous = _snapshots.get((current, currency, bucket - 1))
        if previous is not None and previous.units == tuple(units):
            return previous  # nothing changed: keep its index rather than build it again
        return build_snapshot(units, currency=currency, generation=current, built_at=now_s)

    return _snapshots.get_or_compute((current, currency, bucket), build)
