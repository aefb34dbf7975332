"""Budget holds: reserve, settle, release, daily rollover, expiry, reconcile, and no overspend
under concurrency (threads for both stores; processes for Redis). Redis tests need REDIS_URL."""

import multiprocessing
import os
import threading
import uuid
from datetime import UTC, date, datetime

import pytest
from redis import Redis

from ads.services.auction import (
    BudgetError,
    BudgetNotLoaded,
    LedgerSpend,
    LocalBudgetStore,
    RedisBudgetStore,
    Reservation,
    budget_store,
)

REDIS_URL = os.environ.get("REDIS_URL")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
DAY_S = 24 * 3600


class Clock:
    def __init__(self, at=NOON):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture
def redis_prefix():
    if not REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL")
    client = Redis.from_url(REDIS_URL)
    prefix = f"test:ads:{uuid.uuid4().hex[:10]}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["local", "redis"])
def make_store(request):
    """Return a function making a store of the parameter's kind with a given clock."""
    if request.param == "local":
        return lambda clock: LocalBudgetStore(clock=clock)
    client, prefix = request.getfixturevalue("redis_prefix")
    return lambda clock: RedisBudgetStore(client, prefix=prefix, clock=clock)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(make_store, clock):
    store = make_store(clock)
    store.set_limits(7, total_micros=10_000, daily_micros=4_000)
    return store


def left(store, campaign=7):
    r = store.remaining(campaign)
    return r.total_micros, r.day_micros, r.spent_micros, r.spent_today_micros, r.reserved_micros


def test_a_hold_takes_from_both_budgets_and_settling_turns_it_into_spend(store):
    hold = store.reserve(7, 1_500)
    assert hold == Reservation(7, hold.hold_id, 1_500, date(2026, 12, 1))
    assert left(store) == (8_500, 2_500, 0, 0, 1_500)
    assert store.settle(hold, spent_micros=1_200) == 300
    assert left(store) == (8_800, 2_800, 1_200, 1_200, 0)
    assert store.remaining(7).micros == 2_800


def test_a_hold_the_budget_cannot_cover_is_refused_or_takes_the_rest_when_partial(store):
    assert store.reserve(7, 3_000) is not None
    assert store.reserve(7, 1_001) is None  # 1,000 left today
    assert left(store) == (7_000, 1_000, 0, 0, 3_000)
    assert store.reserve(7, 1_500, least_micros=1_001) is None
    rest = store.reserve(7, 1_500, least_micros=1)
    assert rest.amount_micros == 1_000
    assert store.reserve(7, 1, least_micros=1) is None
    assert left(store) == (6_000, 0, 0, 0, 4_000)


def test_release_gives_a_hold_back_once(store):
    hold = store.reserve(7, 2_000)
    assert store.release(hold) == 2_000
    assert store.release(hold) == 0
    assert store.settle(hold, spent_micros=10) == 0  # settled holds spend nothing more
    assert left(store) == (10_000, 4_000, 0, 0, 0)


def test_spending_more_than_the_hold_is_refused_and_changes_nothing(store):
    hold = store.reserve(7, 500)
    with pytest.raises(BudgetError):
        store.settle(hold, spent_micros=501)
    with pytest.raises(BudgetError):
        store.reserve(7, 0)
    with pytest.raises(BudgetError):
        store.settle(hold, spent_micros=-1)
    assert left(store) == (9_500, 3_500, 0, 0, 500)
    assert store.settle(hold, spent_micros=500) == 0


def test_the_same_hold_id_holds_once(store):
    first = store.reserve(7, 700, hold_id="auction-1:0")
    again = store.reserve(7, 700, hold_id="auction-1:0")
    assert first == again
    assert left(store)[4] == 700


def test_the_daily_budget_starts_again_each_utc_day_and_the_total_still_caps(store, clock):
    for _ in range(4):
        store.settle(store.reserve(7, 1_000), spent_micros=1_000)
    assert store.reserve(7, 1) is None  # today's 4,000 spent
    clock.at += DAY_S  # 2026-12-02, noon
    assert left(store) == (6_000, 4_000, 4_000, 0, 0)
    for _ in range(4):
        store.settle(store.reserve(7, 1_000), spent_micros=1_000)
    clock.at += DAY_S
    last = store.reserve(7, 4_000, least_micros=1)
    assert last.amount_micros == 2_000  # the total's last 2,000
    store.settle(last, spent_micros=2_000)
    assert left(store) == (0, 2_000, 10_000, 2_000, 0)


def test_a_hold_settled_after_midnight_counts_on_the_day_it_was_made(store, clock):
    clock.at = NOON + 11.9 * 3600  # 23:54
    hold = store.reserve(7, 3_000)
    clock.at += 600  # 00:04 the next day
    assert left(store) == (7_000, 4_000, 0, 0, 3_000)
    store.settle(hold, spent_micros=3_000)
    assert left(store) == (7_000, 4_000, 3_000, 0, 0)  # today's budget untouched


def test_holds_of_a_process_that_died_are_released_after_they_expire(store, clock):
    stale = store.reserve(7, 1_000)
    clock.at += 120
    fresh = store.reserve(7, 500)
    assert store.release_expired(7, older_than_s=60) == 1_000
    assert left(store) == (9_500, 3_500, 0, 0, 500)
    assert store.settle(stale, spent_micros=1_000) == 0  # too late: it was given back
    assert store.settle(fresh, spent_micros=500) == 0
    assert left(store)[2] == 500


def test_reconcile_sets_limits_and_spend_from_the_ledger_and_keeps_live_holds(store):
    hold = store.reserve(7, 1_000)
    store.settle(store.reserve(7, 2_000), spent_micros=2_000)
    changes = store.reconcile(
        [LedgerSpend(7, 20_000, 5_000, 2_500, 1_800), LedgerSpend(8, 900, 900, 0, 0)]
    )
    assert [(c.campaign_id, c.spent_before_micros, c.spent_after_micros) for c in changes] == [
        (7, 2_000, 2_500),
        (8, None, 0),
    ]
    assert left(store) == (16_500, 2_200, 2_500, 1_800, 1_000)
    assert left(store, 8) == (900, 900, 0, 0, 0)
    assert store.settle(hold, spent_micros=1_000) == 0
    assert left(store) == (16_500, 2_200, 3_500, 2_800, 0)


def test_a_campaign_whose_limits_were_never_loaded_is_an_error(store):
    with pytest.raises(BudgetNotLoaded):
        store.reserve(99, 10)
    with pytest.raises(BudgetNotLoaded):
        store.remaining(99)


def test_remaining_many_reads_every_campaign_at_once_and_none_for_one_never_loaded(store):
    store.set_limits("c-2", total_micros=500, daily_micros=500)
    hold = store.reserve(7, 1_500)
    store.settle(hold, spent_micros=1_000)
    store.reserve("c-2", 200)

    found = store.remaining_many([7, 99, "c-2"])

    assert found == [store.remaining(7), None, store.remaining("c-2")]
    assert (found[0].micros, found[0].spent_today_micros) == (3_000, 1_000)
    assert (found[2].micros, found[2].reserved_micros) == (300, 200)
    assert store.remaining_many([]) == []


def test_threads_racing_for_one_budget_spend_it_to_the_micro(make_store, clock):
    store = make_store(clock)
    store.set_limits(5, total_micros=1_000_003, daily_micros=10**9)
    granted = []

    def worker(seed):
        for n in range(400):
            hold = store.reserve(5, 997 + (seed * 31 + n * 7) % 1_500, least_micros=1)
            if hold is not None:
                granted.append(hold.amount_micros)
                store.settle(hold, spent_micros=hold.amount_micros)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 1_000_003
    assert left(store, 5)[:3] == (0, 10**9 - 1_000_003, 1_000_003)


def _spend_in_a_process(redis_url, prefix, start, results):
    store = RedisBudgetStore(Redis.from_url(redis_url), prefix=prefix, clock=lambda: NOON)
    total = 0
    for n in range(300):
        hold = store.reserve(6, 500 + (start + n * 13) % 700, least_micros=1)
        if hold is not None:
            total += hold.amount_micros
            if n % 5 == 0:  # some holds are given back, the rest spent
                store.release(hold)
                total -= hold.amount_micros
            else:
                store.settle(hold, spent_micros=hold.amount_micros)
    results.put(total)


def test_processes_racing_for_one_redis_budget_never_overspend(redis_prefix):
    client, prefix = redis_prefix
    store = RedisBudgetStore(client, prefix=prefix, clock=lambda: NOON)
    store.set_limits(6, total_micros=400_001, daily_micros=350_017)
    context = multiprocessing.get_context("fork")  # the children inherit the loaded apps
    results = context.Queue()
    workers = [
        context.Process(target=_spend_in_a_process, args=(REDIS_URL, prefix, s, results))
        for s in range(4)
    ]
    for w in workers:
        w.start()
    spent = sum(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert spent == 350_017  # the daily budget, to the micro
    assert left(store, 6) == (400_001 - 350_017, 0, 350_017, 350_017, 0)


def test_the_store_is_redis_when_redis_url_is_set_and_in_process_otherwise(settings):
    settings.REDIS_URL = ""
    assert isinstance(budget_store(), LocalBudgetStore)
    assert budget_store() is budget_store()  # one per process
    settings.REDIS_URL = "redis://127.0.0.1:6379/13"
    assert isinstance(budget_store(), RedisBudgetStore)
