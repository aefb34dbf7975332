"""The spend of record, and the budget store set to it.

Redis holds hot counters; the record is the ad events (ads.models.AdEvent): what a campaign
has spent is what its events charge, both those charged into the ledger and those still
waiting to be (`pending`: rated by `charge_ad_events` within seconds), in all and on the UTC
day of the event. Events that charged nothing (free, unfunded, over budget, void) do not count.

`reconcile_budgets` (the Celery task `ads.reconcile_budgets`, every ADS_RECONCILE_INTERVAL_S)
sets each campaign's limits and spend in the store to that, keeping its live holds, and frees
holds older than BILLING_HOLD_TTL_S (an answer takes less: such a hold's process died before
it settled it). `load_limits_of_record` does the same for the campaigns an auction finds the
store without (a new process with the in-process store, a Redis that lost its data).

A hold settled just after its serving committed, and read by a reconcile in between, counts
twice until the next reconcile: the store errs towards spending less, never more.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ads.models import Campaign
from ads.services.auction import (
    BudgetNotLoaded,
    BudgetStore,
    LedgerSpend,
    Reservation,
    budget_store,
)
from ads.services.changes import daily_limit
from ads.services.charging import campaign_spend

if TYPE_CHECKING:
    from ads.services.placement.snapshot import Snapshot

logger = logging.getLogger("provenant.ads")

SERVING = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.OUT_OF_FUNDS)


@dataclass(frozen=True)
class ReconcileRun:
    campaigns: int
    corrected: int  # campaigns whose spend in the store differed from the record
    released_micros: int  # stale holds freed


def spend_of_record(*, campaign_ids: Sequence[uuid.UUID], day: date) -> list[LedgerSpend]:
    """Return each campaign's limits and spend of record (`charging.campaign_spend`: charged
    and pending events), in all and on `day`, keyed in the store by the campaign's id."""
    return [
        LedgerSpend(
            campaign_id=str(spend.campaign_id),
            total_budget_micros=spend.total_budget_micros,
            daily_budget_micros=daily_limit(spend.total_budget_micros, spend.daily_budget_micros),
            spent_micros=spend.spent_micros,
            spent_today_micros=spend.spent_on_day_micros,
        )
        for spend in campaign_spend(campaign_ids=list(campaign_ids), day=day)
    ]


def load_limits_of_record(snapshot: "Snapshot", rows: Sequence[int]) -> None:
    """Load these campaigns (numbers of the snapshot) into the store from the record."""
    ids = [snapshot.campaign_ids[row] for row in rows]
    budget_store().reconcile(spend_of_record(campaign_ids=ids, day=_today()))


def reconcile_budgets(
    *, store: BudgetStore | None = None, now: datetime | None = None
) -> ReconcileRun:
    """Set every campaign that may still serve to its spend of record (see the module)."""
    store = store or budget_store()
    now = now or timezone.now()
    ids = list(Campaign.objects.filter(status__in=SERVING).values_list("id", flat=True))
    spends = spend_of_record(campaign_ids=ids, day=now.astimezone(UTC).date())
    changes = store.reconcile(spends)
    released = sum(
        store.release_expired(s.campaign_id, older_than_s=settings.BILLING_HOLD_TTL_S)
        for s in spends
    )
    corrected = sum(1 for c in changes if c.spent_before_micros != c.spent_after_micros)
    return ReconcileRun(campaigns=len(spends), corrected=corrected, released_micros=released)


@dataclass(frozen=True)
class EventHold:
    """What an event about to be recorded holds of its campaign's budgets (None: nothing was
    left), given back or spent once the event is written."""

    store: BudgetStore
    reservation: Reservation | None

    def settle_on_commit(self, spent_micros: int) -> None:
        reservation = self.reservation
        if reservation is not None:
            transaction.on_commit(
                lambda: _quietly(self.store.settle, reservation, spent_micros=spent_micros)
            )

    def release(self) -> None:
        if self.reservation is not None:
            _quietly(self.store.release, self.reservation)


def _quietly(call: Callable[..., int], *args: object, **kwargs: object) -> None:
    try:
        call(*args, **kwargs)
    except Exception:
        logger.exception("The budget store refused %s; the next reconcile corrects it", call)


def hold_for_event(campaign_id: uuid.UUID, amount_micros: int, *, hold_id: str) -> EventHold | None:
    """Hold an event's charge (at least one micro of it) against its campaign's budgets,
    loading the campaign from the record if the store lacks it. None when there is nothing
    to hold, or the store cannot be reached (logged: the charge is then checked against the
    total budget only, when it is posted)."""
    if amount_micros <= 0:
        return None
    store = budget_store()
    key = str(campaign_id)
    try:
        try:
            reservation = store.reserve(key, amount_micros, least_micros=1, hold_id=hold_id)
        except BudgetNotLoaded:
            store.reconcile(spend_of_record(campaign_ids=[campaign_id], day=_today()))
            reservation = store.reserve(key, amount_micros, least_micros=1, hold_id=hold_id)
    except Exception:
        logger.exception("Could not hold the budget of campaign %s", campaign_id)
        return None
    return EventHold(store=store, reservation=reservation)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()
