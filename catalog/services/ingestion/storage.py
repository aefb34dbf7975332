"""Uploaded files on their way to the worker: streamed to the ingestion storage, never read
whole in the web process, and deleted once ingested."""

import io
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import transaction

from catalog.models import IngestionItem as Item


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


def ingestion_storage() -> Storage:
    """Return the storage where uploaded files wait for the worker (INGESTION_STORAGE)."""
    return storages.create_storage(settings.INGESTION_STORAGE)


def _upload_name(job_id: uuid.UUID, ordinal: int) -> str:
    return f"{job_id}-{ordinal}"


def _store_upload(storage: Storage, name: str, upload: UploadedFile) -> None:
    with upload.open() as stream:
        saved = storage.save(name, stream)
    if saved != name:
        raise RuntimeError(f"The ingestion storage renamed {name} to {saved}.")


def _discard_uploads(storage: Storage, job_id: uuid.UUID, ordinals: Iterable[int]) -> None:
    for ordinal in ordinals:
        storage.delete(_upload_name(job_id, ordinal))


def discard_uploads_on_commit(*, collection_id: uuid.UUID) -> None:
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
        transaction.on_commit(lambda: _delete_stored(names))


def _delete_stored(names: list[str]) -> None:
    storage = ingestion_storage()
    for name in names:
        storage.delete(name)
