import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_service():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert {check["status"] for check in body["checks"].values()} == {"ok"}
    assert {key for check in body["checks"].values() for key in check} == {"status", "latency_ms"}


def test_healthz_is_503_when_the_cache_is_down_and_tells_only_the_log_why(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis.internal:6379. Connection refused.")

    monkeypatch.setattr(cache, "set", down)
    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"] == {"status": "down"}
    assert body["checks"]["database"]["status"] == "ok"
    assert "redis.internal" not in response.content.decode()
    assert "6379" not in response.content.decode()
    failure = next(r for r in caplog.records if r.name == "provenant.health")
    assert failure.getMessage() == "Health check failed: cache is down"
    assert "redis.internal:6379" in str(failure.exc_info[1])


def test_healthz_is_503_when_the_broker_is_unreachable(settings, monkeypatch):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration (CI sets it).
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = Client().get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"status": "down"}
    assert "127.0.0.1" not in response.content.decode()
