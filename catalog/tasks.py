import random

from celery import shared_task
from django.conf import settings

from catalog import services


def _backoff_s(retries: int) -> float:
    """Exponential backoff with full jitter: 0..(10 * 3^retries) seconds."""
    return random.uniform(0, 10 * 3**retries)


@shared_task(bind=True, name="catalog.run_ingestion_job", acks_late=True, max_retries=None)
def run_ingestion_job(self, job_id: str) -> str | None:
    """Run an ingestion job; retry later if some items hit transient fetch errors."""
    final = self.request.is_eager or self.request.retries >= settings.INGESTION_MAX_RETRIES
    info = services.run_ingestion_job(job_id=job_id, final_attempt=final)
    if info is not None and info.progress.pending and not final:
        raise self.retry(countdown=_backoff_s(self.request.retries))
    return None if info is None else info.status


@shared_task(name="catalog.index_pending_documents", acks_late=True)
def index_pending_documents() -> int:
    """Make documents waiting for the search index searchable."""
    return services.index_pending_documents()


@shared_task(name="catalog.forget_chunks", acks_late=True)
def forget_chunks(chunk_ids: list[int]) -> None:
    """Take deleted chunks out of the search index."""
    services.forget_chunks(chunk_ids=chunk_ids)
