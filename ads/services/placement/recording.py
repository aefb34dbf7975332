"""Recording a selection with its answer: the servings, impressions and trace
(`record_serving`), then the winners' holds spent or given back.

Called inside the database transaction that meters the answer, so an answer and what was
served beside it commit together. Once that commits:

- a CPM serving's hold becomes its impression's charge (its price per 1,000 / 1,000, rounded
  down, within its hold) and the rest is given back;
- a CPC serving's hold is given back: it showed there was room for a click, which is taken
  from the budget when it comes (`clicks.record_click`);
- each served unit counts once more towards the agent organization's frequency cap.

A winner `record_serving` did not serve (its unit changed since the snapshot) has its hold
given back at once; if the transaction rolls back, the caller gives back the rest
(`release_selection`).
"""

import logging
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.db import transaction

from ads.services.auction import Reason, budget_store
from ads.services.auction.candidates import REASON_NAMES
from ads.services.placement.frequency import frequency_store
from ads.services.placement.selection import Placement, Selection, release_selection
from ads.services.serving import RecordedServing, ServedUnit, record_serving
from ads.services.traces import TraceCandidate

logger = logging.getLogger("provenant.ads")


def trace_of(selection: Selection) -> tuple[list[TraceCandidate], dict[str, int]]:
    """Return the auction's most telling candidates (winners, then by score; at most
    ADS_TRACE_MAX_CANDIDATES) and the others counted by reason, without a loop over them."""
    result, snapshot = selection.result, selection.snapshot
    if result is None or snapshot is None:
        return [], {}
    limit = int(settings.ADS_TRACE_MAX_CANDIDATES)
    reasons = result.reasons
    order_key = np.where(reasons == Reason.WON, np.inf, result.scores)
    if len(order_key) > limit:
        kept = np.argpartition(-order_key, limit - 1)[:limit]
    else:
        kept = np.arange(len(order_key))
    rest = np.ones(len(order_key), dtype=bool)
    rest[kept] = False
    counts = np.bincount(reasons[rest], minlength=len(Reason))
    omitted = {REASON_NAMES[code]: int(n) for code, n in enumerate(counts) if n}
    prices = dict(zip(result.winners.tolist(), result.price_micros.tolist(), strict=True))
    candidates = [
        TraceCandidate(
            unit_id=snapshot.unit_ids[row],
            reason=REASON_NAMES[int(reasons[row])],
            score=float(result.scores[row]),
            price_micros=prices.get(row),
        )
        for row in kept.tolist()
    ]
    return candidates, omitted


def record_selection(selection: Selection) -> RecordedServing | None:
    """Record the selection with its answer (see the module); None when no auction ran."""
    if selection.result is None:
        return None
    context = selection.context
    candidates, omitted = trace_of(selection)
    recorded = record_serving(
        request_id=context.request_id,
        auction_id=selection.auction_id,
        agent_id=context.agent_id,
        winners=[
            ServedUnit(
                unit_id=p.unit.unit_id,
                unit_version=p.unit.version,
                price_micros=p.price_micros,
                reasons=p.reasons,
                max_charge_micros=p.max_charge_micros,
            )
            for p in selection.placements
        ],
        candidates=candidates,
        omitted=omitted,
    )
    served = {s.unit_id for s in recorded.servings} if recorded.created else set()
    kept = [p for p in selection.placements if p.unit.unit_id in served]
    release_selection(
        Selection(
            selection.auction_id,
            context,
            tuple(p for p in selection.placements if p.unit.unit_id not in served),
        )
    )
    if kept:
        transaction.on_commit(lambda: _served(selection, kept))
    return recorded


def impression_micros(placement: Placement) -> int:
    """What a served unit's impression charges (as `charging.impression_charge` does)."""
    if placement.unit.bid_type != "cpm":
        return 0
    charge = placement.price_micros // 1000
    cap = placement.max_charge_micros
    return min(charge, cap) if cap is not None else charge


def _served(selection: Selection, placements: list[Placement]) -> None:
    store = budget_store()
    for placement in placements:
        try:
            store.settle(placement.reservation, spent_micros=impression_micros(placement))
        except Exception:
            logger.exception("Could not settle the hold of %s", selection.auction_id)
    try:
        day = datetime.now(UTC).date()
        frequency_store().add(
            str(selection.context.agent_id), (str(p.unit.unit_id) for p in placements), day
        )
    except Exception:
        logger.exception("Could not count the servings of %s", selection.auction_id)
