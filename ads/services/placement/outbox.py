"""What answers served, on its way to the database: a list in Redis that a Celery task drains.

An answer that served sponsored items pushes one JSON record (what `recording.record_payload`
writes) when its transaction commits: one RPUSH, instead of a Celery message per answer (whose
publishing cost more than the rest of the ad path; docs/performance.md). The push that finds
the list empty queues the task `ads.record_servings`, which records the list's entries, oldest
first, until it is empty, so under load one task records many answers; beat also runs it every
minute, in case a queued task was lost.

Without Redis, each answer's record goes to the task `ads.record_serving` (with a broker) or is
written at once (without one: `make run`, tests). A record is written once per request id
whatever happens (`serving.record_serving`), so an entry taken twice is harmless; an entry lost
with a worker that died holding it leaves its impression uncharged, never charged twice.
"""

import functools
import json
import logging
from typing import Any, cast

from django.conf import settings
from redis import Redis

logger = logging.getLogger("provenant.ads")

QUEUE_KEY = "ads:servings"
BATCH = 100


@functools.cache
def _client(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def _redis() -> Redis | None:
    url = str(getattr(settings, "REDIS_URL", "") or "")
    return _client(url) if url else None


def push(payload: dict[str, Any]) -> None:
    """Send one answer's record on its way to the database (see the module)."""
    from ads import tasks
    from ads.services.placement.recording import record_payload

    client = _redis()
    if client is None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            record_payload(payload)
        else:
            tasks.record_serving.delay(payload)
        return
    if int(client.rpush(QUEUE_KEY, json.dumps(payload, separators=(",", ":")))) == 1:
        tasks.record_servings.delay()


def drain(*, batch: int = BATCH) -> int:
    """Record the queued answers, oldest first, until none is left; return how many."""
    from ads.services.placement.recording import record_payload

    client = _redis()
    if client is None:
        return 0
    recorded = 0
    while True:
        entries = cast(list[bytes] | None, client.lpop(QUEUE_KEY, batch))
        if not entries:
            return recorded
        for entry in entries:
            try:
                record_payload(json.loads(entry))
                recorded += 1
            except Exception:
                logger.exception("Could not record a served answer: %.200s", entry)
