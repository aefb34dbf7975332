"""Benchmark POST /api/v1/answers end to end: gunicorn, PostgreSQL, Redis, embedded inference.

Run (PostgreSQL and Redis on this machine, the python3.11-doc corpus installed; wrk is used
if installed, `apt-get install -y wrk`, else a Python asyncio client):
  .venv/bin/python bench/bench_answers.py            # 100,000 chunks, 1,000 agreements (4-5 min)
  .venv/bin/python bench/bench_answers.py --quick    # 5,000 chunks, 200 agreements (about 1 min)

It makes a fresh database (`provenant_bench_answers`, dropped afterwards unless --keep) with
20 providers, 1,100 collections of documents and 100,000 chunks (bench/_answer_fixture.py), an
offer of every payment type per collection, one agent with 1,000 agreements and an API key
whose rate limit cannot throttle the run, and builds the embedded BM25 index. Then, for each
retrieval backend, it starts gunicorn (`config.wsgi`, 4 sync workers, DEBUG off,
INFERENCE_BACKEND=extractive) and POSTs varied questions that match the licensed content
(bench/_answer_load.py): a warm-up, then a sustained closed-loop run per concurrency. After
each run it checks the metering: every answer received was recorded once, with one usage event
per source it showed. Reference floors are measured through the same server with the same
client. Last, one process answers questions through Django's test client with a timer around
each stage, to show where an answer's time goes. `--app module:callable` serves another WSGI
application (a wrapper that changes something) to compare it with the default.
The agent is prepaid and funded: each answer holds its worst case against its wallet (billing,
BILLING_WALLET_HOLDS); `--wallet-holds both` runs each backend with holds off, then on, in the
same run, and prints the share of answers/s kept.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import _answer_fixture as fixture_data
import _answer_load as load
import _catalog_corpus as corpus

ROOT = corpus.ROOT
DATABASE = "provenant_bench_answers"
WORK_DIR = Path(tempfile.gettempdir()) / "provenant-bench-answers"
ANSWERS = "/api/v1/answers"
# (label, what it measures, path, expected status, sends the API key)
FLOORS = (
    (
        "bare DRF view",
        "GET /api/v1/receipts/public-key: DRF view, no key, one Redis INCR (rate limit)",
        "/api/v1/receipts/public-key",
        200,
        False,
    ),
    (
        "API key + one query",
        "GET /api/v1/organizations: key check, Redis INCR, one SELECT",
        "/api/v1/organizations",
        200,
        True,
    ),
)


@dataclass
class Fixture:
    database_url: str
    agent_id: str
    raw_key: str
    chunks: int
    agreements: int
    collections: int
    offers: int


# -- services ------------------------------------------------------------------------------------


def _pg_admin(url: str):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def drop_database(server_url: str, name: str) -> None:
    with _pg_admin(server_url) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def create_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; return its URL."""
    drop_database(server_url, name)
    with _pg_admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def require_services(database_url: str, redis_url: str) -> None:
    try:
        with _pg_admin(database_url) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        sys.exit(f"PostgreSQL is not reachable at {database_url}: {exc}")
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:
        sys.exit(f"Redis is not reachable at {redis_url}: {exc}")


def base_env(*, database_url: str, redis_url: str) -> dict:
    """Return the environment of the benchmark's Django processes (this one and gunicorn's)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Keys of its own: other processes on the same Redis must not bump the licensing
        # generation (which empties every entitlement cache) in the middle of a run.
        "CACHE_KEY_PREFIX": "provenant-bench-answers",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PROVENANT_DATA_DIR": str(WORK_DIR),
        "RETRIEVAL_INDEX_DIR": str(WORK_DIR / "index"),
        "INFERENCE_BACKEND": "extractive",
        "INFERENCE_BASE_URL": "",
        # Requests without a key are rate limited per client address at this default.
        "API_KEY_RATE_LIMIT_PER_MINUTE": "100000000",
    }


def setup_django(env: dict) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# -- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path
    label: str

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in path.read_text().split()]
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    env: dict, *, app: str, workers: int, worker_class: str, threads: int, log: Path
) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        f"--threads={threads}",
        "--backlog=2048",
        "--keep-alive=5",
        "--timeout=60",
        "--log-level=warning",
        f"--error-logfile={log}",
    ]
    with open(log, "ab") as output:  # gunicorn's own output goes to the log too
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            with opener.open(url + "/api/v1/receipts/public-key", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    else:
        process.terminate()
        sys.exit(f"gunicorn did not answer within 60 s; see {log}")
    label = f"{workers} {worker_class} workers" + (
        f" x {threads} threads" if worker_class == "gthread" else ""
    )
    return Server(process, url, log, label)


# -- measuring -----------------------------------------------------------------------------------


def _machine_busy() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _db_backends(database: str) -> list[int]:
    """Return the PostgreSQL backends connected to `database` (by their process titles)."""
    title = f" {database} ".encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            text = cmdline.read_bytes()
            if text.startswith(b"postgres:") and title in text:
                pids.append(int(cmdline.parent.name))
    return pids


class CpuMeter:
    """Add up the CPU time processes use while it runs, sampling so that none is missed.

    Processes are found again at every sample: a database connection that closes and
    reopens during a run (Django's CONN_MAX_AGE) is counted up to its last sample.
    """

    def __init__(self, find_pids, interval_s: float = 0.5):
        self.find_pids = find_pids
        self.interval_s = interval_s
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, *, starting: bool = False) -> None:
        for pid in self.find_pids():
            used = load.cpu_seconds([pid])
            self.first.setdefault(pid, used if starting else 0.0)
            self.last[pid] = max(self.last.get(pid, 0.0), used)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample(starting=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _meter_counts(agent_id: str) -> tuple[int, int, int]:
    """Return (answers, events, sum of answers' source counts) of the agent, in one snapshot."""
    from django.db import connection

    from licensing.models import AnswerRecord, UsageEvent

    answers, events = AnswerRecord._meta.db_table, UsageEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {answers} WHERE agent_id = %s), "
            f"(SELECT count(*) FROM {events} WHERE agent_id = %s), "
            f"(SELECT coalesce(sum(sources_count), 0) FROM {answers} WHERE agent_id = %s)",
            [agent_id] * 3,
        )
        return tuple(cursor.fetchone())


def _settled_counts(agent_id: str) -> tuple[int, int, int]:
    """Wait until answers still in flight when the client stopped are metered; count."""
    counts = _meter_counts(agent_id)
    for _ in range(40):
        time.sleep(0.25)
        again = _meter_counts(agent_id)
        if again == counts:
            return counts
        counts = again
    return counts


@dataclass
class Run:
    label: str
    result: load.LoadResult
    web_cpu_ms: float  # per request, gunicorn workers
    db_cpu_ms: float  # per request, this database's PostgreSQL backends
    machine_busy: float  # share of all cores busy during the run, any process
    expected: int = 200  # the status a request should get
    check: str = ""
    check_ok: bool = True


def measure(
    server: Server,
    label: str,
    path: str,
    *,
    concurrency: int,
    duration_s: float,
    method: str = "GET",
    headers: dict | None = None,
    bodies: list[str] | None = None,
    inspect: bool = False,
    client: str = "auto",
) -> Run:
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    busy0 = _machine_busy()
    with CpuMeter(server.worker_pids) as web, CpuMeter(lambda: _db_backends(database)) as db:
        result = load.run_load(
            server.url + path,
            method=method,
            headers=headers,
            bodies=bodies,
            concurrency=concurrency,
            duration_s=duration_s,
            inspect=inspect,
            client=client,
        )
    busy1 = _machine_busy()
    n = max(1, result.requests)
    return Run(
        label=label,
        result=result,
        web_cpu_ms=web.seconds * 1000 / n,
        db_cpu_ms=db.seconds * 1000 / n,
        machine_busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
    )


def verify_metering(run: Run, agent_id: str, before: tuple[int, int, int]) -> None:
    """Check each answer received was metered once, with one event per source it showed."""
    from django.db import connection

    from licensing.models import AnswerRecord, UsageEvent

    after = _settled_counts(agent_id)
    answers_added, events_added = after[0] - before[0], after[1] - before[1]
    received = run.result.answers
    sources_shown = sum(s for _, s in received)
    ids = [answer_id for answer_id, _ in received]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.request_id, a.sources_count, count(e.id) "
            f"FROM {AnswerRecord._meta.db_table} a "
            f"LEFT JOIN {UsageEvent._meta.db_table} e ON e.answer_id = a.id "
            "WHERE a.request_id = ANY(%s) GROUP BY a.id",
            [ids],
        )
        metered = {r[0]: (r[1], r[2]) for r in cursor.fetchall()}
    missing = sum(1 for answer_id in ids if answer_id not in metered)
    mismatched = sum(1 for i, shown in received if metered.get(i, (shown, shown)) != (shown, shown))
    repeated = len(ids) - len(set(ids))
    in_flight = answers_added - len(received)
    problems = []
    if missing:
        problems.append(f"{missing} answers received but not metered")
    if mismatched:
        problems.append(f"{mismatched} answers metered with other source counts than shown")
    if repeated:
        problems.append(f"{repeated} answer ids received twice")
    if not 0 <= in_flight <= run.result.concurrency:
        problems.append(f"{in_flight} more answers metered than received")
    if after[1] != after[2]:
        problems.append(f"{after[1]} events for {after[2]} sources in all")
    run.check_ok = not problems
    run.check = (
        f"{len(received):,} answers received showing {sources_shown:,} sources; metered "
        f"{answers_added:,} answers with {events_added:,} events"
        + (f" ({in_flight} finished after the client stopped)" if in_flight else "")
        + ("; " + "; ".join(problems) if problems else "; one event per source shown: exact")
    )


def run_backend(
    backend: str,
    env: dict,
    fixture: Fixture,
    bodies: list[str],
    args,
    *,
    concurrencies: list[int],
    floors: bool,
) -> tuple[str, list[Run]]:
    """Start gunicorn on `backend`; warm up; run each concurrency (and the floors); stop."""
    key = {"Authorization": f"Bearer {fixture.raw_key}"}
    headers = {**key, "Content-Type": "application/json"}
    server = start_server(
        {**env, "RETRIEVAL_BACKEND": backend},
        app=args.app,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        log=WORK_DIR / f"gunicorn-{backend}.log",
    )
    answer_load = functools.partial(
        measure, server, path=ANSWERS, method="POST", headers=headers, bodies=bodies,
        client=args.client,
    )  # fmt: skip
    runs = []
    try:
        warm = answer_load("warm-up", concurrency=max(concurrencies), duration_s=args.warmup)
        if warm.result.errors():
            print(f"  warm-up: {warm.result.errors()} errors, statuses {warm.result.statuses}")
        for concurrency in concurrencies:
            before = _settled_counts(fixture.agent_id)
            run = answer_load(
                f"answers ({backend})",
                concurrency=concurrency,
                duration_s=args.duration,
                inspect=True,
            )
            verify_metering(run, fixture.agent_id, before)
            print_run(run)
            runs.append(run)
        for label, _what, path, expected, with_key in FLOORS if floors else ():
            floor_load = functools.partial(
                measure, server, path=path, headers=key if with_key else {}, client=args.client
            )
            floor_load("warm-up", concurrency=max(concurrencies), duration_s=2)
            run = floor_load(
                f"floor: {label}", concurrency=max(concurrencies), duration_s=args.floor_duration
            )
            run.expected = expected
            run.check_ok = run.result.errors(expected) == 0
            print_run(run)
            runs.append(run)
    finally:
        server.stop()
    return server.label, runs


def print_run(run: Run) -> None:
    r = run.result
    print(
        f"  {run.label:30s} c={r.concurrency:<3d} {r.rate:8,.1f}/s  p50 {r.p50_ms:6.2f}  "
        f"p90 {r.p90_ms:6.2f}  p99 {r.p99_ms:6.2f}  max {r.max_ms:7.1f} ms  "
        f"errors {r.errors(run.expected)}  CPU per request: web {run.web_cpu_ms:.2f} ms, "
        f"PostgreSQL {run.db_cpu_ms:.2f} ms; machine {run.machine_busy:.0%} busy"
    )
    if run.check:
        print(f"    metering: {run.check}")


# -- where the time goes -------------------------------------------------------------------------

# (label, object, attribute, part of): each call is timed, in one process. Stages inside
# another are listed under it; the rest of a stage is what its parts do not cover.
RETRIEVAL = "retrieval (search_chunks)"
STAGES = (
    ("API key check (cache GET)", "accounts.services", "authenticate_api_key", None),
    ("rate limit (Redis INCR)", "accounts.services", "hit_rate_limit", None),
    ("entitlements (Redis GET, local cache)", "licensing.services", "get_entitlements", None),
    (RETRIEVAL, "marketplace.services.answers.planning", "search_chunks", None),
    ("collection ids parsed", "catalog.services.retrieval", "_clean_collection_ids", RETRIEVAL),
    ("index lookup", "catalog.retrieval.embedded.EmbeddedIndex", "search", RETRIEVAL),
    ("index lookup", "catalog.retrieval.postgres", "search", RETRIEVAL),
    ("load the hits (one SELECT)", "catalog.services.retrieval", "_hydrate", RETRIEVAL),
    ("relevance filter", "marketplace.services.answers.planning", "relevant_hits", None),
    ("inference (extractive)", "inference_client.InferenceClient", "answer", None),
    ("metering (lock, INSERT, COPY, UPDATE)", "licensing.services", "record_use", None),
    ("receipt (Ed25519 signature)", "marketplace.services.answers.result", "sign_receipt", None),
    ("response body (dicts)", "marketplace.api.answer_views", "answer_body", None),
    ("JSON rendering", "rest_framework.renderers.JSONRenderer", "render", None),
)


def _owner(path: str):
    """Return the module or class a dotted path names."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        with contextlib.suppress(ImportError):
            owner = importlib.import_module(".".join(parts[:cut]))
            for name in parts[cut:]:
                owner = getattr(owner, name)
            return owner
    raise ImportError(path)


def breakdown(fixture: Fixture, requests: list[dict], backend: str, count: int) -> list[tuple]:
    """Answer `count` questions in this process through the test client; time each stage."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from licensing.services.cache import clear_local

    settings.RETRIEVAL_BACKEND = backend
    totals: dict[str, float] = {}
    patched = []
    for label, path, attribute, _parent in STAGES:
        owner = _owner(path)
        original = getattr(owner, attribute)

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_label] = totals.get(_label, 0.0) + time.perf_counter() - started

        patched.append((owner, attribute, original))
        setattr(owner, attribute, functools.wraps(original)(timed))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {fixture.raw_key}")
    clear_local()
    wall = []
    statements = [0]

    def count_statements(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    try:
        for i in range(count + 50):  # the first 50 warm up: index loaded, entitlements cached
            if i == 50:
                totals.clear()
                statements[0] = 0
                connection.execute_wrappers.append(count_statements)
            body = json.dumps(requests[(i * 7) % len(requests)])
            started = time.perf_counter()
            response = client.post(ANSWERS, body, content_type="application/json")
            if i >= 50:
                wall.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
    finally:
        if count_statements in connection.execute_wrappers:
            connection.execute_wrappers.remove(count_statements)
        for owner, attribute, original in patched:
            setattr(owner, attribute, original)
    total = sum(wall)
    parent_of = {label: parent for label, _path, _attribute, parent in STAGES}
    rows = []
    for label in dict.fromkeys(label for label, *_ in STAGES):
        if label not in totals or parent_of[label]:
            continue
        rows.append((label, totals[label]))
        parts = [(p, totals[p]) for p in dict.fromkeys(parent_of) if parent_of[p] == label]
        parts = [(p, seconds) for p, seconds in parts if p in totals]
        if parts:
            rows += [(f"- {p}", seconds) for p, seconds in parts]
            rows.append(("- the rest", totals[label] - sum(seconds for _, seconds in parts)))
    top = sum(seconds for label, seconds in rows if not label.startswith("- "))
    rows.append(("the rest: Django, DRF, validation, planning", total - top))
    rows.append(("total per answer", total))
    ms = [w * 1000 for w in wall]
    return [(label, seconds / count * 1000, seconds / total) for label, seconds in rows] + [
        (
            f"latency p50 {load.percentile(ms, 0.5):.2f} ms, p99 {load.percentile(ms, 0.99):.2f}"
            f" ms; {statements[0] / count:.1f} SQL statements per answer (COPY and the "
            "transaction's BEGIN/COMMIT not counted)",
        )
    ]


def print_breakdown(rows, backend: str, count: int) -> None:
    print(
        f"\nwhere an answer's time goes ({backend}; {count} answers in one process, test client):"
    )
    print("| stage | ms per answer | share |\n|---|---|---|")
    for row in rows:
        if len(row) == 1:
            print(f"\n{row[0]}")
        else:
            print(f"| {row[0]} | {row[1]:.2f} | {row[2]:.0%} |")


# -- the report ----------------------------------------------------------------------------------

TARGET_P50_MS, TARGET_P99_MS, TARGET_RATE = 25, 60, 100


def meets_targets(run: Run) -> bool:
    r = run.result
    return (
        r.p50_ms <= TARGET_P50_MS
        and r.p99_ms <= TARGET_P99_MS
        and r.rate >= TARGET_RATE
        and r.errors() == 0
        and run.check_ok
    )


def print_tables(results: dict) -> None:
    print("\n| backend | gunicorn | concurrency | answers/s | p50 | p90 | p99 | errors "
          "| CPU per answer (web + PostgreSQL) | metering |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    answer_runs = []
    for backend, (label, runs) in results.items():
        for run in runs:
            if run.label.startswith("answers"):
                answer_runs.append(run)
                r = run.result
                print(
                    f"| {backend} | {label} | {r.concurrency} | {r.rate:,.0f} | "
                    f"{r.p50_ms:.1f} ms | {r.p90_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.errors()} | "
                    f"{run.web_cpu_ms:.1f} + {run.db_cpu_ms:.1f} ms | "
                    f"{'exact' if run.check_ok else 'MISMATCH'} |"
                )
    if not answer_runs:
        return
    best = max(answer_runs, key=lambda run: run.result.rate)
    met = [run for run in answer_runs if meets_targets(run)]
    print(
        f"\ntargets (p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms, >= {TARGET_RATE} "
        f"answers/s, no errors, metering exact): met by {len(met)} of {len(answer_runs)} runs; "
        f"best rate {best.result.rate:,.0f} answers/s at c={best.result.concurrency} "
        f"(p50 {best.result.p50_ms:.1f} ms, p99 {best.result.p99_ms:.1f} ms)"
    )
    floors = [run for _, runs in results.values() for run in runs if run.label.startswith("floor")]
    if not floors:
        return
    print(
        f"\n| reference (same server and client) | concurrency | req/s | p50 | p99 "
        f"| CPU per request (web + PostgreSQL) | best answers/s ({best.result.rate:,.0f}) "
        f"as a share |"
    )
    print("|---|---|---|---|---|---|---|")
    whats = {f"floor: {label}": what for label, what, *_ in FLOORS}
    for run in floors:
        r = run.result
        print(
            f"| {whats[run.label]} | {r.concurrency} | {r.rate:,.0f} | {r.p50_ms:.2f} ms | "
            f"{r.p99_ms:.2f} ms | {run.web_cpu_ms:.2f} + {run.db_cpu_ms:.2f} ms | "
            f"{best.result.rate / r.rate:.1%} |"
        )
    print(
        f"\nagainst the issue's figures for this machine (bare DRF about 5,000 req/s, key check "
        f"plus one INSERT about 1,000 req/s): {best.result.rate / 5000:.1%} and "
        f"{best.result.rate / 1000:.1%}"
    )


def print_backend_comparison(results: dict, backends: list[str]) -> None:
    """Print each backend's answers/s as a share of the first one's, at the same concurrency."""
    rates = {
        name: {r.result.concurrency: r.result.rate for r in runs if r.label.startswith("answers")}
        for name, (_, runs) in results.items()
    }
    first, others = backends[0], backends[1:]
    if first not in rates or not others:
        return
    print(f"\n| backend | concurrency | answers/s | {first} answers/s | share of {first} |")
    print("|---|---|---|---|---|")
    for backend in others:
        for concurrency, rate in sorted(rates.get(backend, {}).items()):
            if concurrency in rates[first]:
                base = rates[first][concurrency]
                print(
                    f"| {backend} | {concurrency} | {rate:,.0f} | {base:,.0f} | {rate / base:.1%} |"
                )


def print_holds_comparison(results: dict, backends: list[str]) -> None:
    """Print answers/s with wallet holds on as a share of the same run with them off."""
    print("\n| backend | concurrency | answers/s, holds off | answers/s, holds on | kept |")
    print("|---|---|---|---|---|")
    for backend in backends:
        off = {
            r.result.concurrency: r
            for r in results[f"{backend}, wallet holds off"][1]
            if r.label.startswith("answers")
        }
        for run in results[f"{backend}, wallet holds on"][1]:
            before = off.get(run.result.concurrency)
            if not run.label.startswith("answers") or before is None:
                continue
            kept = run.result.rate / before.result.rate
            print(
                f"| {backend} | {run.result.concurrency} | {before.result.rate:,.0f} | "
                f"{run.result.rate:,.0f} | {kept:.1%} |"
            )


# -- main ----------------------------------------------------------------------------------------


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return "postgres://postgres@127.0.0.1:5432/postgres"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 chunks, 200 agreements, 5 s")
    parser.add_argument(
        "--database-url",
        default=_server_url(),
        help="a PostgreSQL URL (default: DATABASE_URL's server, else 127.0.0.1:5432); the "
        "benchmark creates its own database on that server",
    )
    parser.add_argument(
        "--database-name", default=DATABASE, help=f"the database it makes (default {DATABASE})"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--chunks", type=int, help="default 100,000 (quick: 5,000)")
    parser.add_argument("--agreements", type=int, help="default 1,000 (quick: 200)")
    parser.add_argument("--questions", type=int, help="distinct questions (default 300)")
    parser.add_argument("--backends", default="embedded,postgres", help="comma-separated")
    parser.add_argument(
        "--concurrency",
        help="comma-separated (default 4,8,16); backends after the first run only at the "
        "concurrency with the first one's best rate, unless --sweep-all",
    )
    parser.add_argument("--sweep-all", action="store_true")
    parser.add_argument("--duration", type=float, help="seconds per run (default 30; quick 5)")
    parser.add_argument("--warmup", type=float, help="seconds (default 5; quick 3)")
    parser.add_argument("--floor-duration", type=float, help="seconds (default 10; quick 3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--client", default="auto", choices=("auto", "wrk", "python"))
    parser.add_argument(
        "--app",
        default="config.wsgi:application",
        help="the WSGI application gunicorn serves (to compare a change against the default)",
    )
    parser.add_argument("--no-floors", action="store_true")
    parser.add_argument(
        "--wallet-holds",
        default="on",
        choices=("on", "off", "both"),
        help="hold each answer's worst case against the agent's prepaid wallet (billing); "
        "both: run each backend with holds off, then on, and compare (default on)",
    )
    parser.add_argument(
        "--profile-answers", type=int, help="answers timed in-process per backend (150; 0: none)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the index")
    parser.add_argument("--reuse", action="store_true", help="reuse what a --keep run left")
    args = parser.parse_args()
    args.keep = args.keep or args.reuse
    quick = args.quick
    args.chunks = args.chunks or (5_000 if quick else 100_000)
    args.agreements = args.agreements or (200 if quick else 1_000)
    args.questions = args.questions or (200 if quick else 300)
    args.duration = args.duration or (5 if quick else 30)
    args.warmup = args.warmup or (3 if quick else 5)
    args.floor_duration = args.floor_duration or (3 if quick else 10)
    if args.profile_answers is None:
        args.profile_answers = 50 if quick else 150
    args.concurrency = [int(c) for c in (args.concurrency or "4,8,16").split(",")]
    args.backends = [b for b in args.backends.split(",") if b]
    return args


def prepare(args, env: dict, database_url: str, meta: dict | None) -> Fixture:
    """Migrate and load the data set into the new database (or reuse a kept one)."""
    from django.core.management import call_command
    from django.db import connection

    if meta is None:
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"database {DATABASE} created and migrated in {time.perf_counter() - started:.1f} s")
        seeded = fixture_data.seed(
            total_chunks=args.chunks,
            agreements=args.agreements,
            unlicensed_per_provider=2 if args.quick else 5,
            rng=random.Random(7),
        )
        print(f"embedded BM25 index over every chunk built in {fixture_data.build_index():.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        meta = {
            "database_url": database_url,
            "requested": [args.chunks, args.agreements],
            **seeded,
        }
        if args.keep:
            (WORK_DIR / "fixture.json").write_text(json.dumps(meta))
    else:
        print(f"reusing database {DATABASE} and the index in {WORK_DIR / 'index'}")
    # A prepaid agent: its wallet holds far more than any run spends (holds never refuse).
    from billing import services as billing

    billing.grant_credit(
        organization_id=uuid.UUID(meta["agent_id"]),
        amount_micros=10**15,
        idempotency_key="bench-answers-wallet",
        memo="Benchmark funds",
    )
    return Fixture(
        database_url=database_url,
        **{k: meta[k] for k in ("agent_id", "raw_key", "chunks", "agreements", "collections")},
        offers=meta["offers"],
    )


def main() -> None:
    global DATABASE, WORK_DIR
    args = parse_args()
    if args.database_name != DATABASE:  # its own database and work directory
        DATABASE = args.database_name
        WORK_DIR = WORK_DIR.with_name(f"{WORK_DIR.name}-{DATABASE}")
    corpus.require_corpus()
    require_services(args.database_url, args.redis_url)
    WORK_DIR.mkdir(exist_ok=True)
    meta_path = WORK_DIR / "fixture.json"
    meta = json.loads(meta_path.read_text()) if args.reuse and meta_path.exists() else None
    if meta and meta["requested"] != [args.chunks, args.agreements]:
        meta = None
    if meta is None:
        database_url = create_database(args.database_url, DATABASE)
        shutil.rmtree(WORK_DIR / "index", ignore_errors=True)
        meta_path.unlink(missing_ok=True)
    else:
        database_url = meta["database_url"]
    env = base_env(database_url=database_url, redis_url=args.redis_url)
    setup_django(env)
    print(f"machine: {corpus.machine()}")
    results: dict = {}
    try:
        fixture = prepare(args, env, database_url, meta)
        started = time.perf_counter()
        requests = fixture_data.make_requests(args.questions, fixture.agent_id, random.Random(11))
        usable = fixture_data.answerable(requests, fixture.agent_id, args.backends)
        print(
            f"questions: {len(usable)} of {len(requests)} have licensed answers under "
            f"{' and '.join(args.backends)} (checked in {time.perf_counter() - started:.1f} s), "
            f"e.g. {usable[0]['question']!r}, {usable[1]['question']!r}"
        )
        bodies = [json.dumps(body, separators=(",", ":")) for body in usable]
        client = args.client if args.client != "auto" else ("wrk" if load.wrk_path() else "python")
        if client == "python":
            print("wrk not found (apt-get install -y wrk): the Python client takes more CPU")
        print(
            f"load: {client} on loopback, closed loop; warm-up {args.warmup:.0f} s, then "
            f"{args.duration:.0f} s per run; {fixture.chunks:,} chunks, {fixture.collections:,} "
            f"collections, {fixture.offers:,} offers, {fixture.agreements:,} agreements"
        )
        concurrencies = args.concurrency
        holds = {"on": ["on"], "off": ["off"], "both": ["off", "on"]}[args.wallet_holds]
        for n, backend in enumerate(args.backends):
            for mode in holds:
                name = backend if len(holds) == 1 else f"{backend}, wallet holds {mode}"
                print(f"\n{name}:")
                results[name] = run_backend(
                    backend,
                    {**env, "BILLING_WALLET_HOLDS": "1" if mode == "on" else "0"},
                    fixture,
                    bodies,
                    args,
                    concurrencies=concurrencies,
                    floors=n == 0 and mode == holds[0] and not args.no_floors,
                )
            if n == 0 and not args.sweep_all:
                best = max(
                    (r for r in results[name][1] if r.label.startswith("answers")),
                    key=lambda r: r.result.rate,
                )
                concurrencies = [best.result.concurrency]
        print_tables(results)
        if len(holds) == 1:
            print_backend_comparison(results, args.backends)
        if len(holds) == 2:
            print_holds_comparison(results, args.backends)
        for backend in args.backends if args.profile_answers else ():
            rows = breakdown(fixture, usable, backend, args.profile_answers)
            print_breakdown(rows, backend, args.profile_answers)
    finally:
        if not args.keep:
            from django.core.cache import cache
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url, DATABASE)
            shutil.rmtree(WORK_DIR / "index", ignore_errors=True)
            cache.delete_pattern("*")  # this run's keys only: they carry its own prefix
    failed = [
        run
        for _, runs in results.values()
        for run in runs
        if not run.check_ok or run.result.errors(run.expected)
    ]
    if failed:
        sys.exit(f"{len(failed)} runs had errors or metering mismatches")


if __name__ == "__main__":
    main()
