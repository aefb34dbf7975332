"""Queueing a job: to Celery, or without a broker to one background thread of this process."""

import logging
import queue
import threading
import uuid

from django.conf import settings
from django.db import connections, transaction

from catalog.services.ingestion.runner import run_ingestion_job

logger = logging.getLogger("provenant.ingestion")


class _JobThread:
    """Run jobs one after another in one daemon thread of this process (used without a broker).

    Progress is visible through the job as it runs; a job cut short by a restart keeps its
    pending items and runs again on retry.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job_id: str) -> None:
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


def _dispatch(job_id: uuid.UUID) -> None:
    from catalog import tasks

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.INGESTION_WITHOUT_BROKER == "thread":
        background_jobs.submit(str(job_id))
    else:
        tasks.run_ingestion_job.delay(str(job_id))


def _enqueue(job_id: uuid.UUID) -> None:
    transaction.on_commit(lambda: _dispatch(job_id))
