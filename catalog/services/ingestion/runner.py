"""Running a job: each pending item through its processor, the documents read stored a batch at
a time, then indexing what changed."""

import functools
import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db.models import Count, Q
from django.utils import timezone

from catalog.ingestion import extract as extraction
from catalog.ingestion.fetch import FetchRefused
from catalog.ingestion.sources import SourceUnreadable
from catalog.models import IngestionItem as Item
from catalog.models import IngestionJob
from catalog.services import duplicates, retrieval
from catalog.services.ingestion.batches import store_documents
from catalog.services.ingestion.crawling import _process_feed, _process_page, _process_sitemap
from catalog.services.ingestion.files import _discard_stored, _process_file, _process_record
from catalog.services.ingestion.items import Prepared, _Failed
from catalog.services.ingestion.status import IngestionJobInfo, IngestionProgress, _job_info

logger = logging.getLogger("provenant.ingestion")


DONE_STATUSES = (Item.Status.CREATED, Item.Status.UPDATED, Item.Status.UNCHANGED)


PROCESSORS: dict[str, Callable[[IngestionJob, Item], Prepared | None]] = {
    Item.Kind.FILE: _process_file,
    Item.Kind.RECORD: _process_record,
    Item.Kind.PAGE: _process_page,
    Item.Kind.SITEMAP: _process_sitemap,
    Item.Kind.FEED: _process_feed,
}

# The text a batch holds in memory before its documents are stored: past it they are stored
# while the batch goes on (a batch of 200 articles of 20 KiB holds 4 MB).
BATCH_TEXT_CHARS = 16_000_000

T = TypeVar("T")


def _fail(item: Item, code: str, message: str) -> None:
    Item.objects.filter(id=item.id).update(
        status=Item.Status.FAILED,
        error_code=code[:50],
        error_message=message,
        attempts=item.attempts + 1,
        updated_at=timezone.now(),
    )


def _attempt(
    job: IngestionJob, item: Item, work: Callable[[], T], *, final_attempt: bool
) -> T | None:
    """Run a step of one item; if it fails, fail the item (or leave it pending to be tried
    again later, for a transient error before the final attempt) and return None."""
    try:
        return work()
    except FetchRefused as exc:
        if exc.transient and not final_attempt:
            Item.objects.filter(id=item.id).update(attempts=item.attempts + 1)
            return None
        _fail(item, exc.code, exc.message)
    except (extraction.ExtractionFailed, SourceUnreadable, _Failed) as exc:
        _fail(item, exc.code, exc.message)
    except Exception:
        logger.exception("Ingestion of item %s of job %s failed", item.id, job.id)
        _fail(
            item,
            "internal_error",
            "This item could not be ingested because of an error on our side.",
        )
    return None


def _store_ready(job: IngestionJob, ready: list[Prepared], *, final_attempt: bool) -> list[int]:
    """Store the documents read so far; return the ids of chunks they replaced."""
    replaced, stored = store_documents(
        job,
        ready,
        lambda item, work: _attempt(job, item, work, final_attempt=final_attempt),
    )
    _discard_stored(job, stored)
    ready.clear()
    return replaced


def _finish_status(job: IngestionJob) -> str:
    counts = dict(job.items.values_list("status").annotate(n=Count("id")).order_by())
    if counts.get(Item.Status.PENDING):
        return IngestionJob.Status.RUNNING
    failed = counts.get(Item.Status.FAILED, 0)
    ok = sum(counts.get(s, 0) for s in DONE_STATUSES)
    if not failed:
        return IngestionJob.Status.SUCCEEDED
    return IngestionJob.Status.PARTIAL if ok else IngestionJob.Status.FAILED


def run_ingestion_job(
    *,
    job_id: uuid.UUID | str,
    final_attempt: bool = True,
    on_progress: Callable[[IngestionProgress], None] | None = None,
    batch_size: int = 200,
) -> IngestionJobInfo | None:
    """Process a job's pending items, index what changed, and record the outcome.

    Items that hit a transient error stay pending unless this is the final attempt; the
    caller retries the job later. Returns None if the job no longer exists.
    """
    job = IngestionJob.objects.filter(id=job_id).first()
    if job is None:
        return None
    if job.started_at is None:
        job.started_at = timezone.now()
    job.status = IngestionJob.Status.RUNNING
    job.save(update_fields=["status", "started_at"])
    # Versions a run stopped before their batch's signatures were stored (rarely any).
    duplicates.sign_documents(collection_id=job.collection_id)
    last = -1
    while True:
        batch = list(
            job.items.filter(status=Item.Status.PENDING, ordinal__gt=last)
            .defer("payload")
            .annotate(has_payload=Q(payload__isnull=False))
            .order_by("ordinal")[:batch_size]
        )
        if not batch:
            break
        replaced: list[int] = []
        ready: list[Prepared] = []  # documents read, stored together
        held_chars = 0
        for item in batch:
            last = item.ordinal
            work = functools.partial(PROCESSORS[item.kind], job, item)
            prepared = _attempt(job, item, work, final_attempt=final_attempt)
            if prepared is not None:
                ready.append(prepared)
                held_chars += len(prepared.fields["text"])
                if held_chars >= BATCH_TEXT_CHARS:
                    replaced += _store_ready(job, ready, final_attempt=final_attempt)
                    held_chars = 0
        replaced += _store_ready(job, ready, final_attempt=final_attempt)
        retrieval.forget_chunks(chunk_ids=replaced)
        retrieval.index_pending_documents()
        if on_progress is not None:
            on_progress(_job_info(job).progress)
    job.status = _finish_status(job)
    job.finished_at = None if job.status == IngestionJob.Status.RUNNING else timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return _job_info(job)
