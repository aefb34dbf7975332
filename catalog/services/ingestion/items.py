"""What an item becomes: the items it expands into, or a new version of its document."""

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.ingestion import extract as extraction
from catalog.ingestion import minhash
from catalog.ingestion.chunking import ChunkSpan, split_into_chunks
from catalog.models import Chunk, Document, IngestionJob
from catalog.models import IngestionItem as Item
from catalog.services import duplicates

EXPAND_BATCH = 500


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


@dataclass
class Prepared:
    """A document read and cut into passages, ready to be stored (signed once it must be)."""

    item: Item
    external_id: str
    digest: str
    fields: dict[str, Any]
    spans: list[ChunkSpan]
    passages: list[str]
    judgement: duplicates.Judgement | None = None  # judged before the batch's transaction


def _prepare(
    item: Item,
    *,
    external_id: str,
    source_url: str,
    content_type: str,
    extracted: extraction.Extracted,
) -> Prepared:
    """Return the document an item holds, cut into passages (no database access)."""
    spans = split_into_chunks(extracted.text, target_tokens=settings.CATALOG_CHUNK_TOKENS)
    digest = extraction.content_hash(text=extracted.text, title=extracted.title)
    fields: dict[str, Any] = {
        "source_url": source_url,
        "title": extracted.title[:500],
        "author": extracted.author[:300],
        "published_at": extracted.published_at,
        "content_type": content_type,
        "content_hash": digest,
        "text": extracted.text,
        "metadata": extracted.metadata,
        "status": Document.Status.PENDING,
        "duplicate_of": None,
        "duplicate_similarity": None,
        "duplicate_measure": "",
    }
    passages = [extracted.text[span.char_start : span.char_end] for span in spans]
    return Prepared(item, external_id, digest, fields, spans, passages)


def chunk_of(
    document: Document,
    span: ChunkSpan,
    passage: str,
    *,
    held_out: bool = False,
    duplicate_of_id: int | None = None,
) -> Chunk:
    """Return the (unsaved) chunk of a document's passage at `span`."""
    return Chunk(
        document=document,
        collection_id=document.collection_id,
        ordinal=span.ordinal,
        text=passage,
        char_start=span.char_start,
        char_end=span.char_end,
        token_count=span.token_count,
        held_out=held_out,
        duplicate_of_id=duplicate_of_id,
    )


def _store(job: IngestionJob, prepared: Prepared) -> list[int]:
    """Create or update one document in a transaction of its own; return the ids of chunks it
    replaced."""
    # Signing and judging read only: done before the write transaction, whose lock (the whole
    # database's, on SQLite) other workers wait for. Judged again inside if the document
    # changed in between.
    current = (
        Document.objects.filter(collection_id=job.collection_id, external_id=prepared.external_id)
        .only("id", "version", "content_hash", "duplicate_released_from_id")
        .first()
    )
    judgement = None
    if current is None or current.content_hash != prepared.digest:
        judgement = _judge(job, current, prepared)
    for attempt in range(2):
        try:
            with duplicates.recording(), transaction.atomic():
                return _upsert(job, prepared, judgement)
        except IntegrityError:  # another worker created the same document a moment ago
            if attempt:
                raise
            judgement = None  # or the original judged against is gone: judge again, inside
    return []


def _judge(
    job: IngestionJob, document: Document | None, prepared: Prepared
) -> duplicates.Judgement:
    """Judge the document's version (signed again only if it was not judged before)."""
    earlier = prepared.judgement
    signed = None
    if earlier is not None:
        signed = minhash.TextSignatures(earlier.subject.digests, earlier.subject.signed)
    return duplicates.judge_version(
        document=document,
        collection_id=job.collection_id,
        provider_id=job.collection.organization_id,
        passages=prepared.passages,
        anew=timezone.now(),
        signed=signed,
    )


def _upsert(
    job: IngestionJob, prepared: Prepared, judgement: duplicates.Judgement | None
) -> list[int]:
    item, fields, spans, passages = (
        prepared.item,
        prepared.fields,
        prepared.spans,
        prepared.passages,
    )
    document = (
        Document.objects.select_for_update()
        .filter(collection_id=job.collection_id, external_id=prepared.external_id)
        .first()
    )
    if document is not None and document.content_hash == prepared.digest:
        _done(item, Item.Status.UNCHANGED, document)
        return []
    if judgement is None or not judgement.fits(document):
        judgement = _judge(job, document, prepared)
    replaced: list[int] = []
    dependents: list[int] = []
    if document is not None:
        replaced, dependents = _new_version(document, fields)
        status = Item.Status.UPDATED
    else:
        document = Document.objects.create(
            collection_id=job.collection_id, external_id=prepared.external_id, **fields
        )
        status = Item.Status.CREATED
    # Passages that copy or repeat earlier ones are stored held out (docs/catalog.md).
    states = [judgement.passage_state(span.ordinal) for span in spans]
    chunks = Chunk.objects.bulk_create(
        chunk_of(document, span, passage, held_out=held_out, duplicate_of_id=original)
        for span, passage, (held_out, original) in zip(spans, passages, states, strict=True)
    )
    duplicates.record_version(
        judgement=judgement,
        document=document,
        chunk_ids=[c.id for c in chunks],
        dependents=dependents,
    )
    _done(item, status, document)
    return replaced


def _new_version(document: Document, fields: dict[str, Any]) -> tuple[list[int], list[int]]:
    """Replace a stored document's text by a new version (its chunks go); return the ids of
    the chunks it had and the documents holding texts held out against them."""
    replaced = list(document.chunks.values_list("id", flat=True))
    # Found through the old chunks: texts held out against them are judged again.
    dependents = duplicates.dependents_of(document_id=document.id)
    document.chunks.all().delete()
    for key, value in fields.items():
        if key == "source_url" and not value:
            continue  # an upload has no URL of its own: the canonical URL set stays
        setattr(document, key, value)
    document.version += 1
    document.save()
    return replaced, dependents


def _done(item: Item, status: str, document: Document) -> None:
    Item.objects.filter(id=item.id).update(
        status=status,
        document=document,
        payload=None,
        error_code="",
        error_message="",
        updated_at=timezone.now(),
    )
