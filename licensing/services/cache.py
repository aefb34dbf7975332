"""Entitlement caching: a generation counter in the shared cache, values per process.

Any change to an offer or agreement bumps the generation, which every process reads on each
check (one cache round trip); computed entitlements are kept per process under the generation
they were computed for, so a stale value is never served after a change.
"""

import threading
import time

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "licensing:generation"
LOCAL_TTL_S = 60.0
_LOCAL_MAX = 2048
_local: dict = {}
_lock = threading.Lock()


def invalidate() -> None:
    """Invalidate cached entitlements now and again once the current transaction commits."""
    bump_generation()
    transaction.on_commit(bump_generation)


def bump_generation() -> None:
    """Invalidate every cached entitlement, in every process."""
    if cache.add(GENERATION_KEY, 1, timeout=None):
        return
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.add(GENERATION_KEY, 1, timeout=None)


def current_generation() -> int:
    return cache.get(GENERATION_KEY) or 0


def cached(key: tuple, compute):
    """Return compute() for `key`, reusing it while the generation and a short TTL hold."""
    full_key = (current_generation(), *key)
    now = time.monotonic()
    hit = _local.get(full_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    with _lock:
        if len(_local) >= _LOCAL_MAX:
            _local.clear()
        _local[full_key] = (now + LOCAL_TTL_S, value)
    return value


def clear_local() -> None:
    with _lock:
        _local.clear()
