"""Advertisers' reports: impressions, clicks, click-through rate, spend and average prices, by
day (UTC), campaign or unit, over a range of days. One aggregate query.

- `impressions`, `clicks`: events counted, whether or not they could be charged (an impression
  the advertiser's funds could not pay was still shown); void ones (an answer never delivered)
  are not counted.
- `spend_micros`: what was charged (events whose charge was posted to the ledger).
- `ctr_ppm`: clicks per million impressions, half up (0 with no impressions).
- `avg_cpm_micros`: what CPM impressions were charged per 1,000 of them; `avg_cpc_micros`: what
  CPC clicks were charged per click; half up, null when there were none.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.services import Actor
from ads.models import AdEvent, AdUnit
from ads.services.acting import advertiser_id_for
from ads.services.content import invalid

GROUPS = ("day", "campaign", "unit")
DEFAULT_DAYS = 30
MAX_DAYS = 366
PPM = 1_000_000

_IMPRESSION = Q(kind=AdEvent.Kind.IMPRESSION)
_CLICK = Q(kind=AdEvent.Kind.CLICK)
_CHARGED = Q(status=AdEvent.Status.CHARGED)
_CPM = Q(serving__bid_type=AdUnit.BidType.CPM)
_CPC = Q(serving__bid_type=AdUnit.BidType.CPC)
_GROUP_FIELDS = {
    "day": ("day", None),
    "campaign": ("serving__campaign_id", "serving__campaign__name"),
    "unit": ("serving__unit_id", "serving__unit__title"),
}


@dataclass(frozen=True)
class ReportRow:
    key: str  # the day (YYYY-MM-DD), or the campaign's or unit's id; "total" for the totals
    name: str  # the campaign's name or the unit's title ("" by day)
    impressions: int
    clicks: int
    ctr_ppm: int
    spend_micros: int
    avg_cpm_micros: int | None
    avg_cpc_micros: int | None
    cpm_impressions: int
    cpm_spend_micros: int
    cpc_clicks: int
    cpc_spend_micros: int


@dataclass(frozen=True)
class AdReport:
    advertiser_id: uuid.UUID
    group: str
    date_from: date
    date_to: date  # inclusive
    rows: tuple[ReportRow, ...]
    totals: ReportRow


def _ratio(numerator: int, denominator: int, scale: int) -> int:
    return (numerator * scale * 2 + denominator) // (denominator * 2)


def _row(key: str, name: str, counts: dict[str, Any]) -> ReportRow:
    impressions, clicks = counts["impressions"], counts["clicks"]
    cpm_impressions, cpm_spend = counts["cpm_impressions"], counts["cpm_spend"]
    cpc_clicks, cpc_spend = counts["cpc_clicks"], counts["cpc_spend"]
    return ReportRow(
        key=key,
        name=name,
        impressions=impressions,
        clicks=clicks,
        ctr_ppm=_ratio(clicks, impressions, PPM) if impressions else 0,
        spend_micros=counts["spend"],
        avg_cpm_micros=_ratio(cpm_spend, cpm_impressions, 1000) if cpm_impressions else None,
        avg_cpc_micros=_ratio(cpc_spend, cpc_clicks, 1) if cpc_clicks else None,
        cpm_impressions=cpm_impressions,
        cpm_spend_micros=cpm_spend,
        cpc_clicks=cpc_clicks,
        cpc_spend_micros=cpc_spend,
    )


_COUNTS = (
    "impressions",
    "clicks",
    "spend",
    "cpm_impressions",
    "cpm_spend",
    "cpc_clicks",
    "cpc_spend",
)


def _days(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = timezone.now().astimezone(UTC).date()
    span = timedelta(days=DEFAULT_DAYS - 1)
    try:
        date_to = date_to or (today if date_from is None else date_from + span)
        date_from = date_from or date_to - span
        date_to + timedelta(days=1)  # the end of the range, as a time, must exist
    except OverflowError as exc:
        raise invalid("to", "The range reaches past the calendar's ends.") from exc
    if date_from > date_to:
        raise invalid("from", "from is on or before to.")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise invalid("to", f"A report covers at most {MAX_DAYS} days.")
    return date_from, date_to


def ad_report(
    *,
    actor: Actor,
    group: str = "day",
    date_from: date | None = None,
    date_to: date | None = None,
    organization_id: uuid.UUID | str | None = None,
) -> AdReport:
    """Return the advertiser's report over [date_from, date_to] (UTC days; by default the last
    30 days), one row per day, campaign or unit with events, and the totals."""
    advertiser_id = advertiser_id_for(actor, organization_id)
    if group not in GROUPS:
        raise invalid("group", f"group is one of {', '.join(GROUPS)}.")
    date_from, date_to = _days(date_from, date_to)
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    key_field, name_field = _GROUP_FIELDS[group]
    events = AdEvent.objects.filter(
        serving__advertiser_id=advertiser_id, created_at__gte=start, created_at__lt=end
    ).exclude(status=AdEvent.Status.VOID)
    if group == "day":
        events = events.annotate(day=TruncDate("created_at", tzinfo=UTC))
    fields = [key_field] if name_field is None else [key_field, name_field]
    rows = list(
        events.values(*fields)
        .annotate(
            impressions=Count("id", filter=_IMPRESSION),
            clicks=Count("id", filter=_CLICK),
            spend=Sum("amount_micros", filter=_CHARGED, default=0),
            cpm_impressions=Count("id", filter=_IMPRESSION & _CPM),
            cpm_spend=Sum("amount_micros", filter=_IMPRESSION & _CPM & _CHARGED, default=0),
            cpc_clicks=Count("id", filter=_CLICK & _CPC),
            cpc_spend=Sum("amount_micros", filter=_CLICK & _CPC & _CHARGED, default=0),
        )
        .order_by(key_field)
    )
    result = tuple(
        _row(str(row[key_field]), "" if name_field is None else row[name_field], row)
        for row in rows
    )
    totals = _row("total", "", {name: sum(row[name] for row in rows) for name in _COUNTS})
    return AdReport(
        advertiser_id=advertiser_id,
        group=group,
        date_from=date_from,
        date_to=date_to,
        rows=result,
        totals=totals,
    )
