"""Faults under load: nothing metered or rated is lost, nothing is counted twice.

Run (needs PostgreSQL 15's binaries in /usr/lib/postgresql/15/bin and redis-server):
  .venv/bin/python bench/bench_faults.py            # about 3 minutes
  .venv/bin/python bench/bench_faults.py --quick    # about 1.5 minutes

It starts a PostgreSQL cluster and a Redis server of its own (temporary directory, free
ports: it restarts these, never the machine's), migrates and seeds the demo, and serves it
with gunicorn, a Celery worker (prefork) and Celery beat rating every 2 s in batches of 50
events. Agents send answers (POST /api/v1/answers) with an Idempotency-Key each, sending a
request again with the same key after a connection error, a 5xx, a 409 or a 429 until it
gets a final response. Meanwhile:
  1. the worker's pool process is killed (SIGKILL) while a rating batch is open in the
     database (acks_late + reject_on_worker_lost: the task goes back to the queue);
  2. the whole worker (main process and pool) is killed in a rating batch, and a new one
     started;
  3. Redis is killed (its queue and cache are gone: no persistence) and started again;
  4. PostgreSQL is restarted (`pg_ctl restart -m fast`).
Then rating catches up on its own, and it counts: every answer received metered once with
one usage event per source it shows; no metering without an answer received; every usage
event that moves money rated into exactly one ledger transaction of the right amount;
every answer replayed unchanged to its key; `manage.py billing_check` passes. It exits
non-zero if anything is lost or doubled.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import _faults_client as client
from _faults_services import PgCluster, RedisServer, Service, children, free_port

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "provenant_faults"
PYTHON = sys.executable
RATING_BATCH = 50
IN_RATING_BATCH = """
    SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'billing_ratingcursor' AND l.mode = 'RowShareLock' AND l.granted
      AND l.pid IN (SELECT l2.pid FROM pg_locks l2 JOIN pg_class c2 ON c2.oid = l2.relation
                    WHERE c2.relname = 'licensing_usageevent' AND l2.granted)
"""
# The counts that must be zero.
FAILURES = ("lost", "doubled", "never", "not metered", "off", "without cause", "given up")
CURSOR = "SELECT position FROM billing_ratingcursor WHERE name = 'usage'"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def environment(work: Path, pg: PgCluster, redis: RedisServer) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": pg.url(DATABASE),
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PROVENANT_DATA_DIR": str(work / "data"),
        "INFERENCE_BACKEND": "extractive",
        "INFERENCE_BASE_URL": "",
        "RECEIPT_SIGNING_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "API_KEY_RATE_LIMIT_PER_MINUTE": "1000000",
        "BILLING_RATING_INTERVAL_S": "2",
        "BILLING_RATING_BATCH": str(RATING_BATCH),
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def services(env: dict[str, str], work: Path) -> tuple[Service, Service, Service, str]:
    port = free_port()
    web = Service(
        "gunicorn",
        [PYTHON, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{port}", "--workers=4",
         "--timeout=60", "--log-level=warning"],
        env, ROOT, work / "gunicorn.log",
    )  # fmt: skip
    worker = Service(
        "celery worker",
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=prefork",
         "--concurrency=1", "--without-gossip", "--without-mingle", "-n", "faults@%h"],
        env, ROOT, work / "worker.log",
    )  # fmt: skip
    beat = Service(
        "celery beat",
        [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
         f"--schedule={work / 'beat-schedule'}", f"--pidfile={work / 'beat.pid'}"],
        env, ROOT, work / "beat.log",
    )  # fmt: skip
    return web, worker, beat, f"http://127.0.0.1:{port}"


def wait_http(url: str, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/receipts/public-key", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"gunicorn did not answer within {timeout_s:.0f} s")


class Watch:
    """Reads the throw-away database (autocommit, reconnecting) to time the worker kills."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = None

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        for _ in range(50):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.url, autocommit=True)
                return self.conn.execute(sql).fetchall()
            except psycopg.OperationalError:
                self.conn = None
                time.sleep(0.2)
        raise RuntimeError("the database did not come back")

    def position(self) -> int:
        rows = self.query(CURSOR)
        return rows[0][0] if rows else 0

    def in_rating_batch(self, timeout_s: float) -> int | None:
        """Wait until a rating batch is open (its cursor locked, its events read)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rows = self.query(IN_RATING_BATCH)
            if rows:
                return rows[0][0]
            time.sleep(0.002)
        return None


def kill_in_batch(watch: Watch, target, kill, *, what: str, attempts: int = 8) -> dict:
    """Kill process `target()` with `kill(pid)` while a rating batch is open; check that the
    batch did not commit (the rating cursor stayed where it was)."""
    for attempt in range(1, attempts + 1):
        pid = target()  # found before the batch opens: looking it up takes a while
        if watch.in_rating_batch(timeout_s=30) is None:
            raise RuntimeError("no rating batch was seen open in 30 s")
        before = watch.position()
        kill(pid)
        time.sleep(0.5)
        if watch.position() == before:
            log(f"killed {what} (pid {pid}) in an open rating batch at cursor {before}")
            return {"pid": pid, "rating cursor": before, "attempts": attempt}
        log(f"killed {what} (pid {pid}) just after a batch committed; trying again")
        time.sleep(2)
    raise RuntimeError(f"could not kill {what} inside a rating batch in {attempts} attempts")


def wait_rated(watch: Watch, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        top = watch.query("SELECT coalesce(max(id), 0) FROM licensing_usageevent")[0][0]
        if watch.position() >= top:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"rating did not catch up within {timeout_s:.0f} s")


def count(outcomes: list[client.Outcome], agent_id: str) -> dict[str, int]:
    """Hold what the agents received against what was metered and rated."""
    from django.db.models import Count, Q, Sum

    from billing.models import Entry, Transaction
    from billing.services.rating.usage import RATED_KINDS, use_charge
    from licensing import services as licensing
    from licensing.models import AnswerRecord, UsageEvent

    got = {o.answer["id"]: o.answer for o in outcomes if o.answer is not None}
    metered = dict(
        AnswerRecord.objects.filter(agent_id=agent_id, request_id__startswith="ans_")
        .annotate(n=Count("events"))
        .values_list("request_id", "n")
    )
    c: Counter[str] = Counter()
    c["requests given up (no final response)"] = sum(1 for o in outcomes if o.status is None)
    for request_id, answer in got.items():
        shown, recorded = len(answer["sources"]), metered.get(request_id, 0)
        c["events lost"] += max(0, shown - recorded)
        c["events doubled"] += max(0, recorded - shown)
        c["answers not metered"] += request_id not in metered
    c["metered, never received"] = len(set(metered) - set(got))
    events = UsageEvent.objects.filter(answer__request_id__in=list(got))
    c["usage events"] = events.count()
    c["metered, micros"] = events.aggregate(s=Sum("amount_micros"))["s"] or 0
    c["cost shown in the answers, micros"] = sum(a["cost"]["total_micros"] for a in got.values())
    ids = set(events.values_list("id", flat=True))
    top = max(ids, default=0)
    due = {
        use.id: use_charge(use)
        for use in licensing.ratable_usage(after_id=0, upto_id=top, limit=10**9)
        if use.id in ids and use_charge(use) > 0
    }
    rated = Counter(
        Transaction.objects.filter(usage_event_id__in=list(ids), kind__in=RATED_KINDS)
        .filter(reversal__isnull=True)
        .values_list("usage_event_id", flat=True)
    )
    charged = dict(
        Entry.objects.filter(transaction__usage_event_id__in=list(ids), amount_micros__gt=0)
        .filter(Q(transaction__kind__in=RATED_KINDS), transaction__reversal__isnull=True)
        .values("transaction__usage_event_id")
        .annotate(s=Sum("amount_micros"))
        .values_list("transaction__usage_event_id", "s")
    )
    c["events that move money"] = len(due)
    c["ledger transactions"] = sum(rated.values())
    c["ledger transactions lost"] = sum(1 for e in due if rated[e] == 0)
    c["ledger transactions doubled"] = sum(n - 1 for n in rated.values() if n > 1)
    c["ledger transactions without cause"] = sum(1 for e in rated if e not in due)
    c["ledger amounts off"] = sum(1 for e, amount in due.items() if charged.get(e, 0) != amount)
    c["charged in the ledger, micros"] = sum(charged.values())
    c["due by the rating rules, micros"] = sum(due.values())
    return dict(c)


def worker_redeliveries(log_path: Path) -> int:
    """Return how many rating tasks the worker log shows received more than once."""
    received = Counter(
        re.findall(r"Task billing\.rate_usage\[([0-9a-f-]+)\] received", log_path.read_text())
    )
    return sum(1 for n in received.values() if n > 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (about 1.5 min)")
    parser.add_argument("--concurrency", type=int, default=4, help="agents sending at once")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def prepare(work: Path, pg: PgCluster, redis: RedisServer) -> tuple[dict[str, str], str, str]:
    """Create the database, migrate, seed the demo; return the env, the API key, the agent."""
    import psycopg

    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    env = environment(work, pg, redis)
    manage(env, "migrate", "--noinput")
    seeded = manage(env, "seed_demo")
    api_key = re.search(r"PROVENANT_API_KEY=(\S+)", seeded).group(1)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections

    from accounts.models import Organization

    agent = Organization.objects.get(name="Acme Agents", is_agent=True)
    connections.close_all()  # PostgreSQL restarts under this process too
    return env, api_key, str(agent.id)


def pool_process(worker: Service, timeout_s: float = 30) -> int:
    """Return the worker's pool process (one: concurrency 1), once it has one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pool = children(worker.pid)
        if pool:
            return pool[0]
        time.sleep(0.2)
    raise RuntimeError(f"the worker has no pool process after {timeout_s:.0f} s")


def inject_faults(
    watch: Watch, worker: Service, pg: PgCluster, redis: RedisServer, *, phase_s: float
) -> dict[str, object]:
    """Kill the worker's pool process, then the whole worker, in rating batches; restart
    Redis, then PostgreSQL twice; `phase_s` apart, under the agents' load."""
    faults: dict[str, object] = {}

    def kill_worker(pid: int) -> None:
        worker.kill_group()
        worker.start()

    time.sleep(phase_s)
    faults["pool process killed"] = kill_in_batch(
        watch,
        lambda: pool_process(worker),
        lambda pid: os.kill(pid, signal.SIGKILL),
        what="the pool process",
    )
    time.sleep(phase_s)
    faults["worker killed"] = kill_in_batch(
        watch, lambda: worker.pid, kill_worker, what="the whole worker"
    )
    worker.wait_for("ready.", timeout_s=60)  # so that the next fault hits a running worker
    time.sleep(phase_s)
    redis.restart(down_s=2.0)
    faults["Redis restarted"] = "killed, down for 2 s, started empty (queue and cache lost)"
    log(f"Redis {faults['Redis restarted']}")
    for n in (1, 2):
        time.sleep(phase_s)
        took_s = pg.restart()
        faults[f"PostgreSQL restart {n}"] = f"pg_ctl restart -m fast, {took_s:.1f} s"
        log(f"PostgreSQL restarted ({took_s:.1f} s)")
    time.sleep(phase_s)
    return faults


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="provenant-faults-"))
    pg, redis = PgCluster(work / "pg"), RedisServer(work / "redis")
    started: list[Service] = []
    try:
        log(f"throw-away PostgreSQL and Redis in {work}")
        pg.init()
        redis.start()
        env, api_key, agent_id = prepare(work, pg, redis)
        web, worker, beat, url = services(env, work)
        for service in (web, worker, beat):
            service.start()
            started.append(service)
        wait_http(url)
        worker.wait_for("ready.", timeout_s=60)
        watch = Watch(pg.url(DATABASE))
        log(f"serving at {url}; {args.concurrency} agents start asking")

        load = client.AnswerLoad(url, api_key, concurrency=args.concurrency)
        load_started = time.monotonic()
        load.start()
        faults = inject_faults(watch, worker, pg, redis, phase_s=6.0 if args.quick else 15.0)
        load.stop()
        load_s = time.monotonic() - load_started
        outcomes = load.outcomes
        log(f"{len(outcomes)} requests finished in {load_s:.0f} s; waiting for rating")
        caught_up_s = wait_rated(watch, timeout_s=120)
        client.save(outcomes, work / "outcomes.jsonl")
        counts = count(outcomes, agent_id)
        replays = client.replay_all(url, api_key, outcomes)
        check = subprocess.run(
            [PYTHON, "manage.py", "billing_check"], cwd=ROOT, env=env, capture_output=True,
            text=True,
        )  # fmt: skip
        report(
            outcomes, counts, replays, check, faults,
            load_s=load_s, caught_up_s=caught_up_s, quick=args.quick,
            redeliveries=worker_redeliveries(worker.log),
        )  # fmt: skip
        bad = sum(v for k, v in counts.items() if any(w in k for w in FAILURES))
        bad += counts["metered, micros"] != counts["cost shown in the answers, micros"]
        bad += counts["charged in the ledger, micros"] != counts["due by the rating rules, micros"]
        return 1 if bad or check.returncode or replays.get("different") else 0
    finally:
        for service in reversed(started):
            service.stop()
        redis.stop()
        pg.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(outcomes, counts, replays, check, faults, **figures) -> None:
    statuses = Counter(o.status for o in outcomes)
    retried = sum((o.retried_for for o in outcomes), Counter())
    answered = statuses.get(200, 0)
    print(f"\n== Faults ({'--quick' if figures['quick'] else 'full'}), {platform.node()}: "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
    for name, detail in faults.items():
        print(f"  {name}: {detail}")
    print(f"  rating caught up {figures['caught_up_s']:.1f} s after the load stopped")
    print(f"  rating tasks the worker received twice (redelivered): {figures['redeliveries']}")
    print(f"\n  requests: {len(outcomes)} in {figures['load_s']:.0f} s; final statuses "
          f"{dict(sorted(statuses.items(), key=str))}")  # fmt: skip
    print(f"  retried because of: {dict(retried.most_common())}")
    print(f"  most attempts for one request: {max((o.attempts for o in outcomes), default=0)}; "
          f"final answers that were replays: {sum(o.replayed for o in outcomes)}")  # fmt: skip
    print(f"  answers received: {answered}")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    print(f"  replayed to their keys afterwards: {dict(replays)}")
    print(f"  billing_check: exit {check.returncode}: {check.stdout.strip()[-300:]}")


if __name__ == "__main__":
    sys.exit(main())
