"""Eligibility of every unit of a snapshot for one auction, as numpy masks (no loop over units).

Each unit gets the first reason it fails, in this order:

1. `off_schedule`: its campaign has not started or has ended;
2. `out_of_budget`: its campaign has nothing left to hold (total or today's budget);
3. `blocked`: a grounding provider blocks its advertiser or category; its targeting asks for
   collections, providers or agent organizations this answer does not have, or avoids ones it
   has;
4. `frequency_capped`: this agent organization was shown it ADS_FREQUENCY_CAP times today;
5. `paced`: its campaign paces `even` and is ahead: with a daily budget, the share of today's
   budget used (spent and held) is above the share of the UTC day gone; without one but with
   an end, the share of the total used is above the share of the campaign's time gone.
   `asap` campaigns, and `even` ones with neither a daily budget nor an end, are never paced.

A unit's pacing multiplier is 1 when it is on pace and 0 when paced.
"""

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ads.services.auction import Reason
from ads.services.auction.candidates import CodeArray, FloatArray
from ads.services.placement.budgets import BudgetView
from ads.services.placement.snapshot import CATEGORY_CODES, Snapshot

DAY_S = 86_400.0
Mask = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class Surroundings:
    """What an auction knows about the answer a unit would appear beside."""

    agent_id: uuid.UUID
    collection_ids: frozenset[uuid.UUID] = frozenset()
    provider_ids: frozenset[uuid.UUID] = frozenset()  # of the sources that ground it
    blocked_advertisers: frozenset[uuid.UUID] = frozenset()  # by those providers
    blocked_categories: frozenset[str] = frozenset()


def targeting_blocks(snapshot: Snapshot, around: Surroundings) -> Mask:
    """Return the units whose targeting or whose providers' preferences keep them away."""
    n = len(snapshot)
    t = snapshot.targets
    agent = (around.agent_id,)

    def wanted_elsewhere(key: str, ids: Collection[uuid.UUID]) -> Mask:
        return t[key].any & ~t[key].hit(ids, n)

    blocked = (
        wanted_elsewhere("collections", around.collection_ids)
        | t["exclude_collections"].hit(around.collection_ids, n)
        | wanted_elsewhere("providers", around.provider_ids)
        | t["exclude_providers"].hit(around.provider_ids, n)
        | wanted_elsewhere("agent_orgs", agent)
        | t["exclude_agent_orgs"].hit(agent, n)
    )
    if around.blocked_advertisers:
        rows = [
            snapshot.advertiser_rows[a]
            for a in around.blocked_advertisers
            if a in snapshot.advertiser_rows
        ]
        blocked |= np.isin(snapshot.candidates.advertiser_id, rows)
    if around.blocked_categories:
        codes = [CATEGORY_CODES[c] for c in around.blocked_categories if c in CATEGORY_CODES]
        blocked |= np.isin(snapshot.category, codes)
    return blocked


def on_pace(snapshot: Snapshot, view: BudgetView, now_s: float) -> Mask:
    """Return, per campaign, whether it may serve now under its pacing."""
    day_gone = (now_s % DAY_S) / DAY_S
    day_used = view.used_today_micros / np.maximum(snapshot.daily_limit_micros, 1)
    duration = snapshot.campaign_ends_s - snapshot.campaign_starts_s
    bounded = np.isfinite(duration) & (duration > 0)
    time_gone = np.where(
        bounded, (now_s - snapshot.campaign_starts_s) / np.where(bounded, duration, 1.0), 1.0
    )
    total_used = view.used_micros / np.maximum(snapshot.total_budget_micros, 1)
    paced = np.where(
        snapshot.has_daily_budget,
        day_used <= day_gone,
        np.where(bounded, total_used <= time_gone, True),
    )
    return np.asarray(~snapshot.paced_evenly | paced, dtype=bool)


def eligibility(
    snapshot: Snapshot,
    around: Surroundings,
    view: BudgetView,
    *,
    served_today: Mapping[str, int],
    frequency_cap: int,
    now_s: float,
) -> tuple[CodeArray, FloatArray]:
    """Return every unit's eligibility code and pacing multiplier for this auction."""
    n = len(snapshot)
    campaign = snapshot.candidates.campaign_id
    reasons = np.zeros(n, dtype=np.uint8)  # Reason.ELIGIBLE

    def mark(failed: Mask, reason: Reason) -> None:
        reasons[(reasons == Reason.ELIGIBLE) & failed] = reason

    mark((snapshot.starts_at_s > now_s) | (snapshot.ends_at_s <= now_s), Reason.OFF_SCHEDULE)
    mark(view.left_micros[campaign] <= 0, Reason.OUT_OF_BUDGET)
    mark(targeting_blocks(snapshot, around), Reason.BLOCKED)
    if frequency_cap > 0 and served_today:
        shown = np.zeros(n, dtype=np.int64)
        rows = [
            (snapshot.unit_numbers[u], c)
            for u, c in served_today.items()
            if u in snapshot.unit_numbers
        ]
        if rows:
            shown[[r for r, _ in rows]] = [c for _, c in rows]
        mark(shown >= frequency_cap, Reason.FREQUENCY_CAPPED)
    pacing = on_pace(snapshot, view, now_s)[campaign].astype(np.float64)
    mark(pacing <= 0.0, Reason.PACED)
    return reasons, pacing
