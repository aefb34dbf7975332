"""Storing a batch of documents together: one transaction, rows written in bulk.

Each document is signed and judged before the transaction, reading only (the write lock is the
whole database's on SQLite); inside it, the batch's new documents are one INSERT, all their
chunks a few, and a version is judged again, in item order, if its document changed since or
a version stored before it in the batch may be one it repeats: as when each had a transaction
of its own. If anything in the batch fails (another worker created one of its documents a
moment ago, or an item's own error), nothing of it is written and each document is stored
again alone, where a failing item fails by itself.
"""

import functools
import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Chunk, Document, IngestionJob
from catalog.models import IngestionItem as Item
from catalog.services import duplicates
from catalog.services.ingestion.items import Prepared, _judge, _new_version, _store, chunk_of

logger = logging.getLogger("provenant.ingestion")

Attempt = Callable[[Item, Callable[[], list[int]]], list[int] | None]


def store_documents(
    job: IngestionJob, ready: list[Prepared], attempt: Attempt
) -> tuple[list[int], list[Item]]:
    """Store the documents of a batch's items; return the ids of chunks they replaced and the
    items stored. `attempt(item, store)` runs one item's store alone, failing the item (and
    returning None) if it raises."""
    if not ready:
        return [], []
    first: dict[str, Prepared] = {}
    again: list[Prepared] = []  # a document given twice in the batch: its later versions
    for prepared in ready:
        if prepared.external_id in first:
            again.append(prepared)
        else:
            first[prepared.external_id] = prepared
    together = list(first.values())
    try:
        _judge_ahead(job, together)
        with transaction.atomic(), duplicates.deferred_signatures():
            replaced = _write(job, together)
        stored = [prepared.item for prepared in together]
    except Exception:
        logger.info("A batch of job %s is stored item by item", job.id, exc_info=True)
        again = ready
        replaced, stored = [], []
    with duplicates.deferred_signatures():
        for prepared in again:
            done = attempt(prepared.item, functools.partial(_store, job, prepared))
            if done is not None:
                replaced += done
                stored.append(prepared.item)
    return replaced, stored


def _judge_ahead(job: IngestionJob, ready: list[Prepared]) -> None:
    """Sign and judge the documents that are new or changed (reading only; before the
    transaction, as `_store` does for one)."""
    stored = {
        document.external_id: document
        for document in Document.objects.filter(
            collection_id=job.collection_id, external_id__in=[p.external_id for p in ready]
        ).only("id", "external_id", "version", "content_hash", "duplicate_released_from_id")
    }
    for prepared in ready:
        document = stored.get(prepared.external_id)
        if document is None or document.content_hash != prepared.digest:
            prepared.judgement = _judge(job, document, prepared)


def _write(job: IngestionJob, ready: list[Prepared]) -> list[int]:
    """Store the batch's documents (distinct external ids) inside the caller's transaction."""
    documents = {
        document.external_id: document
        for document in Document.objects.select_for_update().filter(
            collection_id=job.collection_id, external_id__in=[p.external_id for p in ready]
        )
    }
    replaced: list[int] = []
    dependents: dict[int, list[int]] = {}
    outcomes: list[tuple[Item, str, Document]] = []
    changed: list[tuple[Prepared, Document, bool, bool]] = []  # (.., new, judgement still fits)
    for prepared in ready:
        document = documents.get(prepared.external_id)
        if document is not None and document.content_hash == prepared.digest:
            outcomes.append((prepared.item, Item.Status.UNCHANGED, document))
            continue
        fits = prepared.judgement is not None and prepared.judgement.fits(document)
        if document is None:
            document = Document(
                collection_id=job.collection_id,
                external_id=prepared.external_id,
                **prepared.fields,
            )
            changed.append((prepared, document, True, fits))
            outcomes.append((prepared.item, Item.Status.CREATED, document))
        else:
            old_chunks, dependents[document.id] = _new_version(document, prepared.fields)
            replaced += old_chunks
            changed.append((prepared, document, False, fits))
            outcomes.append((prepared.item, Item.Status.UPDATED, document))
    Document.objects.bulk_create([document for _, document, new, _ in changed if new])
    chunks = Chunk.objects.bulk_create(
        chunk_of(document, span, passage)
        for prepared, document, _, _ in changed
        for span, passage in zip(prepared.spans, prepared.passages, strict=True)
    )
    held: list[tuple[int, int | None]] = []  # (chunk, the other document's passage it copies)
    start = 0
    for prepared, document, new, fits in changed:
        chunk_ids = [chunk.id for chunk in chunks[start : start + len(prepared.spans)]]
        start += len(prepared.spans)
        judgement = prepared.judgement
        # Judged again if its document changed since, or if it may repeat a version recorded
        # before it in this batch: in item order, as if each had a transaction of its own.
        if judgement is None or not fits or duplicates.batch_may_change(judgement):
            judgement = _judge(job, None if new else document, prepared)
        for span, chunk_id in zip(prepared.spans, chunk_ids, strict=True):
            held_out, original = judgement.passage_state(span.ordinal)
            if held_out:
                held.append((chunk_id, original))
        with duplicates.recording():
            duplicates.record_version(
                judgement=judgement,
                document=document,
                chunk_ids=chunk_ids,
                dependents=dependents.get(document.id, ()),
            )
    _hold_out(held)
    _mark_done(outcomes)
    return replaced


def _hold_out(held: list[tuple[int, int | None]]) -> None:
    """Hold out the passages that copy or repeat earlier ones (docs/catalog.md)."""
    Chunk.objects.filter(id__in=[chunk_id for chunk_id, _ in held]).update(held_out=True)
    copies = [(original, chunk_id) for chunk_id, original in held if original is not None]
    if copies:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE catalog_chunk SET duplicate_of_id = %s WHERE id = %s", copies
            )


_MARK_DONE = (
    "UPDATE catalog_ingestionitem SET status = %s, document_id = %s, payload = NULL, "
    "error_code = '', error_message = '', updated_at = %s WHERE id = %s"
)


def _mark_done(outcomes: list[tuple[Item, str, Document]]) -> None:
    """Record each item's outcome and document (one executemany: Django's bulk_update builds a
    CASE expression per row and field, which cost more than the documents' inserts)."""
    updated_at = Item._meta.get_field("updated_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.executemany(
            _MARK_DONE,
            [(status, document.id, updated_at, item.id) for item, status, document in outcomes],
        )
