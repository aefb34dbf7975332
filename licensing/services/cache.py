"""Entitlement caching: a generation counter in the shared cache, values per process.

Any change to an offer or agreement bumps the generation, which every process reads on each
check (one cache round trip); computed entitlements are kept per process under the generation
they were computed for, so a stale value is never served after a change.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction

from core.cache import LocalCache

if TYPE_CHECKING:
    from licensing.services.entitlements import Entitlements

GENERATION_KEY = "licensing:generation"
_local: "LocalCache[tuple[object, ...], Entitlements]" = LocalCache(
    "licensing.entitlements", maxsize=2048, ttl_s=60.0
)


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
    generation: int = cache.get(GENERATION_KEY) or 0
    return generation


def cached(key: tuple[str, ...], compute: Callable[[], "Entitlements"]) -> "Entitlements":
    """Return compute() for `key`, reusing it while the generation and a short TTL hold."""
    return _local.get_or_compute((current_generation(), *key), compute)


def clear_local() -> None:
    """Forget this process's entitlements (the generation in the shared cache is untouched)."""
    _local.clear()
