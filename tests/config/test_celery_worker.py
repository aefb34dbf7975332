"""A real Celery worker consuming from the real broker (Redis), when REDIS_URL is set."""

import os
import uuid

import pytest

from config.celery import app
from marketplace.tasks import ping

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.mark.real_worker
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL: a real broker")
def test_real_worker_consumes_a_task_from_the_broker():
    from celery.contrib.testing.worker import start_worker

    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = {
        key: app.conf[key]
        for key in ("task_always_eager", "broker_url", "result_backend", "task_default_queue")
    }
    app.conf.update(
        task_always_eager=False,
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        task_default_queue=queue,
    )
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue]):
            token = uuid.uuid4().hex
            result = ping.apply_async(args=[token], queue=queue)
            assert result.get(timeout=20) == token
    finally:
        app.conf.update(previous)


def test_tasks_run_eagerly_in_the_test_settings():
    assert ping.delay("eager").get(timeout=1) == "eager"
