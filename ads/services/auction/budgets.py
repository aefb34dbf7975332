"""Campaign budgets: reserve before serving, then settle (spend) or release, never overspend.

A reservation ("hold") takes micros from what is left of both the campaign's total and its
daily budget in one atomic step; settling a hold turns what was charged into spend and gives
the rest back; releasing gives it all back. Two stores keep that promise:

- `RedisBudgetStore`: Lua scripts (budget_scripts.py) in Redis, atomic across every process
  and machine that shares the Redis. What a deployment with REDIS_URL uses.
- `LocalBudgetStore`: a dict under a `threading.Lock`, atomic within one process only. For the
  embedded default (one process, no Redis) and tests; it does not guard several processes.

Redis holds hot counters, not the record: `reconcile` sets each campaign's limits and spend
from the ledger (the spend of record), and `release_expired` frees holds whose process died
before it settled them. Days are UTC dates from the store's clock.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, cast

from django.conf import settings
from redis import Redis

from ads.services.auction import budget_scripts

CampaignKey = int | str
Clock = Callable[[], float]  # seconds since the epoch
DAY_TTL_S = 3 * 24 * 3600  # day counters and holds outlive the day that a late settle may name


class BudgetNotLoaded(LookupError):
    """The store has no limits for this campaign: load them with `set_limits` or `reconcile`."""


class BudgetError(ValueError):
    """A settle above the hold, or an amount that is not a positive number of micros."""


@dataclass(frozen=True)
class Reservation:
    """Micros held against a campaign's budgets on one UTC day, under one hold id."""

    campaign_id: CampaignKey
    hold_id: str
    amount_micros: int
    day: date


@dataclass(frozen=True)
class Remaining:
    total_micros: int  # what the total budget still allows (after spend and holds)
    day_micros: int  # what today's budget still allows
    spent_micros: int
    spent_today_micros: int
    reserved_micros: int

    @property
    def micros(self) -> int:
        return max(0, min(self.total_micros, self.day_micros))


@dataclass(frozen=True)
class LedgerSpend:
    """A campaign's limits and its spend of record, for `reconcile` (from the ledger)."""

    campaign_id: CampaignKey
    total_budget_micros: int
    daily_budget_micros: int
    spent_micros: int
    spent_today_micros: int


@dataclass(frozen=True)
class Reconciled:
    campaign_id: CampaignKey
    spent_before_micros: int | None
    spent_after_micros: int


class BudgetStore(Protocol):
    """Where budgets are reserved; every method is atomic for the processes it serves."""

    def set_limits(self, campaign_id: CampaignKey, *, total_micros: int, daily_micros: int) -> None:
        """Load or change a campaign's total and daily budget."""

    def reserve(
        self,
        campaign_id: CampaignKey,
        amount_micros: int,
        *,
        least_micros: int | None = None,
        hold_id: str | None = None,
    ) -> Reservation | None:
        """Hold up to `amount_micros` (at least `least_micros`, default all); None if not left."""

    def settle(self, reservation: Reservation, *, spent_micros: int) -> int:
        """Spend `spent_micros` of a hold and release the rest; return the micros released."""

    def release(self, reservation: Reservation) -> int:
        """Give a whole hold back; return the micros released (0 if already settled)."""

    def release_expired(self, campaign_id: CampaignKey, *, older_than_s: float) -> int:
        """Release this campaign's holds of today and yesterday older than this; return micros."""

    def remaining(self, campaign_id: CampaignKey) -> Remaining:
        """Return what is left today of a campaign's budgets."""

    def remaining_many(self, campaign_ids: Sequence[CampaignKey]) -> list[Remaining | None]:
        """Return `remaining` of each campaign in one round trip (None: no limits loaded)."""

    def reconcile(self, spends: Iterable[LedgerSpend]) -> list[Reconciled]:
        """Set each campaign's limits and spend (total and today) to the ledger's."""


def _positive(amount: int, name: str) -> int:
    if isinstance(amount, bool) or int(amount) != amount or amount <= 0:
        raise BudgetError(f"{name} is a positive whole number of micros")
    return int(amount)


def utc_day(clock: Clock) -> date:
    return datetime.fromtimestamp(clock(), UTC).date()


class RedisBudgetStore:
    """Budgets in Redis: one Lua script per operation, so every step is atomic."""

    def __init__(
        self, client: Redis, *, prefix: str = "ads:budget", clock: Clock = time.time
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._reserve = client.register_script(budget_scripts.RESERVE)
        self._settle = client.register_script(budget_scripts.SETTLE)
        self._expire = client.register_script(budget_scripts.EXPIRE_HOLDS)
        self._reconcile = client.register_script(budget_scripts.RECONCILE)
        self._set_limits = client.register_script(budget_scripts.SET_LIMITS)

    def _keys(self, campaign_id: CampaignKey, day: date) -> list[str]:
        base = f"{self._prefix}:{{{campaign_id}}}"
        return [base, f"{base}:day:{day.isoformat()}", f"{base}:holds:{day.isoformat()}"]

    def set_limits(self, campaign_id: CampaignKey, *, total_micros: int, daily_micros: int) -> None:
        key = self._keys(campaign_id, utc_day(self._clock))[0]
        self._set_limits(keys=[key], args=[int(total_micros), int(daily_micros)])

    def reserve(
        self,
        campaign_id: CampaignKey,
        amount_micros: int,
        *,
        least_micros: int | None = None,
        hold_id: str | None = None,
    ) -> Reservation | None:
        amount = _positive(amount_micros, "amount_micros")
        least = amount if least_micros is None else _positive(least_micros, "least_micros")
        now = self._clock()
        day = utc_day(lambda: now)
        hold = hold_id or uuid.uuid4().hex
        granted = int(
            cast(
                int,
                self._reserve(
                    keys=self._keys(campaign_id, day),
                    args=[amount, min(least, amount), hold, int(now * 1000), DAY_TTL_S],
                ),
            )
        )
        if granted == -1:
            raise BudgetNotLoaded(f"no budget loaded for campaign {campaign_id}")
        if granted <= 0:
            return None
        return Reservation(campaign_id=campaign_id, hold_id=hold, amount_micros=granted, day=day)

    def settle(self, reservation: Reservation, *, spent_micros: int) -> int:
        if int(spent_micros) != spent_micros or spent_micros < 0:
            raise BudgetError("spent_micros is a whole number of micros >= 0")
        back = int(
            cast(
                int,
                self._settle(
                    keys=self._keys(reservation.campaign_id, reservation.day),
                    args=[reservation.hold_id, int(spent_micros)],
                ),
            )
        )
        if back == -2:
            raise BudgetError(
                f"cannot spend {spent_micros} micros of a {reservation.amount_micros} micros hold"
            )
        return max(back, 0)

    def release(self, reservation: Reservation) -> int:
        return self.settle(reservation, spent_micros=0)

    def release_expired(self, campaign_id: CampaignKey, *, older_than_s: float) -> int:
        now = self._clock()
        cutoff_ms = int((now - older_than_s) * 1000)
        today = utc_day(lambda: now)
        released = 0
        for day in (today - timedelta(days=1), today):
            keys = self._keys(campaign_id, day)
            released += int(cast(int, self._expire(keys=keys, args=[cutoff_ms])))
        return released

    def remaining(self, campaign_id: CampaignKey) -> Remaining:
        keys = self._keys(campaign_id, utc_day(self._clock))
        pipe = self._client.pipeline(transaction=True)
        pipe.hmget(keys[0], ["total", "daily", "spent", "reserved"])
        pipe.hmget(keys[1], ["spent", "reserved"])
        limits, day = pipe.execute()
        if limits[0] is None or limits[1] is None:
            raise BudgetNotLoaded(f"no budget loaded for campaign {campaign_id}")
        total, daily, spent, reserved = (int(v or 0) for v in limits)
        spent_today, reserved_today = (int(v or 0) for v in day)
        return Remaining(
            total_micros=total - spent - reserved,
            day_micros=daily - spent_today - reserved_today,
            spent_micros=spent,
            spent_today_micros=spent_today,
            reserved_micros=reserved,
        )

    def remaining_many(self, campaign_ids: Sequence[CampaignKey]) -> list[Remaining | None]:
        today = utc_day(self._clock)
        pipe = self._client.pipeline(transaction=False)
        for campaign_id in campaign_ids:
            keys = self._keys(campaign_id, today)
            pipe.hmget(keys[0], ["total", "daily", "spent", "reserved"])
            pipe.hmget(keys[1], ["spent", "reserved"])
        replies = pipe.execute()
        found: list[Remaining | None] = []
        for limits, day in zip(replies[::2], replies[1::2], strict=True):
            if limits[0] is None or limits[1] is None:
                found.append(None)
                continue
            total, daily, spent, reserved = (int(v or 0) for v in limits)
            spent_today, reserved_today = (int(v or 0) for v in day)
            found.append(
                Remaining(
                    total_micros=total - spent - reserved,
                    day_micros=daily - spent_today - reserved_today,
                    spent_micros=spent,
                    spent_today_micros=spent_today,
                    reserved_micros=reserved,
                )
            )
        return found

    def reconcile(self, spends: Iterable[LedgerSpend]) -> list[Reconciled]:
        today = utc_day(self._clock)
        changes = []
        for s in spends:
            keys = self._keys(s.campaign_id, today)
            before = self._reconcile(
                keys=[*keys, self._keys(s.campaign_id, today - timedelta(days=1))[2]],
                args=[
                    int(s.total_budget_micros),
                    int(s.daily_budget_micros),
                    int(s.spent_micros),
                    int(s.spent_today_micros),
                    DAY_TTL_S,
                ],
            )
            previous = cast(list[bytes | None], before)
            spent_before = None if len(previous) < 3 or previous[2] is None else int(previous[2])
            changes.append(
                Reconciled(
                    campaign_id=s.campaign_id,
                    spent_before_micros=spent_before,
                    spent_after_micros=int(s.spent_micros),
                )
            )
        return changes


@dataclass
class _Budget:
    total: int = 0
    daily: int = 0
    spent: int = 0
    spent_by_day: dict[date, int] | None = None
    # hold id -> (micros, day, reserved at in seconds)
    holds: dict[str, tuple[int, date, float]] | None = None

    def __post_init__(self) -> None:
        self.spent_by_day = self.spent_by_day or {}
        self.holds = self.holds or {}


class LocalBudgetStore:
    """Budgets in this process's memory under one lock: for one process only (no Redis)."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, _Budget] = {}

    def _budget(self, campaign_id: CampaignKey) -> _Budget:
        budget = self._budgets.get(str(campaign_id))
        if budget is None:
            raise BudgetNotLoaded(f"no budget loaded for campaign {campaign_id}")
        return budget

    def set_limits(self, campaign_id: CampaignKey, *, total_micros: int, daily_micros: int) -> None:
        with self._lock:
            budget = self._budgets.setdefault(str(campaign_id), _Budget())
            budget.total, budget.daily = int(total_micros), int(daily_micros)

    def _left(self, budget: _Budget, day: date) -> tuple[int, int, int, int]:
        assert budget.holds is not None and budget.spent_by_day is not None
        reserved = sum(amount for amount, _, _ in budget.holds.values())
        reserved_today = sum(amount for amount, d, _ in budget.holds.values() if d == day)
        spent_today = budget.spent_by_day.get(day, 0)
        return (
            budget.total - budget.spent - reserved,
            budget.daily - spent_today - reserved_today,
            spent_today,
            reserved,
        )

    def reserve(
        self,
        campaign_id: CampaignKey,
        amount_micros: int,
        *,
        least_micros: int | None = None,
        hold_id: str | None = None,
    ) -> Reservation | None:
        amount = _positive(amount_micros, "amount_micros")
        least = amount if least_micros is None else min(_positive(least_micros, "least"), amount)
        hold = hold_id or uuid.uuid4().hex
        with self._lock:
            now = self._clock()
            day = utc_day(lambda: now)
            budget = self._budget(campaign_id)
            assert budget.holds is not None
            if hold in budget.holds:
                held, held_day, _ = budget.holds[hold]
                return Reservation(campaign_id, hold, held, held_day)
            left_total, left_day, _, _ = self._left(budget, day)
            granted = min(amount, left_total, left_day)
            if granted <= 0 or granted < least:
                return None
            budget.holds[hold] = (granted, day, now)
        return Reservation(campaign_id=campaign_id, hold_id=hold, amount_micros=granted, day=day)

    def settle(self, reservation: Reservation, *, spent_micros: int) -> int:
        if int(spent_micros) != spent_micros or spent_micros < 0:
            raise BudgetError("spent_micros is a whole number of micros >= 0")
        with self._lock:
            budget = self._budget(reservation.campaign_id)
            assert budget.holds is not None and budget.spent_by_day is not None
            held = budget.holds.get(reservation.hold_id)
            if held is None:
                return 0
            amount, day, _ = held
            if spent_micros > amount:
                raise BudgetError(f"cannot spend {spent_micros} micros of a {amount} micros hold")
            del budget.holds[reservation.hold_id]
            budget.spent += int(spent_micros)
            budget.spent_by_day[day] = budget.spent_by_day.get(day, 0) + int(spent_micros)
            return amount - int(spent_micros)

    def release(self, reservation: Reservation) -> int:
        return self.settle(reservation, spent_micros=0)

    def release_expired(self, campaign_id: CampaignKey, *, older_than_s: float) -> int:
        with self._lock:
            now = self._clock()
            budget = self._budget(campaign_id)
            assert budget.holds is not None
            stale = [h for h, (_, _, at) in budget.holds.items() if at < now - older_than_s]
            return sum(budget.holds.pop(h)[0] for h in stale)

    def remaining(self, campaign_id: CampaignKey) -> Remaining:
        with self._lock:
            budget = self._budget(campaign_id)
            left_total, left_day, spent_today, reserved = self._left(budget, utc_day(self._clock))
            return Remaining(
                total_micros=left_total,
                day_micros=left_day,
                spent_micros=budget.spent,
                spent_today_micros=spent_today,
                reserved_micros=reserved,
            )

    def remaining_many(self, campaign_ids: Sequence[CampaignKey]) -> list[Remaining | None]:
        found: list[Remaining | None] = []
        with self._lock:
            today = utc_day(self._clock)
            for campaign_id in campaign_ids:
                budget = self._budgets.get(str(campaign_id))
                if budget is None:
                    found.append(None)
                    continue
                left_total, left_day, spent_today, reserved = self._left(budget, today)
                found.append(
                    Remaining(
                        total_micros=left_total,
                        day_micros=left_day,
                        spent_micros=budget.spent,
                        spent_today_micros=spent_today,
                        reserved_micros=reserved,
                    )
                )
        return found

    def reconcile(self, spends: Iterable[LedgerSpend]) -> list[Reconciled]:
        changes = []
        with self._lock:
            today = utc_day(self._clock)
            for s in spends:
                budget = self._budgets.get(str(s.campaign_id))
                before = None if budget is None else budget.spent
                budget = self._budgets.setdefault(str(s.campaign_id), _Budget())
                assert budget.spent_by_day is not None
                budget.total, budget.daily = s.total_budget_micros, s.daily_budget_micros
                budget.spent = s.spent_micros
                budget.spent_by_day = {today: s.spent_today_micros}
                changes.append(Reconciled(s.campaign_id, before, s.spent_micros))
        return changes


@functools.cache
def _store(redis_url: str) -> BudgetStore:
    if redis_url:
        return RedisBudgetStore(Redis.from_url(redis_url))
    return LocalBudgetStore()


def budget_store() -> BudgetStore:
    """Return this process's store: Redis when REDIS_URL is set, else the in-process one."""
    return _store(str(getattr(settings, "REDIS_URL", "") or ""))
