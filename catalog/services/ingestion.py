"""Ingestion use cases: accept uploads and URLs as jobs, and run a job's items through fetch,
extract, chunk and index, recording each item's outcome.

A job is safe to run again: items already done are skipped, identical content is a no-op,
changed content becomes a new version of its document whose chunks replace the old ones.
One bad item never fails the batch; it is recorded with a code and a message.

Memory stays bounded whatever is sent: uploaded files are streamed to the ingestion storage
(never read whole in the web process), record files are read line by line and stop at the
job's item cap, PDFs are refused past a page and character limit, sitemaps are followed to a
limited depth and a URL is fetched at most once per job. Without a broker, jobs run in one
background thread of the web process, so a request never waits for a job.
"""

import io
import itertools
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.services import Actor
from catalog import errors
from catalog.ingestion import extract as extraction
from catalog.ingestion.chunking import split_into_chunks
from catalog.ingestion.fetch import FetchPolicy, FetchRefused, fetch, vet_url
from catalog.ingestion.sources import (
    SourceUnreadable,
    html_fragment_text,
    parse_feed,
    parse_sitemap,
)
from catalog.models import Chunk, Document, IngestionItem, IngestionJob
from catalog.services import retrieval
from catalog.services.collections import load_collection, visible_collections

logger = logging.getLogger("provenant.ingestion")

Item = IngestionItem
DOCUMENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/pdf",
)
SITEMAP_TYPES = ("application/xml", "text/xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", *SITEMAP_TYPES)
URL_KINDS = {
    IngestionJob.Kind.URL: Item.Kind.PAGE,
    IngestionJob.Kind.SITEMAP: Item.Kind.SITEMAP,
    IngestionJob.Kind.FEED: Item.Kind.FEED,
}
DONE_STATUSES = (Item.Status.CREATED, Item.Status.UPDATED, Item.Status.UNCHANGED)
MAX_ERRORS_SHOWN = 100
EXPAND_BATCH = 500


class UnsupportedMediaType(errors.DomainError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(errors.DomainError):
    status = 413
    code = "file_too_large"


@dataclass(frozen=True)
class UploadedFile:
    """A file to ingest; `open` (a binary file) is called only after the size has been checked.

    A Django upload that was streamed to a temporary file is moved into storage, not copied.
    """

    name: str
    content_type: str
    size: int
    open: Callable[[], IO[bytes]]

    @classmethod
    def from_bytes(cls, *, name: str, content: bytes, content_type: str = "") -> "UploadedFile":
        return cls(
            name=name,
            content_type=content_type,
            size=len(content),
            open=lambda: io.BytesIO(content),
        )

    @classmethod
    def from_path(cls, path: Path, *, name: str = "") -> "UploadedFile":
        return cls(
            name=name or path.name,
            content_type="",
            size=path.stat().st_size,
            open=lambda: path.open("rb"),
        )


@dataclass(frozen=True)
class IngestionError:
    ordinal: int
    name: str
    code: str
    message: str


@dataclass(frozen=True)
class IngestionProgress:
    """Counts of a job's items. `total` counts every item found so far, including the pages,
    sitemaps and records found by expanding a sitemap, feed or record file (`expanded`)."""

    total: int
    done: int
    pending: int
    created: int
    updated: int
    unchanged: int
    failed: int
    expanded: int


@dataclass(frozen=True)
class IngestionJobInfo:
    id: uuid.UUID
    collection_id: uuid.UUID
    kind: str
    source: str
    status: str
    progress: IngestionProgress
    errors: tuple[IngestionError, ...]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# -- reading jobs -----------------------------------------------------------------------------


def _job_info(job: IngestionJob) -> IngestionJobInfo:
    counts = dict(job.items.values_list("status").annotate(n=Count("id")).order_by())
    created, updated, unchanged, failed, pending, expanded = (
        counts.get(status, 0)
        for status in (
            Item.Status.CREATED,
            Item.Status.UPDATED,
            Item.Status.UNCHANGED,
            Item.Status.FAILED,
            Item.Status.PENDING,
            Item.Status.EXPANDED,
        )
    )
    done = created + updated + unchanged + failed + expanded
    failures = job.items.filter(status=Item.Status.FAILED).order_by("ordinal")[:MAX_ERRORS_SHOWN]
    return IngestionJobInfo(
        id=job.id,
        collection_id=job.collection_id,
        kind=job.kind,
        source=job.source,
        status=job.status,
        progress=IngestionProgress(
            total=done + pending,
            done=done,
            pending=pending,
            created=created,
            updated=updated,
            unchanged=unchanged,
            failed=failed,
            expanded=expanded,
        ),
        errors=tuple(
            IngestionError(i.ordinal, i.name, i.error_code, i.error_message)
            for i in failures.only("ordinal", "name", "error_code", "error_message")
        ),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _load_job(actor: Actor, job_id) -> IngestionJob:
    try:
        return IngestionJob.objects.filter(collection__in=visible_collections(actor)).get(id=job_id)
    except (IngestionJob.DoesNotExist, DjangoValidationError, ValueError) as exc:
        raise errors.NotFound("Ingestion job not found.") from exc


def get_ingestion_job(*, actor: Actor, job_id) -> IngestionJobInfo:
    """Return a job's status, progress and per-item errors."""
    return _job_info(_load_job(actor, job_id))


def list_ingestion_jobs(*, actor: Actor, collection_id, limit: int = 20) -> list[IngestionJobInfo]:
    """Return a collection's most recent jobs."""
    collection = load_collection(actor, collection_id)
    jobs = IngestionJob.objects.filter(collection=collection).order_by("-created_at")[:limit]
    return [_job_info(job) for job in jobs]


# -- starting jobs ----------------------------------------------------------------------------


class _JobThread:
    """Run jobs one after another in one daemon thread of this process (used without a broker).

    Progress is visible through the job as it runs; a job cut short by a restart keeps its
    pending items and runs again on retry.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job_id) -> None:
        self._jobs.put(job_id)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="provenant-ingestion", daemon=True
                )
                self._thread.start()

    def join(self) -> None:
        """Wait until every job submitted so far has run."""
        self._jobs.join()

    def _work(self) -> None:
        while True:
            job_id = self._jobs.get()
            try:
                run_ingestion_job(job_id=job_id)
            except Exception:
                logger.exception("Ingestion job %s failed in the background thread", job_id)
            finally:
                connections.close_all()
                self._jobs.task_done()


background_jobs = _JobThread()


def _dispatch(job_id) -> None:
    from catalog import tasks

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.INGESTION_WITHOUT_BROKER == "thread":
        background_jobs.submit(str(job_id))
    else:
        tasks.run_ingestion_job.delay(str(job_id))


def _enqueue(job_id) -> None:
    transaction.on_commit(lambda: _dispatch(job_id))


def ingestion_storage() -> Storage:
    """Return the storage where uploaded files wait for the worker (INGESTION_STORAGE)."""
    return storages.create_storage(settings.INGESTION_STORAGE)


def _upload_name(job_id, ordinal: int) -> str:
    return f"{job_id}-{ordinal}"


def _store_upload(storage: Storage, name: str, upload: UploadedFile) -> None:
    with upload.open() as stream:
        saved = storage.save(name, stream)
    if saved != name:
        raise RuntimeError(f"The ingestion storage renamed {name} to {saved}.")


def _discard_uploads(storage: Storage, job_id, ordinals: Iterable[int]) -> None:
    for ordinal in ordinals:
        storage.delete(_upload_name(job_id, ordinal))


def _check_files(files: list[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    if not files:
        raise errors.ValidationFailed(
            "Upload at least one file.", code="no_files", details={"files": ["No file was sent."]}
        )
    limit = settings.INGESTION_MAX_FILES_PER_UPLOAD
    if len(files) > limit:
        raise errors.ValidationFailed(
            f"Upload at most {limit} files at once.",
            code="too_many_files",
            details={"files": [f"At most {limit} files."]},
        )
    checked = []
    max_bytes = settings.INGESTION_MAX_UPLOAD_BYTES
    for upload in files:
        fmt = extraction.detect_format(name=upload.name, content_type=upload.content_type)
        if fmt is None:
            raise UnsupportedMediaType(
                f"{upload.name}: unsupported file type. Upload txt, md, html, pdf, jsonl or csv.",
                details={"files": [f"{upload.name}: unsupported file type."]},
            )
        if upload.size > max_bytes:
            raise PayloadTooLarge(
                f"{upload.name} is {upload.size} bytes; the limit is {max_bytes}.",
                details={"files": [f"{upload.name}: larger than {max_bytes} bytes."]},
            )
        checked.append((upload, fmt))
    return checked


def discard_uploads_on_commit(*, collection_id) -> None:
    """Once the transaction commits, delete the stored files of a collection's unfinished
    uploads (pending or failed); call before deleting the collection."""
    names = [
        _upload_name(job_id, ordinal)
        for job_id, ordinal in Item.objects.filter(
            job__collection_id=collection_id,
            kind=Item.Kind.FILE,
            status__in=(Item.Status.PENDING, Item.Status.FAILED),
        ).values_list("job_id", "ordinal")
    ]
    if names:
        transaction.on_commit(lambda: [ingestion_storage().delete(name) for name in names])


def create_upload_job(
    *, collection_id, files: list[UploadedFile], created_by_id=None, enqueue: bool = True
) -> IngestionJobInfo:
    """Record uploaded files as a job and queue it unless the caller runs it (no actor check).

    Each file is streamed to the ingestion storage; none is read into memory here.
    """
    checked = _check_files(files)
    job_id = uuid.uuid4()
    storage = ingestion_storage()
    try:
        for ordinal, (upload, _) in enumerate(checked):
            _store_upload(storage, _upload_name(job_id, ordinal), upload)
        with transaction.atomic():
            job = IngestionJob.objects.create(
                id=job_id,
                collection_id=collection_id,
                kind=IngestionJob.Kind.UPLOAD,
                source=", ".join(f.name for f in files)[:2048],
                created_by_id=created_by_id,
            )
            Item.objects.bulk_create(
                Item(
                    job=job,
                    ordinal=ordinal,
                    kind=Item.Kind.FILE,
                    name=upload.name[:2048],
                    content_type=extraction.MEDIA_TYPES[fmt],
                )
                for ordinal, (upload, fmt) in enumerate(checked)
            )
    except BaseException:
        _discard_uploads(storage, job_id, range(len(checked)))
        raise
    if enqueue:
        _enqueue(job_id)
    return _job_info(IngestionJob.objects.get(id=job_id))


def start_upload_ingestion(
    *, actor: Actor, collection_id, files: list[UploadedFile]
) -> IngestionJobInfo:
    """Accept a batch of files into one of the actor's collections; ingestion runs as a job."""
    collection = load_collection(actor, collection_id)
    return create_upload_job(collection_id=collection.id, files=files, created_by_id=actor.user_id)


def fetch_policy(kind: str) -> FetchPolicy:
    """Return the fetch rules for a page, a sitemap or a feed, from settings."""
    types = {Item.Kind.SITEMAP: SITEMAP_TYPES, Item.Kind.FEED: FEED_TYPES}.get(kind, DOCUMENT_TYPES)
    return FetchPolicy(
        max_bytes=settings.INGESTION_FETCH_MAX_BYTES,
        timeout_s=settings.INGESTION_FETCH_TIMEOUT_S,
        max_redirects=settings.INGESTION_FETCH_MAX_REDIRECTS,
        allowed_content_types=types,
        allowed_private_networks=tuple(settings.INGESTION_ALLOWED_PRIVATE_NETWORKS),
    )


def create_url_job(
    *, collection_id, url: str, kind: str, created_by_id=None, enqueue: bool = True
) -> IngestionJobInfo:
    """Vet a URL now (a clear 400 if refused) and queue a job that fetches it."""
    if kind not in URL_KINDS:
        raise errors.ValidationFailed(
            f"Unknown source kind {kind!r}.",
            details={"kind": [f"Choose from {', '.join(URL_KINDS)}."]},
        )
    url = (url or "").strip()
    item_kind = URL_KINDS[kind]
    try:
        vet_url(url, fetch_policy(item_kind))
    except FetchRefused as exc:
        raise errors.ValidationFailed(
            exc.message, code=exc.code, details={"url": [exc.message]}
        ) from exc
    with transaction.atomic():
        job = IngestionJob.objects.create(
            collection_id=collection_id, kind=kind, source=url[:2048], created_by_id=created_by_id
        )
        Item.objects.create(job=job, ordinal=0, kind=item_kind, name=url[:2048])
    if enqueue:
        _enqueue(job.id)
    return _job_info(IngestionJob.objects.get(id=job.id))


def start_url_ingestion(*, actor: Actor, collection_id, url: str, kind: str = "url"):
    """Ingest a web page, every page of a sitemap, or every entry of an RSS/Atom feed."""
    collection = load_collection(actor, collection_id)
    return create_url_job(
        collection_id=collection.id, url=url, kind=kind, created_by_id=actor.user_id
    )


def retry_ingestion_job(*, actor: Actor, job_id) -> IngestionJobInfo:
    """Run a job's failed items again; items that succeeded are left as they are."""
    with transaction.atomic():
        job = _load_job(actor, job_id)
        job.items.filter(status=Item.Status.FAILED).update(
            status=Item.Status.PENDING, error_code="", error_message="", attempts=0
        )
        job.status = IngestionJob.Status.QUEUED
        job.finished_at = None
        job.save(update_fields=["status", "finished_at"])
    _enqueue(job.id)
    return _job_info(IngestionJob.objects.get(id=job.id))


# -- running jobs -----------------------------------------------------------------------------


class _Failed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _next_ordinal(job: IngestionJob) -> int:
    return (job.items.aggregate(m=Max("ordinal"))["m"] or 0) + 1


def _new_urls(job: IngestionJob, batch: list[Item], seen: set[tuple[str, str]]) -> list[Item]:
    """Return the items of `batch` whose URL this job has not met yet (per kind)."""
    keys = {(child.kind, child.name) for child in batch}
    seen |= set(
        job.items.filter(
            kind__in={kind for kind, _ in keys}, name__in={name for _, name in keys}
        ).values_list("kind", "name")
    )
    fresh = []
    for child in batch:
        key = (child.kind, child.name)
        if key not in seen:
            seen.add(key)
            fresh.append(child)
    return fresh


def _expand(
    job: IngestionJob,
    item: Item,
    children: Iterable[Item],
    *,
    dedupe_urls: bool = False,
    empty: _Failed | None = None,
) -> None:
    """Add the items `item` expands into, in batches, and mark it expanded.

    `children` is consumed lazily and no further than the job's item cap, so a million-line
    file never becomes a million objects. With `dedupe_urls`, a URL the job already holds is
    not added again. With `empty`, finding no children fails the item with that error.
    """
    cap = settings.INGESTION_MAX_ITEMS_PER_JOB
    pending = iter(children)
    with transaction.atomic():
        locked = IngestionJob.objects.select_for_update().get(id=job.id)
        ordinal = _next_ordinal(locked)
        room = max(0, cap - locked.items.count())
        found = kept = 0
        seen: set[tuple[str, str]] = set()
        while kept < room:
            batch = list(itertools.islice(pending, min(EXPAND_BATCH, room - kept)))
            if not batch:
                break
            found += len(batch)
            if dedupe_urls:
                batch = _new_urls(locked, batch, seen)
            for child in batch:
                child.job, child.ordinal, child.depth = locked, ordinal, item.depth + 1
                ordinal += 1
            Item.objects.bulk_create(batch)
            kept += len(batch)
        more = next(pending, None) is not None
        if empty is not None and not found and not more:
            raise empty
        note = f"Stopped at the job's limit of {cap} items." if more else ""
        Item.objects.filter(id=item.id).update(
            status=Item.Status.EXPANDED, payload=None, error_message=note, updated_at=timezone.now()
        )


def _store(
    job: IngestionJob,
    item: Item,
    *,
    external_id: str,
    source_url: str,
    content_type: str,
    extracted: extraction.Extracted,
) -> list[int]:
    """Create or update the document; return the ids of chunks it replaced."""
    digest = extraction.content_hash(text=extracted.text, title=extracted.title)
    spans = split_into_chunks(extracted.text, target_tokens=settings.CATALOG_CHUNK_TOKENS)
    fields = {
        "source_url": source_url,
        "title": extracted.title[:500],
        "author": extracted.author[:300],
        "published_at": extracted.published_at,
        "content_type": content_type,
        "content_hash": digest,
        "text": extracted.text,
        "metadata": extracted.metadata,
        "status": Document.Status.PENDING,
    }
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(job, item, external_id, digest, fields, spans)
        except IntegrityError:  # another worker created the same document a moment ago
            if attempt:
                raise
    return []


def _upsert(job, item, external_id, digest, fields, spans) -> list[int]:
    document = (
        Document.objects.select_for_update()
        .filter(collection_id=job.collection_id, external_id=external_id)
        .first()
    )
    replaced: list[int] = []
    if document is not None and document.content_hash == digest:
        status = Item.Status.UNCHANGED
    elif document is not None:
        replaced = list(document.chunks.values_list("id", flat=True))
        document.chunks.all().delete()
        for key, value in fields.items():
            setattr(document, key, value)
        document.version += 1
        document.save()
        status = Item.Status.UPDATED
    else:
        document = Document.objects.create(
            collection_id=job.collection_id, external_id=external_id, **fields
        )
        status = Item.Status.CREATED
    if status != Item.Status.UNCHANGED:
        text = document.text
        Chunk.objects.bulk_create(
            Chunk(
                document=document,
                collection_id=job.collection_id,
                ordinal=span.ordinal,
                text=text[span.char_start : span.char_end],
                char_start=span.char_start,
                char_end=span.char_end,
                token_count=span.token_count,
            )
            for span in spans
        )
    Item.objects.filter(id=item.id).update(
        status=status,
        document=document,
        payload=None,
        error_code="",
        error_message="",
        updated_at=timezone.now(),
    )
    return replaced


def _payload(item: Item) -> bytes:
    value = Item.objects.filter(id=item.id).values_list("payload", flat=True).get()
    return bytes(value or b"")


def _limits() -> extraction.Limits:
    return extraction.Limits(
        max_pages=settings.INGESTION_MAX_PDF_PAGES,
        max_chars=settings.INGESTION_MAX_DOCUMENT_CHARS,
    )


def _open_upload(job: IngestionJob, item: Item) -> IO[bytes]:
    """Open an uploaded file's bytes: from storage, or from the row for jobs made before."""
    value = Item.objects.filter(id=item.id).values_list("payload", flat=True).get()
    if value is not None:
        return io.BytesIO(bytes(value))
    try:
        return ingestion_storage().open(_upload_name(job.id, item.ordinal), "rb")
    except FileNotFoundError as exc:
        message = f"{item.name} is no longer stored; upload it again."
        raise _Failed("upload_missing", message) from exc


def _record_items(results: Iterable[extraction.RecordResult]) -> Iterator[Item]:
    for where, record, error in results:
        child = Item(kind=Item.Kind.RECORD, name=where[:2048], content_type="record")
        if record is None:
            child.status, child.error_code, child.error_message = (
                Item.Status.FAILED,
                "invalid_record",
                error,
            )
        else:
            child.payload = json.dumps(record.__dict__).encode()
        yield child


def _process_file(job, item) -> list[int]:
    fmt = extraction.detect_format(name=item.name, content_type=item.content_type)
    with _open_upload(job, item) as stream:
        if fmt in extraction.RECORD_FORMATS:
            records = extraction.iter_records(stream, fmt=fmt, name=item.name)
            empty = _Failed("empty_document", f"{item.name} has no records.")
            _expand(job, item, _record_items(records), empty=empty)
            replaced = []
        else:
            extracted = extraction.extract(
                stream.read(), fmt=fmt or "", name=item.name, limits=_limits()
            )
            replaced = _store(
                job,
                item,
                external_id=item.name,
                source_url="",
                content_type=extraction.MEDIA_TYPES[fmt],
                extracted=extracted,
            )
    _discard_uploads(ingestion_storage(), job.id, [item.ordinal])
    return replaced


def _process_record(job, item) -> list[int]:
    record = json.loads(_payload(item))
    text = record["text"]
    if record.get("html"):
        text = html_fragment_text(text)
    text = extraction.normalize_text(text)
    if not text:
        raise _Failed("empty_document", f"{item.name} has no text.")
    extraction.check_chars(len(text), item.name, _limits())
    extracted = extraction.Extracted(
        text=text,
        title=record.get("title") or text.split("\n", 1)[0][:200],
        author=record.get("author") or "",
        published_at=extraction.parse_date(record.get("published_at")),
    )
    url = record.get("url") or ""
    return _store(
        job,
        item,
        external_id=record["external_id"],
        source_url=url if url.startswith(("http://", "https://")) else "",
        content_type="text/html" if record.get("html") else "text/plain",
        extracted=extracted,
    )


def _process_page(job, item) -> list[int]:
    fetched = fetch(item.name, fetch_policy(Item.Kind.PAGE))
    fmt = extraction.detect_format(name=fetched.url, content_type=fetched.content_type)
    extracted = extraction.extract(
        fetched.content, fmt=fmt or "", name=item.name, charset=fetched.charset, limits=_limits()
    )
    return _store(
        job,
        item,
        external_id=item.name,
        source_url=item.name,
        content_type=fetched.content_type,
        extracted=extracted,
    )


def _too_deep(url: str, depth: int) -> _Failed | None:
    limit = settings.INGESTION_SITEMAP_MAX_DEPTH
    if depth <= limit:
        return None
    return _Failed(
        "sitemap_too_deep", f"{url} is nested {depth} sitemaps deep; the limit is {limit}."
    )


def _sitemap_item(url: str, *, depth: int) -> Item:
    """Return a child sitemap to fetch, or a failed one if it lies past the depth limit."""
    refusal = _too_deep(url, depth)
    if refusal is None:
        return Item(kind=Item.Kind.SITEMAP, name=url[:2048])
    return Item(
        kind=Item.Kind.SITEMAP,
        name=url[:2048],
        status=Item.Status.FAILED,
        error_code=refusal.code,
        error_message=refusal.message,
    )


def _process_sitemap(job, item) -> list[int]:
    if refusal := _too_deep(item.name, item.depth):  # retried after it was refused
        raise refusal
    fetched = fetch(item.name, fetch_policy(Item.Kind.SITEMAP))
    entries = parse_sitemap(fetched.content, max_urls=settings.INGESTION_MAX_ITEMS_PER_JOB)
    children = [Item(kind=Item.Kind.PAGE, name=url[:2048]) for url in entries.pages]
    children += [_sitemap_item(url, depth=item.depth + 1) for url in entries.sitemaps]
    _expand(job, item, children, dedupe_urls=True)
    return []


def _process_feed(job, item) -> list[int]:
    fetched = fetch(item.name, fetch_policy(Item.Kind.FEED))
    entries = parse_feed(fetched.content, max_entries=settings.INGESTION_MAX_ITEMS_PER_JOB)
    children = [
        Item(
            kind=Item.Kind.RECORD,
            name=(entry.url or entry.external_id)[:2048],
            content_type="record",
            payload=json.dumps(
                {
                    "external_id": entry.external_id,
                    "title": entry.title,
                    "url": entry.url,
                    "text": entry.html,
                    "author": entry.author,
                    "published_at": entry.published_at,
                    "html": True,
                }
            ).encode(),
        )
        for entry in entries
    ]
    _expand(job, item, children)
    return []


PROCESSORS = {
    Item.Kind.FILE: _process_file,
    Item.Kind.RECORD: _process_record,
    Item.Kind.PAGE: _process_page,
    Item.Kind.SITEMAP: _process_sitemap,
    Item.Kind.FEED: _process_feed,
}


def _fail(item: Item, code: str, message: str) -> None:
    Item.objects.filter(id=item.id).update(
        status=Item.Status.FAILED,
        error_code=code[:50],
        error_message=message,
        attempts=item.attempts + 1,
        updated_at=timezone.now(),
    )


def _process(job: IngestionJob, item: Item, *, final_attempt: bool) -> tuple[list[int], bool]:
    """Run one item; return (replaced chunk ids, whether it should be tried again later)."""
    try:
        return PROCESSORS[item.kind](job, item), False
    except FetchRefused as exc:
        if exc.transient and not final_attempt:
            Item.objects.filter(id=item.id).update(attempts=item.attempts + 1)
            return [], True
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
    return [], False


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
    job_id,
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
    last = -1
    while True:
        batch = list(
            job.items.filter(status=Item.Status.PENDING, ordinal__gt=last)
            .defer("payload")
            .order_by("ordinal")[:batch_size]
        )
        if not batch:
            break
        replaced: list[int] = []
        for item in batch:
            last = item.ordinal
            item_replaced, _ = _process(job, item, final_attempt=final_attempt)
            replaced.extend(item_replaced)
        retrieval.forget_chunks(chunk_ids=replaced)
        retrieval.index_pending_documents()
        if on_progress is not None:
            on_progress(_job_info(job).progress)
    job.status = _finish_status(job)
    job.finished_at = None if job.status == IngestionJob.Status.RUNNING else timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return _job_info(job)
