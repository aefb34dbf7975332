"""`/healthz`: the state of the database, the cache and the task broker.

The page is public, so it says only which component is up or down; why one is down (hosts,
ports, driver messages) goes to the log.
"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app

logger = logging.getLogger("provenant.health")


def _timed(name: str, check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception:  # a health check reports every failure instead of raising
        logger.exception("Health check failed: %s is down", name)
        return {"status": "down"}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    probe = f"healthz:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=5)
    if cache.get(probe) != "1":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(probe)


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _timed("database", _check_database),
        "cache": _timed("cache", _check_cache),
        "broker": _timed("broker", _check_broker),
    }
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": checks},
        status=200 if healthy else 503,
    )
