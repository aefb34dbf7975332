"""Keeping the verdicts true: signing each new version, re-judging what was held out against a
text that is gone, and the operator's release of a false positive."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from catalog.ingestion import minhash
from catalog.models import Chunk, Document, TextSignature
from catalog.services.duplicates.judging import (
    PreviousVersion,
    Verdict,
    _since_of,
    _Subject,
    _Text,
    band_keys_of,
    judge,
)

# -- ingestion --------------------------------------------------------------------------------


def forget_version(document: Document) -> PreviousVersion:
    """Drop a document's signatures before its new version; return what the new one needs.

    Call before deleting its chunks: the documents holding texts held out against them are
    returned, to be judged again once the new version is stored.
    """
    rows = TextSignature.objects.filter(document=document, algorithm=minhash.ALGORITHM).values_list(
        "chunk_id", "digest", "since"
    )
    texts = [(chunk_id, _Text(minhash.from_bytes(d), since)) for chunk_id, d, since in rows]
    chunk_ids = list(document.chunks.values_list("id", flat=True))
    dependents = set(Document.objects.filter(duplicate_of=document).values_list("id", flat=True))
    dependents.update(
        Chunk.objects.filter(duplicate_of_id__in=chunk_ids)
        .exclude(document=document)
        .values_list("document_id", flat=True)
    )
    TextSignature.objects.filter(document=document).delete()
    return PreviousVersion(
        document=next((t for c, t in texts if c is None), None),
        passages=tuple(t for c, t in texts if c is not None),
        dependent_document_ids=tuple(sorted(dependents)),
    )


def record_version(
    *,
    document: Document,
    chunks: Sequence[Chunk],
    provider_id: uuid.UUID,
    previous: PreviousVersion | None = None,
    since: datetime | None = None,
) -> list[int]:
    """Sign a new version of a document, judge it, store its signatures and apply the verdict.

    `chunks` are the version's chunks in ordinal order; its texts are dated `since` (default
    now) unless they nearly repeat the previous version's. Returns the chunks newly held out.
    """
    now = since or timezone.now()
    signatures = minhash.sign_passages([chunk.text for chunk in chunks])
    old_document = [previous.document] if previous and previous.document else []
    old_passages = previous.passages if previous else ()
    document_text = _Text(signatures.document, _since_of(signatures.document, old_document, now))
    passage_texts = tuple(
        _Text(digest, _since_of(digest, old_passages, now) if previous else now)
        for digest in signatures.passages
    )
    passages = tuple(zip((c.id for c in chunks), passage_texts, strict=True))
    subject = _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=passages,
        keys=band_keys_of(document_text, passages),
    )
    verdict = judge(subject)
    _store(subject)
    newly_held = _apply(document, list(chunks), verdict)
    if previous is not None and previous.dependent_document_ids:
        recheck(document_ids=previous.dependent_document_ids)
    return newly_held


def sign_documents() -> int:
    """Sign the documents without a signature of the current algorithm, oldest first.

    For documents stored before duplicate detection, or signed by another algorithm version:
    each is judged against those signed before it, dated by its creation (or the earliest date
    its texts were signed with), and held out if it copies an earlier one; what is held out
    leaves the index. Returns how many documents were signed.
    """
    from catalog.services import retrieval

    current = TextSignature.objects.filter(algorithm=minhash.ALGORITHM).values("document_id")
    pending = list(
        Document.objects.exclude(id__in=current)
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )
    for document_id in pending:
        with transaction.atomic():
            document = (
                Document.objects.select_for_update()
                .select_related("collection")
                .defer("text")
                .get(id=document_id)
            )
            signed = TextSignature.objects.filter(document=document).aggregate(first=Min("since"))
            since = min(signed["first"] or document.created_at, document.created_at)
            TextSignature.objects.filter(document=document).delete()
            held = record_version(
                document=document,
                chunks=list(document.chunks.order_by("ordinal")),
                provider_id=document.collection.organization_id,
                since=since,
            )
            retrieval.forget_chunks_on_commit(held)
    return len(pending)


def _store(subject: _Subject) -> None:
    texts = [(None, subject.document), *subject.passages]
    signed = [(chunk_id, text) for chunk_id, text in texts if text.digest is not None]
    if not signed:
        return
    rows = TextSignature.objects.bulk_create(
        TextSignature(
            document_id=subject.document_id,
            chunk_id=chunk_id,
            collection_id=subject.collection_id,
            provider_id=subject.provider_id,
            algorithm=minhash.ALGORITHM,
            digest=minhash.to_bytes(text.digest),
            since=text.since,
        )
        for chunk_id, text in signed
        if text.digest is not None
    )
    # Some 300 keys a document: one executemany, without building a model instance for each.
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO catalog_signatureband (signature_id, key) VALUES (%s, %s)",
            [
                (row.id, key)
                for row, (chunk_id, _) in zip(rows, signed, strict=True)
                for key in subject.keys[chunk_id]
            ],
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
        document.status = Document.Status.DUPLICATE if held_document else Document.Status.PENDING
        Document.objects.filter(id=document.id).update(
            duplicate_of_id=document.duplicate_of_id,
            duplicate_similarity=document.duplicate_similarity,
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


# -- judging again ------------------------------------------------------------------------------


def _stored_subject(document: Document) -> _Subject | None:
    rows = TextSignature.objects.filter(document=document, algorithm=minhash.ALGORITHM).values_list(
        "id", "chunk_id", "digest", "since", "provider_id"
    )
    texts: dict[int | None, tuple[_Text, uuid.UUID]] = {
        chunk_id: (_Text(minhash.from_bytes(digest), since, signature_id), provider_id)
        for signature_id, chunk_id, digest, since, provider_id in rows
    }
    if not texts:
        return None
    provider_id = next(iter(texts.values()))[1]
    document_text, _ = texts.get(None, (_Text(None, timezone.now()), provider_id))
    chunk_ids = document.chunks.order_by("ordinal").values_list("id", flat=True)
    unsigned = (_Text(None, document_text.since), provider_id)
    passages = tuple((chunk_id, texts.get(chunk_id, unsigned)[0]) for chunk_id in chunk_ids)
    return _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=passages,
        keys=band_keys_of(document_text, passages),
    )


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
    subjects.sort(key=lambda pair: (pair[1].document.since, pair[0].id))
    newly_held: list[int] = []
    for document, subject in subjects:
        chunks = list(document.chunks.order_by("ordinal").defer("text"))
        newly_held += _apply(document, chunks, judge(subject))
    retrieval.forget_chunks_on_commit(newly_held)
    if subjects:
        retrieval.index_pending_on_commit()


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
