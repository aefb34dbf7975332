"""Processing uploaded files and the records they hold, read line by line."""

import io
import json
from collections.abc import Iterable, Iterator
from typing import IO

from django.conf import settings

from catalog.ingestion import extract as extraction
from catalog.ingestion.sources import html_fragment_text
from catalog.models import IngestionItem as Item
from catalog.models import IngestionJob
from catalog.services.ingestion.items import Prepared, _expand, _Failed, _prepare
from catalog.services.ingestion.storage import _discard_uploads, _upload_name, ingestion_storage


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
    # The runner says which rows hold their bytes (`has_payload`): no query for the others.
    if getattr(item, "has_payload", True):
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


def _process_file(job: IngestionJob, item: Item) -> Prepared | None:
    """Read an uploaded file: the document it holds, or None once its records are items."""
    fmt = extraction.detect_format(name=item.name, content_type=item.content_type)
    with _open_upload(job, item) as stream:
        if fmt in extraction.RECORD_FORMATS:
            records = extraction.iter_records(stream, fmt=fmt, name=item.name)
            empty = _Failed("empty_document", f"{item.name} has no records.")
            _expand(job, item, _record_items(records), empty=empty)
            prepared = None
        else:
            extracted = extraction.extract(
                stream.read(), fmt=fmt or "", name=item.name, limits=_limits()
            )
            prepared = _prepare(
                item,
                external_id=item.name,
                source_url="",
                content_type=extraction.MEDIA_TYPES[fmt or ""],
                extracted=extracted,
            )
    if prepared is None:
        _discard_uploads(ingestion_storage(), job.id, [item.ordinal])
    return prepared


def _discard_stored(job: IngestionJob, items: Iterable[Item]) -> None:
    """Discard the uploads of the files whose documents were stored."""
    ordinals = [item.ordinal for item in items if item.kind == Item.Kind.FILE]
    if ordinals:
        _discard_uploads(ingestion_storage(), job.id, ordinals)


def _process_record(job: IngestionJob, item: Item) -> Prepared:
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
    return _prepare(
        item,
        external_id=record["external_id"],
        source_url=url if url.startswith(("http://", "https://")) else "",
        content_type="text/html" if record.get("html") else "text/plain",
        extracted=extracted,
    )
