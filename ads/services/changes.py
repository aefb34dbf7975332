"""How a change to what may serve reaches every process at once.

Two generation counters live in the shared cache (Redis in a deployment):

- `ads:generation`: bumped by every approval, rejection, edit, pause, resume and end of a unit
  or a campaign. Each process keys its snapshot of the units that may serve by it
  (ads/services/placement/snapshot.py), so no process serves a unit after it was paused or
  edited, whatever the snapshot's age.
- `ads:preferences:generation`: bumped when a provider changes its ad preferences; the
  preferences an auction reads are keyed by it.

Each is bumped at once and again when the transaction commits, so a process that rebuilt in
between (from the old rows) rebuilds again. An auction reads both at most once a second per
process (`generations`), so a change reaches every process within a second, and the process
that made it at once. A campaign's budgets are loaded into the budget
store when one of its units is approved and whenever its budgets change, after commit (the
store is Redis, never written inside a database transaction).
"""

import logging
import uuid

from django.core.cache import cache
from django.db import transaction

from ads.services.auction import budget_store
from core.cache import LocalCache

logger = logging.getLogger("provenant.ads")

GENERATION_KEY = "ads:generation"
PREFERENCES_GENERATION_KEY = "ads:preferences:generation"
# Both generations, read from the shared cache at most once a second per process.
_generations: "LocalCache[str, tuple[int, int]]" = LocalCache("ads.generations", maxsize=1, ttl_s=1)


def _bump(key: str) -> None:
    _generations.clear()  # this process sees its own change at once
    if cache.add(key, 1, timeout=None):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired or evicted between the two calls
        cache.add(key, 1, timeout=None)


def units_changed() -> None:
    """Say that what may serve changed: every process rebuilds its snapshot (now and on
    commit)."""
    _bump(GENERATION_KEY)
    transaction.on_commit(lambda: _bump(GENERATION_KEY))


def preferences_changed() -> None:
    """Say that a provider's ad preferences changed (now and on commit)."""
    _bump(PREFERENCES_GENERATION_KEY)
    transaction.on_commit(lambda: _bump(PREFERENCES_GENERATION_KEY))


def generation() -> int:
    """Return the current generation of what may serve."""
    value: int = cache.get(GENERATION_KEY) or 0
    return value


def preferences_generation() -> int:
    value: int = cache.get(PREFERENCES_GENERATION_KEY) or 0
    return value


def generations() -> tuple[int, int]:
    """Return both generations (what may serve, providers' preferences), read from the shared
    cache in one round trip at most once a second per process: a change made in another
    process reaches this one within a second (and a winner changed meanwhile is not recorded
    nor charged: `serving.record_serving`)."""

    def read() -> tuple[int, int]:
        found = cache.get_many([GENERATION_KEY, PREFERENCES_GENERATION_KEY])
        return found.get(GENERATION_KEY) or 0, found.get(PREFERENCES_GENERATION_KEY) or 0

    return _generations.get_or_compute("both", read)


def daily_limit(total_budget_micros: int, daily_budget_micros: int | None) -> int:
    """Return what a campaign may spend in a day: its daily budget, else its total."""
    return daily_budget_micros if daily_budget_micros is not None else total_budget_micros


def load_limits(
    *, campaign_id: uuid.UUID, total_budget_micros: int, daily_budget_micros: int | None
) -> None:
    """Set a campaign's budgets in the budget store once the transaction commits.

    A failure is logged, not raised: the change is committed, and the next snapshot or the
    reconcile task loads the limits (a campaign without limits serves nothing meanwhile)."""
    daily = daily_limit(total_budget_micros, daily_budget_micros)

    def load() -> None:
        try:
            budget_store().set_limits(
                str(campaign_id), total_micros=total_budget_micros, daily_micros=daily
            )
        except Exception:
            logger.exception("Could not load the budgets of campaign %s", campaign_id)

    transaction.on_commit(load)
