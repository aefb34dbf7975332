"""Starting jobs: from uploaded files or a URL (page, sitemap, feed), and retrying one."""

import uuid

from django.conf import settings
from django.db import transaction

from accounts.services import Actor
from catalog import errors
from catalog.ingestion import extract as extraction
from catalog.ingestion.fetch import FetchRefused, vet_url
from catalog.models import IngestionItem as Item
from catalog.models import IngestionJob
from catalog.services.collections import load_collection
from catalog.services.ingestion.crawling import fetch_policy
from catalog.services.ingestion.dispatch import _enqueue
from catalog.services.ingestion.status import IngestionJobInfo, _job_info, _load_job
from catalog.services.ingestion.storage import (
    UploadedFile,
    _discard_uploads,
    _store_upload,
    _upload_name,
    ingestion_storage,
)

URL_KINDS: dict[str, Item.Kind] = {
    IngestionJob.Kind.URL: Item.Kind.PAGE,
    IngestionJob.Kind.SITEMAP: Item.Kind.SITEMAP,
    IngestionJob.Kind.FEED: Item.Kind.FEED,
}


class UnsupportedMediaType(errors.DomainError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(errors.DomainError):
    status = 413
    code = "file_too_large"


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


def create_upload_job(
    *,
    collection_id: uuid.UUID,
    files: list[UploadedFile],
    created_by_id: int | None = None,
    enqueue: bool = True,
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
    *, actor: Actor, collection_id: uuid.UUID | str, files: list[UploadedFile]
) -> IngestionJobInfo:
    """Accept a batch of files into one of the actor's collections; ingestion runs as a job."""
    collection = load_collection(actor, collection_id)
    return create_upload_job(collection_id=collection.id, files=files, created_by_id=actor.user_id)


def create_url_job(
    *,
    collection_id: uuid.UUID,
    url: str,
    kind: str,
    created_by_id: int | None = None,
    enqueue: bool = True,
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


def start_url_ingestion(
    *, actor: Actor, collection_id: uuid.UUID | str, url: str, kind: str = "url"
) -> IngestionJobInfo:
    """Ingest a web page, every page of a sitemap, or every entry of an RSS/Atom feed."""
    collection = load_collection(actor, collection_id)
    return create_url_job(
        collection_id=collection.id, url=url, kind=kind, created_by_id=actor.user_id
    )


def retry_ingestion_job(*, actor: Actor, job_id: uuid.UUID | str) -> IngestionJobInfo:
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
