"""Rating survives its Celery worker dying in the middle of a batch: the task goes back to
the queue (acks_late + reject_on_worker_lost), the batch that was open rolls back, and the
task run again rates every event once. bench/bench_faults.py does this under answer load,
with Redis and PostgreSQL restarts too."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.db.models import Count

from billing import services as billing
from billing import tasks
from billing.models import RatingCursor, Transaction
from config.celery import app
from licensing import services as licensing
from licensing.models import UsageEvent

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL")
RATING_TASKS = (tasks.rate_usage, tasks.charge_agreements, tasks.allocate_revenue_report)
IN_RATING_BATCH = """
    SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'billing_ratingcursor' AND l.mode = 'RowShareLock' AND l.granted
      AND l.pid IN (SELECT l2.pid FROM pg_locks l2 JOIN pg_class c2 ON c2.oid = l2.relation
                    WHERE c2.relname = 'licensing_usageevent' AND l2.granted)
"""


@pytest.mark.parametrize("task", RATING_TASKS, ids=lambda task: task.name)
def test_a_billing_task_goes_back_to_the_queue_if_its_worker_dies(task):
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


def _meter_many(agent, agreement, answers: int, sources: int) -> None:
    offer = agreement.offer
    licensing.record_uses(
        [
            licensing.UseRecord(
                request_id=f"worker-kill-{n}",
                agent_id=agent.id,
                usage_type="ai-input",
                sources=tuple(
                    licensing.SourceUse(
                        collection_id=offer.terms.collection_ids[0],
                        provider_id=offer.provider_id,
                        offer_version_id=offer.version_id,
                        agreement_id=agreement.id,
                        document_id=None,
                        chunk_id=s + 1,
                        tokens=100,
                        cited=True,
                        attribution_weight_ppm=1_000_000 // sources,
                    )
                    for s in range(sources)
                ),
            )
            for n in range(answers)
        ]
    )


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def _in_rating_batch() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(IN_RATING_BATCH)
        return cursor.fetchone() is not None


def _pool_process(worker_pid: int) -> int:
    """The worker's live pool process (a killed one lingers as a zombie until it is reaped)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if int(parent) == worker_pid and state != "Z":
                return int(stat.parent.name)
        except (OSError, IndexError, ValueError):
            continue
    raise AssertionError("the worker has no pool process")


def _position() -> int:
    cursor = RatingCursor.objects.filter(name="usage").first()
    return cursor.position if cursor else 0


@pytest.mark.real_worker
@pytest.mark.skipif(
    connection.vendor != "postgresql" or not REDIS_URL,
    reason="a real worker needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_a_rating_batch_loses_and_doubles_nothing(
    agent, provider, make_offer, accept, tmp_path
):
    agreement = accept(agent, make_offer(provider, price_micros=3000))
    billing.grant_credit(organization_id=agent.id, amount_micros=1_000_000, idempotency_key="w")
    _meter_many(agent, agreement, answers=1500, sources=2)
    top = UsageEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    queue = f"test-rating-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CACHE_KEY_PREFIX": queue,
        "BILLING_RATING_BATCH": "100",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue),
        *("--pool=prefork", "--concurrency=1", "--loglevel=INFO", "-n", f"{queue}@%h"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log.open("wb") as output:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
        )
    previous = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL)
    try:
        _wait(lambda: "ready." in log.read_text(), 60, "the worker to start")
        # The batch will wait for the agent's wallet, which this connection holds: the kill
        # lands inside a batch for certain, whatever the machine's speed.
        with psycopg.connect(_database_url(), autocommit=False) as holder:
            holder.execute(
                "SELECT id FROM billing_account WHERE organization_id = %s "
                "AND purpose = 'agent_wallet' FOR UPDATE",
                (agent.id,),
            )
            tasks.rate_usage.apply_async(queue=queue)
            _wait(_in_rating_batch, 60, "a rating batch")
            before = _position()
            os.kill(_pool_process(worker.pid), signal.SIGKILL)
            time.sleep(0.5)
            holder.rollback()
        assert _position() == before < top  # the open batch rolled back, events remain

        # Nothing sends the task again: only its redelivery can finish the pass.
        _wait(lambda: _position() >= top, 60, "the redelivered task to rate everything")
    finally:
        app.conf.update(previous)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        with app.connection_for_write(REDIS_URL) as conn:
            conn.default_channel.queue_delete(queue)

    text = log.read_text()
    assert "WorkerLostError" in text
    received = re.findall(r"Task billing\.rate_usage\[([0-9a-f-]+)\] received", text)
    assert len(set(received)) == 1 < len(received)  # the same task, redelivered
    per_event = Transaction.objects.filter(kind="use").values("usage_event_id")
    counts = per_event.annotate(n=Count("id")).values_list("n", flat=True)
    assert len(counts) == UsageEvent.objects.count() == 3000
    assert set(counts) == {1}
    assert billing.check_ledger().ok
