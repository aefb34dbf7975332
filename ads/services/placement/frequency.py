"""How often each agent organization was shown each unit today, for the frequency cap
(ADS_FREQUENCY_CAP: at most that many servings of one unit to one agent organization per UTC
day).

Counters, not a record (the servings are the record): in Redis when REDIS_URL is set, one hash
per agent organization and day (`ads:frequency:<agent>:<date>`, unit id -> servings), read in
one round trip per auction and expiring after two days; otherwise in this process's memory
(the embedded default, one process). A count goes up once a serving is committed, so two
answers racing for the last serving of the day may both get it: the cap is a limit on
exposure, not on money, and is allowed that one.
"""

import functools
import threading
from collections.abc import Iterable
from datetime import date
from typing import Protocol, cast

from django.conf import settings
from redis import Redis

DAY_TTL_S = 2 * 86400


class FrequencyStore(Protocol):
    def counts(self, agent_id: str, day: date) -> dict[str, int]:
        """Return {unit id: servings} of this agent organization on this UTC day."""

    def add(self, agent_id: str, unit_ids: Iterable[str], day: date) -> None:
        """Count one serving of each unit to this agent organization on this UTC day."""


class RedisFrequencyStore:
    def __init__(self, client: Redis, *, prefix: str = "ads:frequency") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, agent_id: str, day: date) -> str:
        return f"{self._prefix}:{agent_id}:{day.isoformat()}"

    def counts(self, agent_id: str, day: date) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self._client.hgetall(self._key(agent_id, day)))
        return {k.decode(): int(v) for k, v in raw.items()}

    def add(self, agent_id: str, unit_ids: Iterable[str], day: date) -> None:
        key = self._key(agent_id, day)
        pipe = self._client.pipeline(transaction=True)
        for unit_id in unit_ids:
            pipe.hincrby(key, unit_id, 1)
        pipe.expire(key, DAY_TTL_S)
        pipe.execute()


class LocalFrequencyStore:
    """Counters in this process's memory under a lock (one process only); older days go."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, date], dict[str, int]] = {}

    def counts(self, agent_id: str, day: date) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get((agent_id, day), {}))

    def add(self, agent_id: str, unit_ids: Iterable[str], day: date) -> None:
        with self._lock:
            for old in [key for key in self._counts if key[1] < day]:
                del self._counts[old]
            counts = self._counts.setdefault((agent_id, day), {})
            for unit_id in unit_ids:
                counts[unit_id] = counts.get(unit_id, 0) + 1


@functools.cache
def _store(redis_url: str) -> FrequencyStore:
    if redis_url:
        return RedisFrequencyStore(Redis.from_url(redis_url))
    return LocalFrequencyStore()


def frequency_store() -> FrequencyStore:
    """Return this process's store: Redis when REDIS_URL is set, else the in-process one."""
    return _store(str(getattr(settings, "REDIS_URL", "") or ""))
