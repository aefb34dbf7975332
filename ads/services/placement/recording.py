"""Serving a selection with its answer, and recording it.

In the answer's request (`serve_selection`), nothing is written to the database: each winner
gets its serving's id (so its click URL can be signed now) and its description for the
sponsored item. Once the answer's transaction commits:

- a CPM winner's hold becomes its impression's charge (its price per 1,000 / 1,000, rounded
  down, within its hold) and the rest is given back; a CPC winner's hold is given back (it
  showed there was room for a click, which is taken from the budget when it comes,
  `clicks.record_click`);
- each served unit counts once more towards the agent organization's frequency cap (when
  there is one);
- the answer's record goes to the outbox (`outbox.push`): a Celery task writes the servings,
  their impressions and the auction's trace (`serving.record_serving`, once per request id)
  and the impressions are charged. Without a broker (`make run`) it is written at once.

Writing after the answer, off its request, keeps the answer path's cost (see
docs/performance.md); an impression charges nothing unless its answer is metered, so a
serving recorded for an answer that then failed costs nothing. A winner that changed since the
snapshot (paused, edited, its campaign stopped) is not recorded: its impression is not charged,
and the reconcile task sets the budget store back to the record.

If the answer fails before its transaction commits, none of this happens and the caller gives
the holds back (`release_selection`).
"""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ads.services.auction import Reason, budget_store
from ads.services.auction.candidates import REASON_NAMES
from ads.services.clicks import click_path
from ads.services.placement import outbox
from ads.services.placement.frequency import frequency_store
from ads.services.placement.selection import Placement, Selection
from ads.services.serving import RecordedServing, ServedUnit, ServingInfo, record_serving
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


def impression_micros(placement: Placement) -> int:
    """What a served unit's impression charges (as `charging.impression_charge` does)."""
    if placement.unit.bid_type != "cpm":
        return 0
    charge = placement.price_micros // 1000
    cap = placement.max_charge_micros
    return min(charge, cap) if cap is not None else charge


def _serving(selection: Selection, placement: Placement, served_at: datetime) -> ServingInfo:
    unit, serving_id = placement.unit, uuid.uuid4()
    return ServingInfo(
        id=serving_id,
        request_id=selection.context.request_id,
        auction_id=selection.auction_id,
        slot=placement.slot,
        agent_id=selection.context.agent_id,
        unit_id=unit.unit_id,
        unit_version=unit.version,
        campaign_id=unit.campaign_id,
        advertiser_id=unit.advertiser_id,
        advertiser_name=unit.advertiser_name,
        title=unit.title,
        body=unit.body,
        url=unit.url,
        call_to_action=unit.call_to_action,
        category=unit.category,
        bid_type=unit.bid_type,
        price_micros=placement.price_micros,
        currency=unit.currency,
        reasons=placement.reasons,
        created_at=served_at,
        click_path=click_path(serving_id),
    )


def serve_selection(selection: Selection) -> tuple[ServingInfo, ...]:
    """Return the servings of a selection's winners and arrange, for when the answer's
    transaction commits, their holds, frequency counts and recording (see the module)."""
    if selection.result is None:
        return ()  # no auction ran: nothing to record
    served_at = timezone.now()
    servings = tuple(_serving(selection, p, served_at) for p in selection.placements)
    payload = _record_payload(selection, servings, served_at)
    transaction.on_commit(lambda: _served(selection, payload))
    return servings


def _record_payload(
    selection: Selection, servings: tuple[ServingInfo, ...], served_at: datetime
) -> dict[str, Any]:
    """Return what `record_payload` needs, as JSON (the Celery task's argument)."""
    candidates, omitted = trace_of(selection)
    return {
        "request_id": selection.context.request_id,
        "auction_id": selection.auction_id,
        "agent_id": str(selection.context.agent_id),
        "served_at": served_at.isoformat(),
        "winners": [
            {
                "serving_id": str(s.id),
                "unit_id": str(p.unit.unit_id),
                "unit_version": p.unit.version,
                "price_micros": p.price_micros,
                "reasons": list(p.reasons),
                "max_charge_micros": p.max_charge_micros,
            }
            for p, s in zip(selection.placements, servings, strict=True)
        ],
        "candidates": [[str(c.unit_id), c.reason, c.score, c.price_micros] for c in candidates],
        "omitted": omitted,
    }


def record_payload(payload: dict[str, Any]) -> RecordedServing:
    """Record what `serve_selection` served (the task `ads.record_serving`; once per request)."""
    return record_serving(
        request_id=payload["request_id"],
        auction_id=payload["auction_id"],
        agent_id=uuid.UUID(payload["agent_id"]),
        now=datetime.fromisoformat(payload["served_at"]),
        winners=[
            ServedUnit(
                unit_id=uuid.UUID(w["unit_id"]),
                unit_version=w["unit_version"],
                price_micros=w["price_micros"],
                reasons=tuple(w["reasons"]),
                max_charge_micros=w["max_charge_micros"],
                serving_id=uuid.UUID(w["serving_id"]),
            )
            for w in payload["winners"]
        ],
        candidates=[
            TraceCandidate(unit_id=uuid.UUID(unit_id), reason=reason, score=score, price_micros=p)
            for unit_id, reason, score, p in payload["candidates"]
        ],
        omitted=payload["omitted"],
    )


def _served(selection: Selection, payload: dict[str, Any]) -> None:
    store = budget_store()
    for placement in selection.placements:
        try:
            store.settle(placement.reservation, spent_micros=impression_micros(placement))
        except Exception:
            logger.exception("Could not settle the hold of %s", selection.auction_id)
    try:
        if selection.placements and int(settings.ADS_FREQUENCY_CAP) > 0:
            day = datetime.now(UTC).date()
            units = (str(p.unit.unit_id) for p in selection.placements)
            frequency_store().add(str(selection.context.agent_id), units, day)
    except Exception:
        logger.exception("Could not count the servings of %s", selection.auction_id)
    try:
        outbox.push(payload)
    except Exception:
        logger.exception("Could not queue the recording of %s", selection.auction_id)
