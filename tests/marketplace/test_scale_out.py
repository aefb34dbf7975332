"""Two web processes and one ingestion worker on one index (docs/scaling.md).

A document uploaded through one web process is ingested and indexed by the worker, and both
web processes find it within seconds without a restart; once deleted through the other web
process, neither returns it. Real processes: gunicorn twice, a Celery worker, PostgreSQL and
Redis, sharing one data directory (the uploads waiting for the worker, and the embedded
index); with PostgreSQL search the index is the database's, and only the uploads are shared.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.marketplace.factories import CollectionFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL")
BIN = Path(sys.executable).parent
WORDS = "marmalade lighthouse keeper logbook"


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(port: int, method: str, path: str, key: str, body=None, content_type=None):
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", content_type or "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _wait(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _search(port: int, key: str, collection_id) -> list[dict]:
    status, hits = _call(
        port,
        "POST",
        "/api/v1/collections/search",
        key,
        {"query": WORDS, "collection_ids": [str(collection_id)], "k": 5},
    )
    assert status == 200, hits
    return hits


@pytest.mark.real_worker
@pytest.mark.skipif(
    connection.vendor != "postgresql" or not REDIS_URL,
    reason="web processes and a worker need PostgreSQL and Redis (DATABASE_URL, REDIS_URL)",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["embedded", "postgres"])
def test_two_web_processes_see_what_one_worker_indexes(make_org, make_key, tmp_path, backend):
    provider, _ = make_org(roles=("provider",))
    key = make_key(provider)
    collection = CollectionFactory(organization=provider)
    queue = f"test-scale-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CACHE_KEY_PREFIX": queue,
        "PROVENANT_DATA_DIR": str(tmp_path / "shared"),
        "RETRIEVAL_BACKEND": backend,
        "RETRIEVAL_RELOAD_INTERVAL_S": "0.5",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    ports = [_free_port(), _free_port()]
    commands = [
        [
            *(str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "1", "--timeout", "60", "--access-logfile", "/dev/null"),
        ]
        for port in ports
    ]
    commands.append(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue),
            *("--pool=solo", "--loglevel=WARNING", "-n", f"{queue}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
    )
    logs = [tmp_path / f"process-{n}.log" for n in range(len(commands))]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=output,
                        stderr=output,
                        start_new_session=True,
                    )
                )
        for port in ports:
            _wait(lambda port=port: _healthy(port), 60, f"the web process on {port}")

        first, second = ports
        assert _search(first, key, collection.id) == []
        body, content_type = _multipart(
            "log.txt", f"The {WORDS} wrote every night.\n\nA second paragraph.".encode()
        )
        status, job = _call(
            first, "POST", f"/api/v1/collections/{collection.id}/uploads", key, body, content_type
        )
        assert status == 202, job

        uploaded = time.monotonic()
        hits = {
            port: _wait(lambda port=port: _search(port, key, collection.id), 30, f"{port}")
            for port in ports
        }
        seen_after_s = time.monotonic() - uploaded
        assert hits[first] == hits[second]
        assert WORDS in hits[first][0]["text"]
        assert seen_after_s < 30

        document_id = hits[first][0]["document_id"]
        status, _ = _call(second, "DELETE", f"/api/v1/documents/{document_id}", key)
        assert status == 204
        for port in ports:  # at once: the index may still hold it, the database no longer does
            assert _search(port, key, collection.id) == []
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    errors = [log.read_text() for log in logs if "Traceback" in log.read_text()]
    assert not errors, errors[0]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
