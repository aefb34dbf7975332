"""Keeping the verdicts true: signing each new version, re-judging what was held out against a
text that is gone, and the operator's release of a false positive."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog.ingestion import minhash
from catalog.models import Chunk, Document, TextSignature
from catalog.services.duplicates.judging import (
    Pool,
    Verdict,
    _Candidate,
    _since_of,
    _Subject,
    _Text,
    band_keys_of,
    judge,
)

_BATCH_IDS = 1 << 62  # ordering ids of a batch's texts: after stored ones, before new ones

# -- signing new versions, in batches ------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    """A document version to sign: the document, its chunks, what its previous version had."""

    document: Document
    chunks: list[tuple[int, str, bool]]  # (id, text, held out) in ordinal order
    previous: list[tuple[int | None, _Text, str]]  # (chunk id, text, algorithm)


def sign_documents(*, collection_id: uuid.UUID | None = None, batch_size: int = 200) -> int:
    """Sign and judge the documents whose current version has no signatures, oldest first.

    Ingestion calls it for a job's collection after each batch of items, before indexing: new
    chunks are stored held out and come out here unless they are copies. It also signs
    documents stored before duplicate detection (every collection when `collection_id` is
    None). Each batch is one transaction; returns how many documents were signed.
    """
    total = 0
    while True:
        with transaction.atomic():
            queryset = Document.objects.filter(signed_version__lt=F("version"))
            if collection_id is not None:
                queryset = queryset.filter(collection_id=collection_id)
            documents = list(
                queryset.select_for_update(of=("self",))
                .select_related("collection")
                .defer("text")
                .order_by("id")[:batch_size]
            )
            if not documents:
                return total
            _sign_batch(documents)
        total += len(documents)


def _versions(documents: list[Document]) -> list[_Version]:
    ids = [d.id for d in documents]
    chunks: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    rows = Chunk.objects.filter(document_id__in=ids).order_by("document_id", "ordinal")
    for chunk_id, document_id, text, held_out in rows.values_list(
        "id", "document_id", "text", "held_out"
    ):
        chunks[document_id].append((chunk_id, text, held_out))
    previous: dict[int, list[tuple[int | None, _Text, str]]] = defaultdict(list)
    signatures = TextSignature.objects.filter(document_id__in=ids)
    for document_id, chunk_id, digest, since, algorithm in signatures.values_list(
        "document_id", "chunk_id", "digest", "since", "algorithm"
    ):
        signed = _Text(minhash.from_bytes(digest), since)
        previous[document_id].append((chunk_id, signed, algorithm))
    return [_Version(d, chunks[d.id], previous[d.id]) for d in documents]


def _subject(version: _Version) -> _Subject:
    """Sign a version; its texts are dated by the old texts they nearly repeat, else anew."""
    document = version.document
    signed = minhash.sign_passages([text for _, text, _ in version.chunks])
    old = [(chunk_id, text) for chunk_id, text, a in version.previous if a == minhash.ALGORITHM]
    if version.previous and not old:  # signed by another algorithm: keep its date
        anew = min(text.since for _, text, _ in version.previous)
    else:
        anew = document.updated_at if version.previous else document.created_at
    old_document = [text for chunk_id, text in old if chunk_id is None]
    old_passages = [text for chunk_id, text in old if chunk_id is not None]
    document_text = _Text(signed.document, _since_of(signed.document, old_document, anew))
    passages = tuple(
        (chunk_id, _Text(digest, _since_of(digest, old_passages, anew)))
        for (chunk_id, _, _), digest in zip(version.chunks, signed.passages, strict=True)
    )
    return _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=document.collection.organization_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=passages,
        keys=band_keys_of(document_text, passages),
    )


def _sign_batch(documents: list[Document]) -> None:
    from catalog.services import retrieval

    versions = _versions(documents)
    ids = [d.id for d in documents]
    old_chunk_ids = [c for v in versions for c, _, _ in v.previous if c is not None]
    dependents = set(
        Document.objects.filter(duplicate_of_id__in=ids).exclude(id__in=ids).values_list("id")
    )
    dependents.update(
        Chunk.objects.filter(duplicate_of_id__in=old_chunk_ids)
        .exclude(document_id__in=ids)
        .values_list("document_id")
    )
    if any(v.previous for v in versions):
        TextSignature.objects.filter(document_id__in=ids).delete()
    subjects = [_subject(v) for v in versions]
    keys = {key for s in subjects for text_keys in s.keys.values() for key in text_keys}
    owners = {(s.collection_id, s.provider_id) for s in subjects}
    pool = Pool.load(
        keys, exclude_document_ids=ids, judging=next(iter(owners)) if len(owners) == 1 else None
    )
    verdicts = []
    for order, subject in enumerate(subjects):
        verdict = judge(subject, pool)
        verdicts.append(verdict)
        _add_to_pool(pool, subject, verdict, order)
    _store(subjects)
    newly_held = _apply_batch(versions, verdicts)
    Document.objects.filter(id__in=ids).update(signed_version=F("version"))
    retrieval.forget_chunks_on_commit(newly_held)
    if dependents:
        recheck(document_ids=sorted(d for (d,) in dependents))


def _add_to_pool(pool: Pool, subject: _Subject, verdict: Verdict, order: int) -> None:
    """Make a judged version a candidate for the versions after it in the same batch."""
    signature_id = _BATCH_IDS + order  # after every stored signature, before any new text

    def candidate(chunk_id: int | None, text: _Text, held_out: bool) -> _Candidate | None:
        if text.digest is None:
            return None
        return _Candidate(
            signature_id=signature_id,
            document_id=subject.document_id,
            chunk_id=chunk_id,
            collection_id=subject.collection_id,
            provider_id=subject.provider_id,
            since=text.since,
            digest=text.digest,
            held_out=held_out,
        )

    held_document = verdict.duplicate_of is not None
    texts = [(None, subject.document, held_document)] + [
        (chunk_id, text, held_document or chunk_id in verdict.passage_originals)
        for chunk_id, text in subject.passages
    ]
    for chunk_id, text, held in texts:
        made = candidate(chunk_id, text, held)
        if made is not None:
            pool.add(made, subject.keys[chunk_id])


def _apply_batch(versions: list[_Version], verdicts: list[Verdict]) -> list[int]:
    """Write a batch's verdicts; return the chunks newly held out (already indexed ones)."""
    held: list[tuple[int, int | None]] = []  # (chunk id, original passage)
    newly_held: list[int] = []
    released_ready: list[int] = []
    for version, verdict in zip(versions, verdicts, strict=True):
        document = version.document
        held_document = verdict.duplicate_of is not None
        if held_document or document.status == Document.Status.DUPLICATE:
            Document.objects.filter(id=document.id).update(
                status=Document.Status.DUPLICATE if held_document else Document.Status.PENDING,
                duplicate_of_id=verdict.duplicate_of,
                duplicate_similarity=verdict.similarity,
            )
        for chunk_id, _, was_held in version.chunks:
            original = verdict.passage_originals.get(chunk_id)
            if held_document or original is not None:
                held.append((chunk_id, original))
                newly_held += [] if was_held else [chunk_id]
            elif was_held and document.status == Document.Status.READY:
                released_ready.append(document.id)
    # Chunks are stored held out until judged: let every chunk of the batch in, then hold out
    # again those the verdicts name, in the same transaction.
    ids = [v.document.id for v in versions]
    Chunk.objects.filter(document_id__in=ids).update(held_out=False, duplicate_of=None)
    if held:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE catalog_chunk SET held_out = %s, duplicate_of_id = %s WHERE id = %s",
                [(True, original, chunk_id) for chunk_id, original in held],
            )
    if released_ready:  # passages let back in wait for the index like a new version's
        Document.objects.filter(id__in=released_ready).update(status=Document.Status.PENDING)
    return newly_held


def _store(subjects: Sequence[_Subject]) -> None:
    """Write a batch's signatures and band keys, each with one executemany.

    Raw SQL because building a model instance per row cost more than the inserts; band keys are
    written in key order, which SQLite's index takes about twice as fast.
    """
    signed = [
        (subject, chunk_id, text.digest, text.since)
        for subject in subjects
        for chunk_id, text in [(None, subject.document), *subject.passages]
        if text.digest is not None
    ]
    if not signed:
        return
    fields = {f.name: f for f in TextSignature._meta.concrete_fields}

    def prepared(name: str, value: object) -> Any:  # what the database driver takes
        return fields[name].get_db_prep_value(value, connection)

    algorithm = minhash.ALGORITHM
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO catalog_textsignature (document_id, chunk_id, collection_id, "
            "provider_id, algorithm, digest, since) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    subject.document_id,
                    chunk_id,
                    prepared("collection", subject.collection_id),
                    prepared("provider", subject.provider_id),
                    algorithm,
                    prepared("digest", minhash.to_bytes(digest)),
                    prepared("since", since),
                )
                for subject, chunk_id, digest, since in signed
            ],
        )
        ids: dict[tuple[int, int | None], int] = {
            (document_id, chunk_id): signature_id
            for signature_id, document_id, chunk_id in TextSignature.objects.filter(
                document_id__in=[s.document_id for s in subjects]
            ).values_list("id", "document_id", "chunk_id")
        }
        bands = [
            (ids[subject.document_id, chunk_id], key)
            for subject, chunk_id, _, _ in signed
            for key in subject.keys[chunk_id]
        ]
        bands.sort(key=lambda band: band[1])
        cursor.executemany(
            "INSERT INTO catalog_signatureband (signature_id, key) VALUES (%s, %s)", bands
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
