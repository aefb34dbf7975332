"""core.cache: expiry on an injected clock, the bound, invalidation, clearing, threads."""

import sys
import threading

import pytest

from core import cache as local_caches
from core.cache import LocalCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_until_its_ttl_then_is_computed_again():
    clock = Clock()
    cache = LocalCache("test.expiry", maxsize=4, ttl_s=60.0, timer=clock)
    computed = []

    def compute():
        computed.append(clock.now)
        return len(computed)

    assert cache.get_or_compute("k", compute) == 1
    clock.now += 59.9
    assert cache.get_or_compute("k", compute) == 1
    assert cache.get("k") == 1
    clock.now += 0.1
    assert cache.get("k") is None
    assert cache.get_or_compute("k", compute) == 2
    assert computed == [1000.0, 1060.0]


def test_ttl_counts_from_when_the_value_was_stored_not_from_reads():
    clock = Clock()
    cache = LocalCache("test.expiry-reads", maxsize=4, ttl_s=10.0, timer=clock)
    cache.set("k", "v")
    for _ in range(9):
        clock.now += 1
        assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k", "gone") == "gone"
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_past_maxsize():
    cache = LocalCache("test.bound", maxsize=3, ttl_s=60.0, timer=Clock())
    cache.set_many({"a": 1, "b": 2, "c": 3})
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.set("d", 4)

    assert len(cache) == 3
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}


def test_without_a_ttl_entries_stay_and_only_the_bound_evicts():
    clock = Clock()
    cache = LocalCache("test.no-ttl", maxsize=2, ttl_s=None, timer=clock)
    cache.set("a", 1)
    clock.now += 10**9
    assert cache.get("a") == 1
    cache.set_many({"b": 2, "c": 3})
    assert cache.get_many(["a", "b", "c"]) == {"b": 2, "c": 3}


def test_invalidate_forgets_one_key_and_clear_forgets_all():
    cache = LocalCache("test.invalidate", maxsize=8, ttl_s=60.0, timer=Clock())
    cache.set_many({"a": 1, "b": 2})
    cache.invalidate("a")
    cache.invalidate("never-cached")
    assert cache.get_many(["a", "b"]) == {"b": 2}
    assert cache.get_or_compute("a", lambda: 10) == 10

    cache.clear()
    assert len(cache) == 0
    assert cache.get_many(["a", "b"]) == {}


def test_none_and_falsy_values_are_cached_like_any_other():
    cache = LocalCache("test.none", maxsize=8, ttl_s=60.0, timer=Clock())
    calls = []
    for _ in range(3):
        assert cache.get_or_compute("k", lambda: calls.append(1)) is None
    assert calls == [1]
    assert cache.get_many(["k"]) == {"k": None}


def test_a_failed_computation_stores_nothing():
    cache = LocalCache("test.failure", maxsize=8, ttl_s=60.0, timer=Clock())

    def fail():
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", fail)
    assert cache.get_or_compute("k", lambda: "ok") == "ok"


def test_the_computation_runs_outside_the_lock():
    cache = LocalCache("test.reentrant", maxsize=8, ttl_s=60.0, timer=Clock())
    cache.set("inner", 1)
    # A computation that reads the same cache would deadlock if the lock were held.
    assert cache.get_or_compute("outer", lambda: cache.get("inner") + 1) == 2


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="maxsize"):
        LocalCache("test.bad", maxsize=0, ttl_s=1.0)
    with pytest.raises(ValueError, match="ttl_s"):
        LocalCache("test.bad", maxsize=1, ttl_s=0)


def test_clear_all_empties_every_registered_cache():
    first = LocalCache("test.registry-a", maxsize=8, ttl_s=60.0)
    second = LocalCache("test.registry-b", maxsize=8, ttl_s=None)
    first.set("k", 1)
    second.set("k", 2)

    assert {first, second} <= set(local_caches.caches())
    local_caches.clear_all()
    assert (first.get("k"), second.get("k")) == (None, None)


def test_a_cache_leaves_the_registry_with_its_owner():
    cache = LocalCache("test.registry-gone", maxsize=8, ttl_s=60.0)
    assert "test.registry-gone" in [c.name for c in local_caches.caches()]
    del cache
    assert "test.registry-gone" not in [c.name for c in local_caches.caches()]


def test_concurrent_writers_readers_and_invalidators_keep_the_cache_whole():
    # Switch threads as often as possible, so unsynchronised access to the LRU and expiry
    # bookkeeping would corrupt it or raise (KeyError, RuntimeError) within a few thousand ops.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    clock = Clock()
    cache = LocalCache("test.threads", maxsize=16, ttl_s=5.0, timer=clock)
    threads_count, rounds = 8, 3000
    start = threading.Barrier(threads_count)
    failures = []

    def work(seed: int) -> None:
        start.wait()
        try:
            for n in range(rounds):
                key = (seed * 7 + n) % 40
                if n % 5 == 0:
                    cache.invalidate(key)
                elif n % 7 == 0:
                    clock.now += 0.01  # entries expire while others are read and written
                    cache.get_many(range(key, key + 5))
                else:
                    assert cache.get_or_compute(key, lambda key=key: key * 2) == key * 2
        except Exception as exc:  # any error in a thread fails the test below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(threads_count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)

    assert failures == []
    assert len(cache) <= 16
    live = cache.get_many(range(40))
    assert all(value == key * 2 for key, value in live.items())
    assert len(cache._data) == len(list(cache._data.keys())) <= 16
