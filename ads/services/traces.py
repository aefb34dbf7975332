"""Decision traces: why each candidate of an auction won or lost.

A trace keeps the ADS_TRACE_MAX_CANDIDATES most telling candidates of an auction (winners
first, then by score) as compact rows, and counts the rest by reason. It is kept for
ADS_TRACE_RETENTION_DAYS (`purge_traces`, daily). An advertiser sees the traces its units
appear in: its own rows in full (unit, reason, score, price), every other row as its reason
only, never another advertiser's unit or bid. Operators see every trace in the admin.
"""

import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from accounts.services import Actor
from ads import errors
from ads.models import AdUnit, AuctionTrace, AuctionTraceUnit
from ads.services.acting import advertiser_id_for, visible_units
from ads.services.auction import Reason
from ads.services.content import invalid

# What a candidate got: the auction's reason codes ("eligible" is an input code only).
REASONS = tuple(reason.code for reason in Reason if reason is not Reason.ELIGIBLE)
WON = Reason.WON.code
PAGE_MAX = 200
PURGE_BATCH = 5000


@dataclass(frozen=True)
class TraceCandidate:
    """One candidate of an auction: its unit, the reason it won or lost, its score, and its
    price per event when it won."""

    unit_id: uuid.UUID
    reason: str
    score: float = 0.0
    price_micros: int | None = None


@dataclass(frozen=True)
class TraceRow:
    """One candidate as an advertiser sees it: everything for its own units, else the reason."""

    reason: str
    own: bool
    unit_id: uuid.UUID | None = None
    score: float | None = None
    price_micros: int | None = None


@dataclass(frozen=True)
class TraceInfo:
    id: int
    auction_id: str
    created_at: datetime
    candidates: tuple[TraceRow, ...]
    omitted: dict[str, int]  # candidates not kept, by reason


@dataclass(frozen=True)
class TracePage:
    results: tuple[TraceInfo, ...]
    next_before_id: int | None  # None on the last page


def check_candidates(candidates: Sequence[TraceCandidate]) -> None:
    """Refuse candidates with an unknown reason, a score that is no finite number or a price
    that is no whole number of micros (400)."""
    for candidate in candidates:
        _check(candidate)


def check_omitted(omitted: Mapping[str, int] | None) -> None:
    """Refuse counts of left-out candidates by an unknown reason, or not whole and >= 0 (400)."""
    for reason, count in (omitted or {}).items():
        if (
            reason not in REASONS
            or isinstance(count, bool)
            or not isinstance(count, int)
            or count < 0
        ):
            raise invalid("omitted", "omitted counts candidates (>= 0) by reason.")


def _check(candidate: TraceCandidate) -> None:
    if candidate.reason not in REASONS:
        raise invalid("candidates", f"A candidate's reason is one of {', '.join(REASONS)}.")
    if not isinstance(candidate.score, int | float) or not math.isfinite(candidate.score):
        raise invalid("candidates", "A candidate's score is a finite number.")
    price = candidate.price_micros
    if price is not None and (isinstance(price, bool) or not isinstance(price, int) or price < 0):
        raise invalid("candidates", "A candidate's price is a whole number of micros, or null.")


def store_trace(
    *,
    auction_id: str,
    request_id: str,
    agent_id: uuid.UUID,
    candidates: Sequence[TraceCandidate],
    now: datetime,
    omitted: Mapping[str, int] | None = None,
) -> AuctionTrace:
    """Write an auction's trace (see the module's docstring) of candidates checked by
    `check_candidates`, inside the transaction that records the auction's servings. `omitted`
    (checked by `check_omitted`) counts, by reason, candidates the caller left out already: an
    auction over many units passes only its most telling ones."""
    ordered = sorted(candidates, key=lambda c: (c.reason != WON, -c.score))
    limit = settings.ADS_TRACE_MAX_CANDIDATES
    kept, rest = ordered[:limit], ordered[limit:]
    left_out = Counter(c.reason for c in rest)
    left_out.update({reason: count for reason, count in (omitted or {}).items() if count})
    advertisers = dict(
        AdUnit.objects.filter(id__in=[c.unit_id for c in kept]).values_list(
            "id", "campaign__advertiser_id"
        )
    )
    rows: list[list[object]] = []
    units: set[tuple[str, str]] = set()
    for c in kept:
        advertiser_id = advertisers.get(c.unit_id)
        if advertiser_id is None:  # no such unit: counted, not shown
            left_out[c.reason] += 1
            continue
        rows.append([str(c.unit_id), str(advertiser_id), c.reason, float(c.score), c.price_micros])
        units.add((str(c.unit_id), str(advertiser_id)))
    trace = AuctionTrace.objects.create(
        auction_id=auction_id,
        request_id=request_id,
        agent_id=agent_id,
        candidates=rows,
        omitted=dict(sorted(left_out.items())),
        created_at=now,
    )
    AuctionTraceUnit.objects.bulk_create(
        AuctionTraceUnit(trace=trace, unit_id=unit_id, advertiser_id=advertiser_id)
        for unit_id, advertiser_id in sorted(units)
    )
    return trace


def _seen_by(trace: AuctionTrace, advertiser_id: uuid.UUID) -> TraceInfo:
    mine = str(advertiser_id)
    candidates = []
    for unit_id, owner, reason, score, price in trace.candidates:
        if owner == mine:
            candidates.append(
                TraceRow(
                    reason=reason,
                    own=True,
                    unit_id=uuid.UUID(unit_id),
                    score=score,
                    price_micros=price,
                )
            )
        else:
            candidates.append(TraceRow(reason=reason, own=False))
    return TraceInfo(
        id=trace.id,
        auction_id=trace.auction_id,
        created_at=trace.created_at,
        candidates=tuple(candidates),
        omitted=dict(trace.omitted),
    )


def list_traces(
    *,
    actor: Actor,
    unit_id: uuid.UUID | str | None = None,
    organization_id: uuid.UUID | str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> TracePage:
    """Return the traces of auctions the advertiser's units (or one of them) took part in,
    newest first, as the advertiser may see them."""
    advertiser_id = advertiser_id_for(actor, organization_id)
    limit = max(1, min(limit, PAGE_MAX))
    found = AuctionTraceUnit.objects.filter(advertiser_id=advertiser_id)
    if unit_id is not None:
        try:
            visible_units(actor).get(id=unit_id, campaign__advertiser_id=advertiser_id)
        except (AdUnit.DoesNotExist, DjangoValidationError, ValueError) as exc:
            raise errors.NotFound("Ad unit not found.") from exc
        found = found.filter(unit_id=unit_id)
    if before_id is not None:
        found = found.filter(trace_id__lt=before_id)
    ids = list(
        found.order_by("-trace_id").values_list("trace_id", flat=True).distinct()[: limit + 1]
    )
    more = len(ids) > limit
    ids = ids[:limit]
    traces = AuctionTrace.objects.filter(id__in=ids).order_by("-id")
    return TracePage(
        results=tuple(_seen_by(t, advertiser_id) for t in traces),
        next_before_id=ids[-1] if more else None,
    )


def purge_traces(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the traces older than ADS_TRACE_RETENTION_DAYS, in batches; return how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ADS_TRACE_RETENTION_DAYS)
    purged = 0
    while True:
        ids = list(
            AuctionTrace.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return purged
        AuctionTraceUnit.objects.filter(trace_id__in=ids).delete()
        AuctionTrace.objects.filter(id__in=ids).delete()
        purged += len(ids)
