"""Benchmark catalog ingestion end to end: upload -> job -> extract -> chunk -> store -> index.

Run: .venv/bin/python bench/bench_ingestion.py [--quick] [--workers N] [--database-url URL]
                                                [--without-duplicates] [--without-index]
                                                [--repeat N]
                                                [--kinds text,html]
                                                [--text-corpus articles|copies|distinct]

Corpus: Debian's python3.11-doc (apt-get install -y python3.11-doc). Plain text is, by default,
the reStructuredText sources cut or joined at paragraph ends into ~530 distinct articles of
~20 KiB; HTML is the rendered pages, extracted with trafilatura. Each worker process runs its
own ingestion jobs of 100 files (the API's batch limit), like a Celery worker would.

`--text-corpus copies` ingests each source 4 times with a distinct first line instead (the
corpus of the figures before the articles: most passages held out as repeats, so less to
index); `--text-corpus distinct` (or `--distinct`) ingests each source once.

`--without-duplicates` runs the same pipeline with duplicate detection replaced by no-ops (no
signing, judging or signatures stored; nothing held out): what detection costs is the
difference. `--without-index` replaces the search index by marking documents ready: what the
rest of the pipeline costs. `--repeat N` runs each measurement N times on fresh collections
(each deleted after its run, so every run starts from the same catalog) and prints every rate
and their median (the machine is shared: single runs spread by about 20%).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from contextlib import nullcontext

import _catalog_corpus as corpus


def _files(kind: str, quick: bool, text_corpus: str = "articles") -> list[tuple[str, bytes]]:
    if kind == "text" and text_corpus == "articles":
        return corpus.text_articles()[: 200 if quick else None]
    if kind == "text" and text_corpus == "distinct":  # every source once
        count = 200 if quick else None
        return [
            (str(path.relative_to(corpus.CORPUS)), path.read_bytes())
            for path in corpus.text_sources()[:count]
        ]
    if kind == "text":
        sources = corpus.text_sources()[: 100 if quick else None]
        copies = 2 if quick else 4
        return [
            (
                f"copy{copy}/{path.relative_to(corpus.CORPUS)}",
                f"Copy {copy}\n\n".encode() + path.read_bytes(),
            )
            for copy in range(copies)
            for path in sources
        ]
    pages = corpus.html_pages()[: 60 if quick else None]
    return [(str(p.relative_to(corpus.CORPUS)), p.read_bytes()) for p in pages]


def _ingest(collection_id, files: list[tuple[str, bytes]]) -> tuple[int, int, float]:
    """Ingest the files in jobs of 100; return documents done, failed, and the CPU seconds."""
    from django.db import connections

    from catalog import services

    cpu = time.process_time()
    created = failed = 0
    for start in range(0, len(files), 100):
        batch = [
            services.UploadedFile.from_bytes(name=name, content=content)
            for name, content in files[start : start + 100]
        ]
        job = services.create_upload_job(collection_id=collection_id, files=batch, enqueue=False)
        info = services.run_ingestion_job(job_id=job.id)
        created += info.progress.created + info.progress.updated + info.progress.unchanged
        failed += info.progress.failed
    connections.close_all()
    return created, failed, time.process_time() - cpu


class _NoJudgement:
    def passage_state(self, ordinal: int) -> tuple[bool, None]:
        return False, None

    def fits(self, document) -> bool:
        return True


def _without_duplicates() -> None:
    """Replace duplicate detection in ingestion by no-ops (before the workers fork)."""
    from catalog.services.ingestion import batches, items, runner

    class Disabled:
        @staticmethod
        def judge_version(**kwargs) -> _NoJudgement:
            return _NoJudgement()

        @staticmethod
        def record_version(**kwargs) -> None:
            return None

        @staticmethod
        def sign_documents(**kwargs) -> int:
            return 0

        @staticmethod
        def dependents_of(**kwargs) -> list[int]:
            return []

        recording = staticmethod(nullcontext)
        deferred_signatures = staticmethod(nullcontext)

    items.duplicates = runner.duplicates = batches.duplicates = Disabled  # type: ignore[assignment]


def _without_index() -> None:
    """Replace the search index in ingestion by marking documents ready (before the workers
    fork): what the rest of the pipeline costs, the index apart."""
    from catalog.models import Document
    from catalog.services.ingestion import runner

    class Unindexed:
        @staticmethod
        def index_pending_documents() -> int:
            return Document.objects.filter(status=Document.Status.PENDING).update(
                status=Document.Status.READY
            )

        @staticmethod
        def forget_chunks(*, chunk_ids) -> None:
            return None

    runner.retrieval = Unindexed  # type: ignore[assignment]


def _worker(args) -> tuple[int, int, float]:
    from core.runtime import settle_heap

    settle_heap()  # as a Celery worker process does once it starts (config/celery.py)
    collection_id, files = args
    return _ingest(collection_id, files)


def run(kind: str, files, workers: int, collection_id) -> tuple[float, int, int, float]:
    """Return the wall seconds, documents done and failed, and the workers' CPU seconds."""
    from django.db import connections

    connections.close_all()  # children open their own connections
    parts = [files[i::workers] for i in range(workers)]
    started = time.perf_counter()
    if workers == 1:
        from core.runtime import settle_heap

        settle_heap()
        results = [_ingest(collection_id, files)]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_worker, [(collection_id, part) for part in parts])
    elapsed = time.perf_counter() - started
    return (
        elapsed,
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        sum(r[2] for r in results),
    )


def _delete(organization_id, collection_id) -> None:
    """Delete a collection as its provider would (its chunks leave the index)."""
    import uuid

    from accounts import services as accounts
    from catalog import services

    actor = accounts.actor_for_api_key(
        api_key_id=uuid.uuid4(), organization_id=organization_id, scopes=["catalog"]
    )
    services.delete_collection(actor=actor, collection_id=collection_id)
    services.sign_documents()  # over the whole catalog: drops the band keys of deleted texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--without-duplicates", action="store_true", help="duplicate detection off (a baseline)"
    )
    parser.add_argument(
        "--without-index", action="store_true", help="no search index (the rest's cost)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement")
    parser.add_argument("--kinds", default="text,html", help="text, html or both (default)")
    parser.add_argument(
        "--text-corpus",
        choices=("articles", "copies", "distinct"),
        default="articles",
        help="plain text: distinct ~20 KiB articles (default), each source 4 times, or each once",
    )
    parser.add_argument(
        "--distinct", action="store_true", help="the same as --text-corpus distinct"
    )
    args = parser.parse_args()
    corpus.require_corpus()
    # As a deployed worker runs: with DEBUG on, Django keeps and formats every query's SQL.
    os.environ.setdefault("DEBUG", "0")
    data_dir = corpus.setup_django(database_url=args.database_url)
    if args.without_duplicates:
        _without_duplicates()
    if args.without_index:
        _without_index()

    from django.db import connection

    from accounts.models import Organization
    from catalog.models import Chunk, Collection, Document
    from catalog.services import search_backend

    Document.objects.all().delete()
    org = Organization.objects.create(
        name="Bench", slug=f"bench-{time.time_ns()}", is_provider=True
    )
    print(f"machine: {corpus.machine()}")
    print(
        f"database: {connection.vendor}; search backend: {search_backend()}; data dir: {data_dir}"
        + ("; duplicate detection OFF" if args.without_duplicates else "")
        + ("; search index OFF (documents only marked ready)" if args.without_index else "")
        + f"; DEBUG {os.environ['DEBUG']}"
    )
    for kind in args.kinds.split(","):
        files = _files(kind, args.quick, "distinct" if args.distinct else args.text_corpus)
        megabytes = sum(len(c) for _, c in files) / 2**20
        rates, unchanged, cpus = [], [], []
        for _ in range(args.repeat):
            collection = Collection.objects.create(
                organization=org, name=f"{kind}-{time.time_ns()}"
            )
            elapsed, ok, failed, cpu = run(kind, files, args.workers, collection.id)
            # End to end: every document searchable when the workers are done.
            pending = Document.objects.filter(
                collection=collection, status=Document.Status.PENDING
            ).count()
            assert not pending, f"{pending} documents not indexed when the workers finished"
            rates.append(ok / elapsed)
            cpus.append(cpu / max(ok, 1) * 1000)
            chunks = Chunk.objects.filter(collection=collection).count()
            held = Chunk.objects.filter(collection=collection, held_out=True).count()
            print(
                f"{kind:5s}: {ok} documents ({failed} failed, {megabytes:.1f} MiB, {chunks} "
                f"chunks, {held} held out as repeats) in {elapsed:.2f} s with {args.workers} "
                f"worker(s) = {ok / elapsed:.0f} documents/s; workers' CPU "
                f"{cpus[-1]:.2f} ms a document"
            )
            # Re-ingesting identical content is a no-op: measure how fast it is recognised.
            elapsed, ok, _, _ = run(kind, files, args.workers, collection.id)
            unchanged.append(ok / elapsed)
            print(
                f"{kind:5s}: re-ingesting the same {ok} documents (unchanged): "
                f"{ok / elapsed:.0f} documents/s"
            )
            # The next run starts from the same catalog: else each run would judge its texts
            # against every earlier run's copies of them.
            _delete(org.id, collection.id)
        if args.repeat > 1:
            print(
                f"{kind:5s}: median of {args.repeat} runs {statistics.median(rates):.0f} "
                f"documents/s (runs: {', '.join(f'{r:.0f}' for r in rates)}); CPU "
                f"{statistics.median(cpus):.2f} ms a document; unchanged "
                f"{statistics.median(unchanged):.0f}"
            )


if __name__ == "__main__":
    main()
