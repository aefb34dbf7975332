"""Recording what an auction served with an answer: the servings, their impressions and the
auction's trace, in one database transaction, once per request id.

The answer path calls `record_serving` once the answer's metering is final (after
`licensing.settle_use` for a stream), with the auction's winners in slot order. A winner whose
unit changed since the auction read it (a new version waiting for review, paused, its campaign
no longer active) is not served: the result lists it in `skipped`, and the caller releases its
budget hold. The impressions are charged after commit (`charging.charge_ad_events`).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ads import errors
from ads.models import AdEvent, AdUnit, AdVersion, AuctionTrace, Campaign, Serving
from ads.services.charging import charge_soon, impression_charge
from ads.services.clicks import click_path
from ads.services.content import invalid
from ads.services.targeting import KEYS
from ads.services.traces import TraceCandidate, check_candidates, check_omitted, store_trace

MAX_WINNERS = 10
MAX_REASONS = 10
REASON_MAX_LENGTH = 200
ID_MAX_LENGTH = 100


@dataclass(frozen=True)
class ServedUnit:
    """One winner of an auction: its unit and version, its price per event of its bid type
    (per 1,000 served for CPM, per click for CPC), why it was chosen, and the most one of its
    events may charge (the budget held for it, when less than the price allows).
    `serving_id` is the id its serving takes (the answer path chooses it, and signs its click
    URL, before the serving is written); None: a new one."""

    unit_id: uuid.UUID
    unit_version: int
    price_micros: int
    reasons: tuple[str, ...] = ()
    max_charge_micros: int | None = None
    serving_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ServingInfo:
    """A sponsored item served with an answer: what it showed, for whom, and who paid."""

    id: uuid.UUID
    request_id: str
    auction_id: str
    slot: int
    agent_id: uuid.UUID
    unit_id: uuid.UUID
    unit_version: int
    campaign_id: uuid.UUID
    advertiser_id: uuid.UUID
    advertiser_name: str
    title: str
    body: str
    url: str
    call_to_action: str
    category: str
    bid_type: str
    price_micros: int
    currency: str
    reasons: tuple[str, ...]
    created_at: datetime
    click_path: str  # /c/<signed token>: counts a click once, then redirects to `url`


@dataclass(frozen=True)
class RecordedServing:
    servings: tuple[ServingInfo, ...]
    skipped: tuple[uuid.UUID, ...]  # units of winners that were not served
    created: bool  # False when the request id was recorded before (nothing written now)


def serving_info(serving: Serving) -> ServingInfo:
    """Describe a serving (select its ad version and advertiser with it)."""
    return _info(serving, serving.ad_version, serving.advertiser.name)


def _info(serving: Serving, shown: AdUnit | AdVersion, advertiser_name: str) -> ServingInfo:
    """Describe a serving, with the content `shown` (its ad version, or the unit it was made
    from when just written: the same words, and no query)."""
    return ServingInfo(
        id=serving.id,
        request_id=serving.request_id,
        auction_id=serving.auction_id,
        slot=serving.slot,
        agent_id=serving.agent_id,
        unit_id=serving.unit_id,
        unit_version=serving.unit_version,
        campaign_id=serving.campaign_id,
        advertiser_id=serving.advertiser_id,
        advertiser_name=advertiser_name,
        title=shown.title,
        body=shown.body,
        url=shown.url,
        call_to_action=shown.call_to_action,
        category=shown.category,
        bid_type=serving.bid_type,
        price_micros=serving.price_micros,
        currency=serving.currency,
        reasons=tuple(serving.reasons),
        created_at=serving.created_at,
        click_path=click_path(serving.id),
    )


def servings_for(*, request_id: str) -> tuple[ServingInfo, ...]:
    """Return what was served with an answer, in slot order."""
    rows = Serving.objects.filter(request_id=request_id).select_related("ad_version", "advertiser")
    return tuple(serving_info(s) for s in rows.order_by("slot"))


def _text_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > ID_MAX_LENGTH:
        raise invalid(field, f"{field} is 1 to {ID_MAX_LENGTH} characters.")
    return value


def _positive(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid(field, f"{field} is a whole number above zero.")
    return value


def _check_winners(winners: Sequence[ServedUnit]) -> None:
    if len(winners) > MAX_WINNERS:
        raise invalid("winners", f"At most {MAX_WINNERS} winners.")
    if len({w.unit_id for w in winners}) != len(winners):
        raise invalid("winners", "A unit is served at most once with an answer.")
    for winner in winners:
        _positive(winner.unit_version, "unit_version")
        _positive(winner.price_micros, "price_micros")
        if winner.max_charge_micros is not None:
            _positive(winner.max_charge_micros, "max_charge_micros")
        if len(winner.reasons) > MAX_REASONS or not all(
            isinstance(r, str) and 0 < len(r) <= REASON_MAX_LENGTH for r in winner.reasons
        ):
            raise invalid(
                "reasons", f"At most {MAX_REASONS} reasons of 1 to {REASON_MAX_LENGTH} characters."
            )


def _servable(winners: Sequence[ServedUnit], now: datetime) -> dict[uuid.UUID, AdUnit]:
    """Return the winners' units that may still serve the version the auction chose."""
    units = AdUnit.objects.filter(id__in=[w.unit_id for w in winners]).select_related(
        "campaign__advertiser"
    )
    chosen = {w.unit_id: w.unit_version for w in winners}
    return {
        unit.id: unit
        for unit in units
        if unit.version == chosen[unit.id]
        and unit.review_state == AdUnit.ReviewState.APPROVED
        and unit.status == AdUnit.Status.ACTIVE
        and unit.campaign.status == Campaign.Status.ACTIVE
        and unit.campaign.starts_at <= now
        and (unit.campaign.ends_at is None or unit.campaign.ends_at > now)
    }


def _ad_versions(units: Sequence[AdUnit], now: datetime) -> dict[uuid.UUID, int]:
    """Return {unit id: id of its served version's copy}, writing the copies served first now."""
    AdVersion.objects.bulk_create(
        [
            AdVersion(
                unit_id=unit.id,
                version=unit.version,
                campaign_id=unit.campaign_id,
                advertiser_id=unit.campaign.advertiser_id,
                title=unit.title,
                body=unit.body,
                url=unit.url,
                call_to_action=unit.call_to_action,
                category=unit.category,
                bid_type=unit.bid_type,
                targeting={key: list(getattr(unit, key)) for key in KEYS},
                first_served_at=now,
            )
            for unit in units
        ],
        ignore_conflicts=True,  # served before (or meanwhile by another process)
    )
    wanted = {(u.id, u.version) for u in units}
    return {
        unit_id: version_id
        for version_id, unit_id, version in AdVersion.objects.filter(
            unit_id__in=[u.id for u in units]
        ).values_list("id", "unit_id", "version")
        if (unit_id, version) in wanted
    }


def record_serving(
    *,
    request_id: str,
    auction_id: str,
    agent_id: uuid.UUID,
    winners: Sequence[ServedUnit],
    candidates: Sequence[TraceCandidate] = (),
    now: datetime | None = None,
    omitted: Mapping[str, int] | None = None,
) -> RecordedServing:
    """Record what an auction served with an answer: a serving and its impression per winner
    that may still serve, and the auction's trace, all or nothing, once per request id (a
    repeated call returns what the first recorded and writes nothing). `omitted` counts, by
    reason, the candidates left out of `candidates` (see `traces.store_trace`)."""
    _text_id(request_id, "request_id")
    _text_id(auction_id, "auction_id")
    _check_winners(winners)
    check_candidates(candidates)
    check_omitted(omitted)
    existing = servings_for(request_id=request_id)
    if existing or AuctionTrace.objects.filter(request_id=request_id).exists():
        return _recorded_before(existing, agent_id)
    now = now or timezone.now()
    units = _servable(winners, now)
    served = [w for w in winners if w.unit_id in units]
    skipped = tuple(w.unit_id for w in winners if w.unit_id not in units)
    try:
        with transaction.atomic():
            versions = _ad_versions([units[w.unit_id] for w in served], now)
            servings = []
            events = []
            for slot, winner in enumerate(served):
                unit = units[winner.unit_id]
                serving = Serving(
                    id=winner.serving_id or uuid.uuid4(),
                    auction_id=auction_id,
                    request_id=request_id,
                    slot=slot,
                    agent_id=agent_id,
                    unit_id=unit.id,
                    unit_version=unit.version,
                    ad_version_id=versions[unit.id],
                    campaign_id=unit.campaign_id,
                    advertiser_id=unit.campaign.advertiser_id,
                    bid_type=unit.bid_type,
                    price_micros=winner.price_micros,
                    max_charge_micros=winner.max_charge_micros,
                    currency=unit.campaign.currency,
                    reasons=list(winner.reasons),
                    created_at=now,
                )
                servings.append(serving)
                amount = impression_charge(serving)
                events.append(
                    AdEvent(
                        serving=serving,
                        kind=AdEvent.Kind.IMPRESSION,
                        idempotency_key=f"impression:{serving.id}",
                        amount_micros=amount,
                        status=AdEvent.Status.PENDING if amount else AdEvent.Status.FREE,
                        created_at=now,
                    )
                )
            Serving.objects.bulk_create(servings)
            AdEvent.objects.bulk_create(events)
            store_trace(
                auction_id=auction_id,
                request_id=request_id,
                agent_id=agent_id,
                candidates=candidates,
                now=now,
                omitted=omitted,
            )
            if any(e.status == AdEvent.Status.PENDING for e in events):
                charge_soon()
    except IntegrityError:  # recorded meanwhile by another process under the same request id
        return _recorded_before(servings_for(request_id=request_id), agent_id)
    infos = tuple(
        _info(s, units[s.unit_id], units[s.unit_id].campaign.advertiser.name) for s in servings
    )
    return RecordedServing(servings=infos, skipped=skipped, created=True)


def _recorded_before(servings: tuple[ServingInfo, ...], agent_id: uuid.UUID) -> RecordedServing:
    if any(s.agent_id != agent_id for s in servings):
        raise errors.Conflict(
            "This request id was served to another agent.", code="request_id_used"
        )
    return RecordedServing(servings=servings, skipped=(), created=False)
