"""Serving a selection with its answer, and recording it.

In the answer's request (`serve_selection`), nothing is written to the database: each winner
gets its serving's id (so its click URL can be signed now) and its description for the
sponsored item. Once the answer's transaction commits, the answer's record goes to the outbox
(`outbox.push`: one Redis RPUSH), and a Celery task records it (`record_payload`):

- the servings, their impressions and the auction's trace (`serving.record_serving`, once per
  request id), and the impressions are charged (`charging`);
- a CPM serving's hold becomes its impression's charge (its price per 1,000 / 1,000, rounded
  down, within its hold) and the rest is given back; a CPC winner's hold is given back (it
  showed there was room for a click, which is taken from the budget when it comes,
  `clicks.record_click`); so is the hold of a winner that changed since the snapshot (paused,
  edited, its campaign stopped), which is neither recorded nor charged;
- each serving counts once towards the agent organization's frequency cap (when there is one).

Without a broker (`make run`, tests) the record is written at once, when the answer commits.
Writing after the answer, off its request, keeps the answer path's cost (docs/performance.md);
an impression charges nothing unless its answer is metered. Until its record is written, a
winner's hold counts against its campaign's budgets; a hold whose record never comes (the
process died) is freed by the reconcile task after BILLING_HOLD_TTL_S.

If the answer fails before its transaction commits, none of this happens and the caller gives
the holds back (`release_selection`).
"""

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ads.services.auction import Reason, Reservation, budget_store
from ads.services.auction.candidates import REASON_NAMES
from ads.services.clicks import click_path
from ads.services.placement import outbox
from ads.services.placement.frequency import frequency_store
from ads.services.placement.selection import Placement, Selection
from ads.services.serving import RecordedServing, ServedUnit, ServingInfo, record_serving
from ads.services.traces import TraceCandidate

logger = logging.getLogger("provenant.ads")


def trace_of(selection: Selection) -> tuple[list[list[Any]], dict[str, int]]:
    """Return the auction's most telling candidates (winners, then by score; at most
    ADS_TRACE_MAX_CANDIDATES) as rows `[unit id, reason, score, price or None]`, and the others
    counted by reason, without a loop over every candidate."""
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
    ids = snapshot.unit_texts
    rows = [
        [ids[row], REASON_NAMES[code], score, prices.get(row)]
        for row, code, score in zip(
            kept.tolist(), reasons[kept].tolist(), result.scores[kept].tolist(), strict=True
        )
    ]
    return rows, omitted


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
        "candidates": candidates,
        "omitted": omitted,
        # Each winner's hold: spent or given back once the serving is recorded.
        "holds": [
            [
                str(p.reservation.campaign_id),
                p.reservation.hold_id,
                p.reservation.amount_micros,
                p.reservation.day.isoformat(),
                impression_micros(p),
            ]
            for p in selection.placements
        ],
    }


def record_payload(payload: dict[str, Any]) -> RecordedServing:
    """Record what `serve_selection` served (the outbox's tasks; once per request id), then
    spend the holds of the servings written (a CPM impression's charge) and give back the
    others (CPC winners: their clicks are held when they come; winners not recorded), and
    count the servings towards the frequency cap."""
    recorded = record_serving(
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
    served = {str(s.id) for s in recorded.servings}
    store = budget_store()
    for winner, (campaign_id, hold_id, held, day, charge) in zip(
        payload["winners"], payload.get("holds", ()), strict=False
    ):
        hold = Reservation(campaign_id, hold_id, held, date.fromisoformat(day))
        try:
            store.settle(hold, spent_micros=charge if winner["serving_id"] in served else 0)
        except Exception:
            logger.exception("Could not settle the hold %s", hold_id)
    if recorded.created and recorded.servings and int(settings.ADS_FREQUENCY_CAP) > 0:
        try:
            day = datetime.fromisoformat(payload["served_at"]).astimezone(UTC).date()
            units = (str(s.unit_id) for s in recorded.servings)
            frequency_store().add(payload["agent_id"], units, day)
        except Exception:
            logger.exception("Could not count the servings of %s", payload["request_id"])
    return recorded


def _served(selection: Selection, payload: dict[str, Any]) -> None:
    try:
        outbox.push(payload)
    except Exception:  # the holds expire and are freed by the reconcile task
        logger.exception("Could not queue the recording of %s", selection.auction_id)
