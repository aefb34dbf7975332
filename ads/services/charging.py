"""Charging ad events: what each costs, and posting it to the ledger through billing.

What an event charges the advertiser:
- a CPM impression: the auction's price per 1,000 served, divided by 1,000 and rounded down
  to a whole micro (the advertiser never pays more than its price; the fraction of a micro
  below is not charged); a CPM click charges nothing;
- a CPC click: the auction's price per click; a CPC impression charges nothing;
- never more than the serving's `max_charge_micros` (the budget held for the last unit a
  campaign could pay for).

`charge_ad_events` posts the pending events, oldest first, in batches of one database
transaction each: one ledger transaction per event (`billing.post_ad_revenue`), and the
campaign's `spent_micros`, which the database keeps within its total budget. An event is
refused, and charges nothing, when its campaign's budget is spent (`over_budget`) or when its
advertiser's prepaid funds cannot pay it (`unfunded`: the campaign is then marked
`out_of_funds` and serves no more until it is resumed). An event whose answer is not metered
waits, and is void once ADS_UNMETERED_VOID_S has passed (the answer was never delivered).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ads.models import AdEvent, AdUnit, Campaign, Serving
from ads.services.changes import units_changed
from billing import services as billing

CHARGE_BATCH = 500
MAX_BATCHES = 100


@dataclass(frozen=True)
class ChargeRun:
    charged: int
    unfunded: int
    over_budget: int
    void: int
    waiting: int  # answers not metered yet: tried again on the next pass


@dataclass(frozen=True)
class CampaignSpend:
    """A campaign's budgets and what its events were charged, in all and on one UTC day."""

    campaign_id: uuid.UUID
    total_budget_micros: int
    daily_budget_micros: int | None
    spent_micros: int
    spent_on_day_micros: int


def _capped(serving: Serving, amount: int) -> int:
    if serving.max_charge_micros is not None:
        return min(amount, serving.max_charge_micros)
    return amount


def impression_charge(serving: Serving) -> int:
    """Return what an impression of this serving charges (see the module's docstring)."""
    if serving.bid_type != AdUnit.BidType.CPM:
        return 0
    return _capped(serving, serving.price_micros // 1000)


def click_charge(serving: Serving) -> int:
    """Return what a click on this serving charges (see the module's docstring)."""
    if serving.bid_type != AdUnit.BidType.CPC:
        return 0
    return _capped(serving, serving.price_micros)


def charge_soon() -> None:
    """Queue a charging pass once the current transaction commits."""
    from ads import tasks

    transaction.on_commit(lambda: tasks.charge_ad_events.delay(), robust=True)


def charge_ad_events(
    *, batch_size: int = CHARGE_BATCH, max_batches: int = MAX_BATCHES, now: datetime | None = None
) -> ChargeRun:
    """Post the pending ad events to the ledger (see the module's docstring)."""
    now = now or timezone.now()
    totals: defaultdict[str, int] = defaultdict(int)
    after = 0
    for _ in range(max_batches):
        with transaction.atomic():
            events = list(
                AdEvent.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=AdEvent.Status.PENDING, id__gt=after)
                .select_related("serving")
                .order_by("id")[:batch_size]
            )
            if not events:
                break
            after = events[-1].id
            for outcome, count in _charge_batch(events, now).items():
                totals[outcome] += count
    return ChargeRun(
        charged=totals[AdEvent.Status.CHARGED],
        unfunded=totals[AdEvent.Status.UNFUNDED],
        over_budget=totals[AdEvent.Status.OVER_BUDGET],
        void=totals[AdEvent.Status.VOID],
        waiting=totals[AdEvent.Status.PENDING],
    )


def _charge_batch(events: list[AdEvent], now: datetime) -> dict[str, int]:
    campaigns = {
        c.id: c
        for c in Campaign.objects.select_for_update()
        .filter(id__in={e.serving.campaign_id for e in events})
        .order_by("id")
    }
    spent = {c.id: c.spent_micros for c in campaigns.values()}
    to_charge: list[AdEvent] = []
    for event in events:
        campaign = campaigns[event.serving.campaign_id]
        if spent[campaign.id] + event.amount_micros > campaign.total_budget_micros:
            event.status = AdEvent.Status.OVER_BUDGET
            continue
        spent[campaign.id] += event.amount_micros
        to_charge.append(event)
    outcomes = billing.post_ad_revenue(
        [
            billing.AdCharge(
                event_key=e.idempotency_key,
                advertiser_id=e.serving.advertiser_id,
                agent_id=e.serving.agent_id,
                request_id=e.serving.request_id,
                amount_micros=e.amount_micros,
                currency=e.serving.currency,
                effective_at=e.created_at,
                memo=f"Ad {e.kind}, answer {e.serving.request_id}"[:200],
            )
            for e in to_charge
        ]
    )
    out_of_funds: set[uuid.UUID] = set()
    void_before = now - timedelta(seconds=settings.ADS_UNMETERED_VOID_S)
    for event, outcome in zip(to_charge, outcomes, strict=True):
        if outcome.status in (billing.AD_POSTED, billing.AD_ALREADY_POSTED):
            event.status = AdEvent.Status.CHARGED
            event.transaction_id = outcome.transaction_id
            event.charged_at = now
            continue
        spent[event.serving.campaign_id] -= event.amount_micros
        if outcome.status == billing.AD_UNFUNDED:
            event.status = AdEvent.Status.UNFUNDED
            out_of_funds.add(event.serving.campaign_id)
        elif event.created_at < void_before:  # no metered answer, and there will be none
            event.status = AdEvent.Status.VOID
    for campaign in campaigns.values():
        changed = []
        if spent[campaign.id] != campaign.spent_micros:
            campaign.spent_micros = spent[campaign.id]
            changed.append("spent_micros")
        if campaign.id in out_of_funds and campaign.status == Campaign.Status.ACTIVE:
            campaign.status = Campaign.Status.OUT_OF_FUNDS
            changed.append("status")
            units_changed()  # every process stops serving it at once
        if changed:
            campaign.save(update_fields=[*changed, "updated_at"])
    decided = [e for e in events if e.status != AdEvent.Status.PENDING]
    AdEvent.objects.bulk_update(decided, ["status", "transaction_id", "charged_at"])
    counts: defaultdict[str, int] = defaultdict(int)
    for event in events:
        counts[event.status] += 1
    return counts


def campaign_spend(*, campaign_ids: list[uuid.UUID], day: date) -> list[CampaignSpend]:
    """Return each campaign's budgets and its spend of record, in all and on `day` (UTC, by
    the time of the event), for the auction's budgets to reconcile to: what its events were
    charged plus what its pending events will charge (served, not yet posted)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    spending = AdEvent.objects.filter(
        serving__campaign_id__in=campaign_ids,
        status__in=(AdEvent.Status.CHARGED, AdEvent.Status.PENDING),
    )
    pending = dict(
        spending.filter(status=AdEvent.Status.PENDING)
        .values("serving__campaign_id")
        .annotate(total=Sum("amount_micros"))
        .values_list("serving__campaign_id", "total")
    )
    on_day = dict(
        spending.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
        .values("serving__campaign_id")
        .annotate(total=Sum("amount_micros"))
        .values_list("serving__campaign_id", "total")
    )
    return [
        CampaignSpend(
            campaign_id=c.id,
            total_budget_micros=c.total_budget_micros,
            daily_budget_micros=c.daily_budget_micros,
            spent_micros=c.spent_micros + int(pending.get(c.id) or 0),
            spent_on_day_micros=int(on_day.get(c.id) or 0),
        )
        for c in Campaign.objects.filter(id__in=campaign_ids).order_by("id")
    ]
