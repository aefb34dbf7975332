"""A process's view of what its snapshot's campaigns have left and have used, for the
eligibility masks ("budget left", pacing): one read of the budget store for every campaign
(`remaining_many`), kept for ADS_BUDGET_VIEW_MAX_AGE_S.

The view only steers which units take part; the hold taken before a unit is served
(`run_and_reserve`) is what keeps a campaign within its budgets, whatever the view's age.
A campaign whose limits the store does not hold (a new process with the in-process store, a
Redis that lost its data) has them loaded from the spend of record first.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ads.services.auction import BudgetStore, Remaining
from ads.services.auction.candidates import IntArray
from ads.services.placement.snapshot import Snapshot
from core.cache import LocalCache

# Loads the limits and spend of record of these campaigns (by number) into the store.
LoadLimits = Callable[[Snapshot, Sequence[int]], None]

_views: "LocalCache[tuple[object, ...], BudgetView]" = LocalCache(
    "ads.budget_views", maxsize=8, ttl_s=60
)


@dataclass(frozen=True, eq=False)
class BudgetView:
    """Per campaign of a snapshot (by number), in micros."""

    left_micros: IntArray  # what may still be held now: min(total left, today's left)
    used_today_micros: IntArray  # spent and held today (of its daily limit)
    used_micros: IntArray  # spent and held in all (of its total budget)


def _view(snapshot: Snapshot, found: Sequence[Remaining | None]) -> BudgetView:
    n = len(snapshot.campaign_ids)
    left = np.zeros(n, dtype=np.int64)
    day_left = np.zeros(n, dtype=np.int64)
    total_left = np.zeros(n, dtype=np.int64)
    for row, remaining in enumerate(found):
        if remaining is not None:
            left[row] = remaining.micros
            day_left[row] = remaining.day_micros
            total_left[row] = remaining.total_micros
    return BudgetView(
        left_micros=left,
        used_today_micros=snapshot.daily_limit_micros - day_left,
        used_micros=snapshot.total_budget_micros - total_left,
    )


def read_view(snapshot: Snapshot, *, store: BudgetStore, load_limits: LoadLimits) -> BudgetView:
    """Read every campaign's budgets now, loading the limits the store lacks first."""
    keys = [str(c) for c in snapshot.campaign_ids]
    found = store.remaining_many(keys)
    missing = [row for row, remaining in enumerate(found) if remaining is None]
    if missing:
        load_limits(snapshot, missing)
        again = store.remaining_many([keys[row] for row in missing])
        found = list(found)
        for row, remaining in zip(missing, again, strict=True):
            found[row] = remaining  # still None: treated as nothing left
    return _view(snapshot, found)


def budget_view(
    snapshot: Snapshot,
    *,
    store: BudgetStore,
    load_limits: LoadLimits,
    now_s: float | None = None,
) -> BudgetView:
    """Return the view of this snapshot's budgets, read again once ADS_BUDGET_VIEW_MAX_AGE_S
    has passed (0: every auction)."""
    max_age_s = float(settings.ADS_BUDGET_VIEW_MAX_AGE_S)
    if max_age_s <= 0:
        return read_view(snapshot, store=store, load_limits=load_limits)
    now_s = time.time() if now_s is None else now_s
    key = (id(snapshot), snapshot.generation, snapshot.built_at, int(now_s // max_age_s))
    return _views.get_or_compute(
        key, lambda: read_view(snapshot, store=store, load_limits=load_limits)
    )


def forget_views() -> None:
    """Drop this process's views (after a hold was refused: the view was stale)."""
    _views.clear()
