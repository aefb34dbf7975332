"""Process-local caches: named, bounded, expiring, thread-safe, and cleared all at once.

Every cache that keeps data in a process's memory is a `LocalCache`, declared where it is
used with its name, bound and time to live; docs/caching.md lists each one and how it stays
right when another process changes the data (memoized pure functions, which nothing can make
stale, stay on functools). Values are computed outside the lock, so a slow computation (a
database query) never blocks other readers; two threads that miss the same key at once may
both compute it, and the later value is kept.
"""

import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Weak, so a cache that belongs to an object (a search index segment) leaves with it.
_registry: "weakref.WeakSet[LocalCache[Any, Any]]" = weakref.WeakSet()
_registry_lock = threading.Lock()


class LocalCache(Generic[K, V]):
    """A named, bounded cache whose entries expire `ttl_s` seconds after they are stored.

    Past `maxsize` entries the least recently used one goes. `ttl_s=None` means entries never
    expire: only for objects that must live as long as the process (see docs/caching.md).
    `timer` (seconds, monotonic) is injectable so tests can move time without sleeping.
    """

    def __init__(
        self,
        name: str,
        *,
        maxsize: int,
        ttl_s: float | None,
        timer: Callable[[], float] = time.monotonic,
    ):
        if maxsize < 1:
            raise ValueError(f"cache {name!r}: maxsize must be at least 1")
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"cache {name!r}: ttl_s must be positive, or None")
        self.name = name
        self.maxsize = maxsize
        self.ttl_s = ttl_s
        self._timer = timer
        self._data: cachetools.Cache[K, V] = (
            cachetools.LRUCache(maxsize)
            if ttl_s is None
            else cachetools.TTLCache(maxsize, ttl_s, timer=timer)
        )
        self._lock = threading.Lock()
        with _registry_lock:
            _registry.add(self)

    def __repr__(self) -> str:
        return f"<LocalCache {self.name} maxsize={self.maxsize} ttl_s={self.ttl_s}>"

    def __len__(self) -> int:
        """Return how many entries are live now."""
        with self._lock:
            if isinstance(self._data, cachetools.TTLCache):
                self._data.expire()
            return len(self._data)

    def now(self) -> float:
        """Return the time on this cache's timer (for callers that add their own freshness)."""
        return self._timer()

    def get(self, key: K, default: V | None = None) -> V | None:
        """Return the live value for `key`, or `default`."""
        with self._lock:
            try:
                return self._data[key]  # one lookup (Cache.get looks twice)
            except KeyError:
                return default

    def set(self, key: K, value: V) -> None:
        """Store `value` for `key`; it expires ttl_s from now."""
        with self._lock:
            self._data[key] = value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """Return the live value for `key`, computing and storing it on a miss."""
        with self._lock:
            try:
                return self._data[key]
            except KeyError:
                pass
        value = compute()
        with self._lock:
            self._data[key] = value
        return value

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """Return the live values of those keys that have one."""
        found: dict[K, V] = {}
        data = self._data
        with self._lock:
            for key in keys:
                try:
                    found[key] = data[key]
                except KeyError:
                    continue
        return found

    def set_many(self, values: Mapping[K, V]) -> None:
        """Store every value of `values` under its key."""
        with self._lock:
            for key, value in values.items():
                self._data[key] = value

    def invalidate(self, key: K) -> None:
        """Forget `key` in this process (a no-op when it is not cached)."""
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        """Forget every entry in this process."""
        with self._lock:
            self._data.clear()


def caches() -> list[LocalCache[Any, Any]]:
    """Return every live cache of this process, by name."""
    with _registry_lock:
        return sorted(_registry, key=lambda cache: cache.name)


def clear_all() -> None:
    """Empty every cache of this process (tests start from cold caches)."""
    for cache in caches():
        cache.clear()
