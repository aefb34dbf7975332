"""A job's status, progress and per-item errors, as the provider sees them."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count

from accounts.services import Actor
from catalog import errors
from catalog.models import IngestionItem as Item
from catalog.models import IngestionJob
from catalog.services.collections import load_collection, visible_collections

MAX_ERRORS_SHOWN = 100


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


def _load_job(actor: Actor, job_id: uuid.UUID | str) -> IngestionJob:
    try:
        return IngestionJob.objects.filter(collection__in=visible_collections(actor)).get(id=job_id)
    except (IngestionJob.DoesNotExist, DjangoValidationError, ValueError) as exc:
        raise errors.NotFound("Ingestion job not found.") from exc


def get_ingestion_job(*, actor: Actor, job_id: uuid.UUID | str) -> IngestionJobInfo:
    """Return a job's status, progress and per-item errors."""
    return _job_info(_load_job(actor, job_id))


def list_ingestion_jobs(
    *, actor: Actor, collection_id: uuid.UUID | str, limit: int = 20
) -> list[IngestionJobInfo]:
    """Return a collection's most recent jobs."""
    collection = load_collection(actor, collection_id)
    jobs = IngestionJob.objects.filter(collection=collection).order_by("-created_at")[:limit]
    return [_job_info(job) for job in jobs]
