"""Keeping verdicts true after the fact: judging documents again when the texts they were held
out against are gone, and the operator's release of a false positive."""

import uuid
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.utils import timezone

from catalog.ingestion import minhash
from catalog.models import Chunk, Document, TextSignature
from catalog.services.duplicates.judging import LOOKUP_BATCH, judge
from catalog.services.duplicates.texts import (
    Row,
    Subject,
    Verdict,
    held_parts,
    original_keys,
    subject_of,
)


def _apply(document: Document, chunks: list[Chunk], verdict: Verdict) -> list[int]:
    """Hold out what the verdict says (and only that); return chunk ids newly held out."""
    held_document = verdict.duplicate_of is not None
    if (
        document.duplicate_of_id != verdict.duplicate_of
        or (document.status == Document.Status.DUPLICATE) != held_document
    ):
        document.duplicate_of_id = verdict.duplicate_of
        document.duplicate_similarity = verdict.similarity
        document.duplicate_measure = verdict.measure
        document.status = Document.Status.DUPLICATE if held_document else Document.Status.PENDING
        Document.objects.filter(id=document.id).update(
            duplicate_of_id=document.duplicate_of_id,
            duplicate_similarity=document.duplicate_similarity,
            duplicate_measure=document.duplicate_measure,
            status=document.status,
        )
    changed, newly_held, released = [], [], False
    for chunk in chunks:
        original = verdict.passage_originals.get(chunk.id)
        held = held_document or original is not None
        if chunk.held_out != held or chunk.duplicate_of_id != original:
            if held and not chunk.held_out:
                newly_held.append(chunk.id)
            released = released or (chunk.held_out and not held)
            chunk.held_out, chunk.duplicate_of_id = held, original
            changed.append(chunk)
    if changed:  # one executemany: bulk_update's CASE per row costs more than the rows
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE catalog_chunk SET held_out = %s, duplicate_of_id = %s WHERE id = %s",
                [(c.held_out, c.duplicate_of_id, c.id) for c in changed],
            )
    if released and not held_document and document.status == Document.Status.READY:
        # Passages let back in wait for the index like a new version's.
        document.status = Document.Status.PENDING
        Document.objects.filter(id=document.id).update(status=document.status)
    return newly_held


def _stored_subject(document: Document) -> Subject | None:
    stored = (
        TextSignature.objects.filter(document=document, algorithm=minhash.ALGORITHM)
        .values_list("id", "collection_id", "provider_id", "digests", "chunk_ids", "since_us")
        .first()
    )
    if stored is None:
        return None
    signature_id, collection_id, provider_id, digests, chunk_ids, since_us = stored
    row = Row(
        signature_id=signature_id,
        document_id=document.id,
        collection_id=collection_id,
        provider_id=provider_id,
        digests=minhash.from_bytes(digests),
        chunk_ids=np.frombuffer(chunk_ids, dtype="<i8").astype(np.int64),
        since_us=np.frombuffer(since_us, dtype="<i8").astype(np.int64),
    )
    return subject_of(row, released_from=document.duplicate_released_from_id)


def recheck(*, document_ids: Iterable[int]) -> None:
    """Judge documents again against the catalog as it is now, earliest text first.

    Their held-out texts may be let back in (the index takes them once the transaction
    commits) or pointed at another original; texts newly held out leave the index then.
    """
    from catalog.services import retrieval

    documents = list(
        Document.objects.filter(id__in=list(document_ids))
        .select_for_update()
        .defer("text")
        .order_by("id")
    )
    subjects = [(d, s) for d in documents if (s := _stored_subject(d)) is not None]
    subjects.sort(key=lambda pair: (int(pair[1].since_us[0]), pair[0].id))
    newly_held: list[int] = []
    for document, subject in subjects:
        chunks = list(document.chunks.order_by("ordinal").defer("text"))
        verdict = judge(subject)
        newly_held += _apply(document, chunks, verdict)
        _rewrite_keys(subject, held_parts(subject, verdict))
    retrieval.forget_chunks_on_commit(newly_held)
    if subjects:
        retrieval.index_pending_on_commit()


_DELETE_KEYS = "DELETE FROM catalog_signatureband WHERE signature_id = %s AND key IN ({marks})"


def _rewrite_keys(subject: Subject, held: npt.NDArray[np.bool_]) -> None:
    """Give a stored signature band keys for the parts not held out now, and only those: a
    text let back in can be an original again, a text newly held out cannot."""
    with connection.cursor() as cursor:
        every = sorted(set(subject.keys))
        for start in range(0, len(every), LOOKUP_BATCH):
            part = every[start : start + LOOKUP_BATCH]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(_DELETE_KEYS.format(marks=marks), [subject.signature_id, *part])
        cursor.executemany(
            "INSERT INTO catalog_signatureband (signature_id, part, key) VALUES (%s, %s, %s)",
            [
                (subject.signature_id, part, key)
                for part, key in zip(*original_keys(subject, held), strict=True)
            ],
        )


def dependents_of(
    *, document_id: int | None = None, collection_id: uuid.UUID | None = None
) -> list[int]:
    """Return the documents of others holding texts held out against a document's (or every
    document's of a collection): they are judged again once it is gone."""
    if document_id is not None:
        documents = Document.objects.filter(duplicate_of_id=document_id).exclude(id=document_id)
        chunks = Chunk.objects.filter(duplicate_of__document_id=document_id).exclude(
            document_id=document_id
        )
    elif collection_id is None:
        return []
    else:
        documents = Document.objects.filter(duplicate_of__collection_id=collection_id).exclude(
            collection_id=collection_id
        )
        chunks = Chunk.objects.filter(duplicate_of__collection_id=collection_id).exclude(
            collection_id=collection_id
        )
    found = set(documents.values_list("id", flat=True))
    found.update(chunks.values_list("document_id", flat=True))
    return sorted(found)


def release_duplicate(*, document_id: int, released_by_id: int | None = None) -> bool:
    """Let a held-out document back into retrieval: an operator found it is no copy.

    It is never held out against that original again (nor are its passages). Returns whether
    anything changed.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().defer("text").get(id=document_id)
        if document.status != Document.Status.DUPLICATE:
            return False
        document.duplicate_released_from_id = document.duplicate_of_id
        document.duplicate_released_at = timezone.now()
        document.duplicate_released_by_id = released_by_id
        document.save(
            update_fields=[
                "duplicate_released_from",
                "duplicate_released_at",
                "duplicate_released_by",
            ]
        )
        recheck(document_ids=[document.id])
    return True
