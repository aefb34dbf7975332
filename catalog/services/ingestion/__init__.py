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

from catalog.services.ingestion.crawling import (
    DOCUMENT_TYPES,
    FEED_TYPES,
    SITEMAP_TYPES,
    fetch_policy,
)
from catalog.services.ingestion.dispatch import background_jobs
from catalog.services.ingestion.items import EXPAND_BATCH
from catalog.services.ingestion.jobs import (
    URL_KINDS,
    PayloadTooLarge,
    UnsupportedMediaType,
    create_upload_job,
    create_url_job,
    retry_ingestion_job,
    start_upload_ingestion,
    start_url_ingestion,
)
from catalog.services.ingestion.runner import DONE_STATUSES, PROCESSORS, run_ingestion_job
from catalog.services.ingestion.status import (
    MAX_ERRORS_SHOWN,
    IngestionError,
    IngestionJobInfo,
    IngestionProgress,
    get_ingestion_job,
    list_ingestion_jobs,
)
from catalog.services.ingestion.storage import (
    UploadedFile,
    discard_uploads_on_commit,
    ingestion_storage,
)

__all__ = [
    "DOCUMENT_TYPES",
    "DONE_STATUSES",
    "EXPAND_BATCH",
    "FEED_TYPES",
    "MAX_ERRORS_SHOWN",
    "PROCESSORS",
    "SITEMAP_TYPES",
    "URL_KINDS",
    "IngestionError",
    "IngestionJobInfo",
    "IngestionProgress",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "UploadedFile",
    "background_jobs",
    "create_upload_job",
    "create_url_job",
    "discard_uploads_on_commit",
    "fetch_policy",
    "get_ingestion_job",
    "ingestion_storage",
    "list_ingestion_jobs",
    "retry_ingestion_job",
    "run_ingestion_job",
    "start_upload_ingestion",
    "start_url_ingestion",
]
