"""Benchmark the memory an upload costs: the web process serving the largest allowed request,
and the process that then ingests it.

Run: .venv/bin/python bench/bench_upload_memory.py [--max-items N] [--limit-mb 256]

A real gunicorn worker (one sync worker, SQLite in a fresh data directory, DEBUG off) receives
one multipart request as large as INGESTION_MAX_REQUEST_BYTES allows: a 20 MB CSV of a million
rows, a 20 MB JSONL file, a 20 MB text file, a 19 MB HTML page, a PDF page bomb (one content
stream drawn by 5,000 pages) and small text files up to the file count limit. The request is
streamed from disk by httpx. The broker is left unconsumed, so the request does only what a
web process does with a broker; the job then runs in a child process, as a worker (or the
web process's background thread, without a broker) runs it. Peak resident memory comes from
/proc (VmHWM) for the web worker and from getrusage for the ingesting process; each must stay
under --limit-mb (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MB = 1024 * 1024

SETUP = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from accounts import services
from accounts.models import Membership, Organization
from catalog.models import Collection
org = Organization.objects.create(name="Bench", slug="bench", is_provider=True)
user = get_user_model().objects.create_user(email="bench@example.org")
Membership.objects.create(organization=org, user=user, role="owner")
key = services.create_api_key(
    actor=services.actor_for_user(user_id=user.pk), organization_id=org.id, name="bench",
    scopes=["catalog"],
)
collection = Collection.objects.create(organization=org, name="Uploads")
print(json.dumps({"key": key.secret, "collection": str(collection.id)}))
"""

INGEST = """
import json, resource, sys, time, django
django.setup()
from catalog import services
from catalog.services import retrieval
retrieval.search_chunks(query="warm up", collection_ids=[])
base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
info = services.run_ingestion_job(job_id=sys.argv[1])
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
p = info.progress
print(json.dumps({
    "status": info.status, "total": p.total, "created": p.created, "failed": p.failed,
    "expanded": p.expanded, "errors": sorted({e.code for e in info.errors}),
    "seconds": time.perf_counter() - started, "peak_mb": peak_kb / 1024,
    "base_mb": base_kb / 1024,
}))
"""


def _write_files(directory: Path, count_small: int) -> list[Path]:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    files = []
    csv_path = directory / "million.csv"
    with csv_path.open("w") as out:
        out.write("id,text\n")
        for n in range(1_000_000):
            out.write(f"r{n:06d},Tide {n:06d}\n")  # 20 bytes a row
    files.append(csv_path)
    jsonl_path = directory / "records.jsonl"
    with jsonl_path.open("w") as out:
        line = 0
        while out.tell() < 20 * MB - 200:
            out.write(json.dumps({"id": f"j{line}", "text": f"Moons and tides {line}."}) + "\n")
            line += 1
    files.append(jsonl_path)
    text_path = directory / "long.txt"
    sentence = "The tide comes in twice a day and goes out twice a day.\n"
    text_path.write_text(sentence * (20 * MB // len(sentence) - 10))
    files.append(text_path)
    html_path = directory / "long.html"
    paragraph = "<p>Glaciers carve valleys slowly, a few metres a year, over ages.</p>\n"
    html_path.write_text(
        "<html><head><title>Long</title></head><body><article>"
        + paragraph * (19 * MB // len(paragraph))
        + "</article></body></html>"
    )
    files.append(html_path)
    writer = PdfWriter()
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td " + b"(Glaciers carve valleys) Tj T* " * 200 + b"ET")
    content = writer._add_object(stream)
    for _ in range(5_000):
        writer.add_blank_page(width=612, height=792)[NameObject("/Contents")] = content
    pdf_path = directory / "bomb.pdf"
    with pdf_path.open("wb") as out:
        writer.write(out)
    files.append(pdf_path)
    for n in range(count_small):
        small = directory / f"note-{n:03d}.txt"
        small.write_text(f"Note {n}\n\nA short note about the sea, number {n}.")
        files.append(small)
    return files


def _vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found for {pid}")


def _worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-items", type=int, default=2_000, help="the job's item cap")
    parser.add_argument("--limit-mb", type=float, default=256, help="the memory target")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="provenant-bench-upload-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROVENANT_DATA_DIR": str(tmp / "data"),
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",  # a broker nobody consumes: the request alone
        "INGESTION_MAX_ITEMS_PER_JOB": str(args.max_items),
        "RETRIEVAL_INDEX_DIR": str(tmp / "index"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)

    def run(*command: str) -> str:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{command[:3]} failed:\n{done.stderr}")
        return done.stdout

    run(PYTHON, "manage.py", "migrate", "-v", "0")
    fixture = json.loads(run(PYTHON, "-c", SETUP))
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    limit_files = settings.INGESTION_MAX_FILES_PER_UPLOAD
    files = _write_files(tmp, count_small=limit_files - 5)
    size = sum(f.stat().st_size for f in files)
    cap = settings.INGESTION_MAX_REQUEST_BYTES / MB
    print(f"request: {len(files)} files, {size / MB:.1f} MiB (limit {cap:.0f} MiB)")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            *(PYTHON, "-m", "gunicorn", "config.wsgi", "--workers", "1", "--timeout", "300"),
            *("--log-level", "warning", "--bind", f"127.0.0.1:{port}"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        worker = _worker_pid(server.pid)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {fixture['key']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            for _ in range(100):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.get(f"/api/v1/collections/{fixture['collection']}/documents")  # warm up
            before = _vm(worker, "VmRSS")
            handles = [f.open("rb") for f in files]
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/collections/{fixture['collection']}/uploads",
                files=[("files", (f.name, h)) for f, h in zip(files, handles, strict=True)],
            )
            elapsed = time.perf_counter() - started
            for h in handles:
                h.close()
        peak = _vm(worker, "VmHWM")
    finally:
        server.terminate()
        server.wait()
    body = response.json()
    outcome = body.get("status") or body.get("code")
    print(f"web: HTTP {response.status_code} ({outcome}) in {elapsed:.1f} s")
    print(f"web worker: {before:.0f} MiB before, peak {peak:.0f} MiB (+{peak - before:.0f} MiB)")
    worker_run = json.loads(run(PYTHON, "-c", INGEST, body["id"]))
    print(
        f"ingesting (cap {args.max_items} items): {worker_run['status']}, "
        f"{worker_run['created']} created, {worker_run['failed']} failed "
        f"({', '.join(worker_run['errors'])}), {worker_run['expanded']} expanded, "
        f"in {worker_run['seconds']:.1f} s; {worker_run['base_mb']:.0f} MiB after start-up, "
        f"peak {worker_run['peak_mb']:.0f} MiB"
    )
    ok = response.status_code == 202 and max(peak, worker_run["peak_mb"]) < args.limit_mb
    print("within the target" if ok else f"OVER the {args.limit_mb:.0f} MiB target")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
