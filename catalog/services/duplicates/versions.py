"""Signing each new version of a document as it is ingested, alone or with its batch, and the
documents stored unsigned."""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from catalog.ingestion import minhash
from catalog.models import Document, SignatureBand, TextSignature
from catalog.services.duplicates.judging import (
    Pool,
    Verdict,
    _Candidate,
    _since_of,
    _Subject,
    _Text,
    band_keys_of,
    decode_parts,
    encode_parts,
    judge,
)
from catalog.services.duplicates.rejudging import _apply, dependents_of, recheck

# -- signing each new version --------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """A new version signed and judged before its chunks are stored.

    Its passages are keyed by placeholders (-1 for the first, -2 for the second...) until the
    chunks exist; `record_version` maps them to the chunk ids.
    """

    subject: _Subject
    verdict: Verdict
    dependents: tuple[int, ...]  # documents holding texts held out against the old version
    created: bool  # a new document: no old version, no signatures to replace

    def passage_state(self, ordinal: int) -> tuple[bool, int | None]:
        """Return whether the passage is held out, and the other document's passage it copies
        (None: none, or a repeat of an earlier passage of its own document)."""
        original = self.verdict.passage_originals.get(-(ordinal + 1))
        held = self.verdict.duplicate_of is not None or original is not None
        return held, original if original is not None and original > 0 else None


def _previous(document: Document) -> tuple[list[tuple[int | None, _Text]], datetime | None]:
    """Return the stored texts of a document (of the current algorithm) and the oldest date."""
    row = (
        TextSignature.objects.filter(document=document)
        .values_list("id", "algorithm", "digests", "chunk_ids", "since_us")
        .first()
    )
    if row is None:
        return [], None
    signature_id, algorithm, digests, chunk_ids, since_us = row
    parts = decode_parts(digests, chunk_ids, since_us, signature_id)
    oldest = min(text.since for _, text in parts)
    return (parts if algorithm == minhash.ALGORITHM else []), oldest


def judge_version(
    *,
    document: Document,
    passages: Sequence[str],
    provider_id: uuid.UUID,
    anew: datetime,
    created: bool = False,
) -> Judgement:
    """Sign a document version's passages (in ordinal order) and judge it against the catalog.

    Call before the old version's chunks are deleted: the documents holding texts held out
    against them are found through them.
    Its texts are dated `anew` unless they nearly repeat the texts of the version before (which
    keep their date; a version signed by another algorithm keeps the oldest date it had).
    """
    previous, oldest = ([], None) if created else _previous(document)
    if oldest is not None and not previous:
        anew = min(anew, oldest)
    signed = minhash.sign_passages(passages)
    old_document = [text for chunk_id, text in previous if chunk_id is None]
    old_passages = [text for chunk_id, text in previous if chunk_id is not None]
    document_text = _Text(signed.document, _since_of(signed.document, old_document, anew))
    texts = tuple(
        (-(ordinal + 1), _Text(digest, _since_of(digest, old_passages, anew)))
        for ordinal, digest in enumerate(signed.passages)
    )
    subject = _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=texts,
        keys=band_keys_of(document_text, texts),
    )
    dependents = () if created else tuple(dependents_of(document_id=document.id))
    batch = _batch.get()
    verdict = judge(subject, also=batch.pool if batch is not None else None)
    return Judgement(subject, verdict, dependents, created)


def record_version(*, judgement: Judgement, document: Document, chunk_ids: Sequence[int]) -> None:
    """Hold out the document if it is a copy and point repeats at their passage, once its
    chunks exist; store its signatures now, or with its batch (`deferred_signatures`)."""
    real = {-(ordinal + 1): chunk_id for ordinal, chunk_id in enumerate(chunk_ids)}
    subject = judgement.subject
    subject = replace(
        subject,
        passages=tuple((real[placeholder], text) for placeholder, text in subject.passages),
        keys={(real[k] if k is not None else None): v for k, v in subject.keys.items()},
    )
    verdict = judgement.verdict
    repeats = [
        (real[placeholder], real[original])
        for placeholder, original in verdict.passage_originals.items()
        if original < 0
    ]
    if repeats:  # a repeat of an earlier passage of the same document: its id is known now
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE catalog_chunk SET duplicate_of_id = %s WHERE id = %s",
                [(original, chunk_id) for chunk_id, original in repeats],
            )
        verdict = replace(
            verdict,
            passage_originals={
                real[p]: real[o] if o < 0 else o for p, o in verdict.passage_originals.items()
            },
        )
    else:
        verdict = replace(
            verdict,
            passage_originals={real[p]: o for p, o in verdict.passage_originals.items()},
        )
    if verdict.duplicate_of is not None:
        document.status = Document.Status.DUPLICATE
        document.duplicate_of_id = verdict.duplicate_of
        document.duplicate_similarity = verdict.similarity
        Document.objects.filter(id=document.id).update(
            status=document.status,
            duplicate_of_id=verdict.duplicate_of,
            duplicate_similarity=verdict.similarity,
        )
    signed = _Signed(subject, verdict, document.version, judgement.dependents)
    batch = _batch.get()
    if batch is not None:
        batch.staged.append(signed)  # joins the batch once its transaction commits
    else:
        _store_signed([signed])


@dataclass(frozen=True)
class _Signed:
    subject: _Subject
    verdict: Verdict
    version: int
    dependents: tuple[int, ...]


class _Batch:
    """Versions judged and committed, whose signatures are stored together at the end."""

    def __init__(self) -> None:
        self.pool = Pool()  # their texts, candidates for the versions judged after them
        self.signed: list[_Signed] = []
        self.staged: list[_Signed] = []  # recorded in a transaction not yet committed

    def add(self, signed: _Signed) -> None:
        subject, verdict = signed.subject, signed.verdict
        held_document = verdict.duplicate_of is not None
        for chunk_id, text in [(None, subject.document), *subject.passages]:
            if text.digest is None:
                continue
            held = held_document or (chunk_id is not None and chunk_id in verdict.passage_originals)
            candidate = _Candidate(
                signature_id=_BATCH_IDS + len(self.signed),
                document_id=subject.document_id,
                chunk_id=chunk_id,
                collection_id=subject.collection_id,
                provider_id=subject.provider_id,
                since=text.since,
                digest=text.digest,
                held_out=held,
            )
            self.pool.add(candidate, subject.keys.get(chunk_id, []))
        self.signed.append(signed)


_BATCH_IDS = 1 << 62  # ordering ids of a batch's texts: after stored ones, before new ones
_batch: ContextVar[_Batch | None] = ContextVar("catalog_duplicates_batch", default=None)


@contextmanager
def deferred_signatures() -> Iterator[None]:
    """Store the signatures of the versions recorded inside in one transaction at the end.

    Random band keys dirty a page of the key index each; one transaction for a batch of
    documents writes each page once, not once per document. Versions judged inside see the
    ones recorded before them; other processes see them once stored.
    """
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        _store_signed(batch.signed)


@contextmanager
def recording() -> Iterator[None]:
    """Wrap the transaction that records a version: inside `deferred_signatures`, what it
    recorded joins the batch only if the transaction commits."""
    batch = _batch.get()
    if batch is None:
        yield
        return
    batch.staged.clear()
    try:
        yield
    finally:
        staged, batch.staged = batch.staged, []
    for signed in staged:
        batch.add(signed)


def _store_signed(signed: list[_Signed]) -> None:
    """Store versions' signatures (unless a newer version came since), mark them signed, and
    judge again what was held out against their old versions."""
    if not signed:
        return
    with transaction.atomic():
        ids = [s.subject.document_id for s in signed]
        current = dict(Document.objects.filter(id__in=ids).values_list("id", "version"))
        kept = [s for s in signed if current.get(s.subject.document_id) == s.version]
        kept_ids = [s.subject.document_id for s in kept]
        TextSignature.objects.filter(document_id__in=kept_ids).delete()
        _store([s.subject for s in kept])
        Document.objects.filter(id__in=kept_ids).update(signed_version=F("version"))
        dependents = sorted({d for s in kept for d in s.dependents} - set(kept_ids))
        if dependents:
            recheck(document_ids=dependents)


def sign_documents(*, collection_id: uuid.UUID | None = None) -> int:
    """Sign and judge the documents whose current version has no signatures, oldest first.

    For documents stored before duplicate detection, or signed by another algorithm version
    (reset their `signed_version`), or whose ingestion stopped before their batch was stored:
    each is judged against those signed before it, dated by its creation, and what it copies
    or repeats is held out and leaves the index. Over the whole catalog it also drops the band
    keys of replaced signatures. Returns how many documents were signed.
    """
    from catalog.services import retrieval

    queryset = Document.objects.filter(signed_version__lt=F("version"))
    if collection_id is not None:
        queryset = queryset.filter(collection_id=collection_id)
    pending = list(queryset.order_by("created_at", "id").values_list("id", flat=True))
    for document_id in pending:
        with transaction.atomic():
            document = (
                Document.objects.select_for_update(of=("self",))
                .select_related("collection")
                .defer("text")
                .get(id=document_id)
            )
            chunks = list(document.chunks.order_by("ordinal"))
            judgement = judge_version(
                document=document,
                passages=[chunk.text for chunk in chunks],
                provider_id=document.collection.organization_id,
                anew=document.created_at,
            )
            record_version(judgement=judgement, document=document, chunk_ids=[c.id for c in chunks])
            verdict = judgement.verdict
            by_chunk = Verdict(
                verdict.duplicate_of,
                verdict.similarity,
                {
                    chunks[-placeholder - 1].id: (
                        chunks[-original - 1].id if original < 0 else original
                    )
                    for placeholder, original in verdict.passage_originals.items()
                },
            )
            document.refresh_from_db(fields=["status", "duplicate_of", "duplicate_similarity"])
            retrieval.forget_chunks_on_commit(_apply(document, chunks, by_chunk))
    if collection_id is None:  # the whole catalog: drop the band keys of replaced signatures
        SignatureBand.objects.exclude(signature_id__in=TextSignature.objects.values("id")).delete()
    return len(pending)


_SIGNATURE_ROW = "(%s, %s, %s, %s, %s, %s, %s)"


def _store(subjects: Sequence[_Subject]) -> None:
    """Write signature rows (one INSERT returning their ids) and band keys (one executemany,
    in key order, which SQLite's index takes about twice as fast).

    Raw SQL: building a model instance per band key cost more than the inserts themselves.
    """
    fields = {f.name: f for f in TextSignature._meta.concrete_fields}

    def prepared(name: str, value: object) -> Any:  # what the database driver takes
        return fields[name].get_db_prep_value(value, connection)

    rows: list[tuple[_Subject, list[tuple[int | None, _Text]]]] = []
    values: list[Any] = []
    for subject in subjects:
        parts = [(None, subject.document), *subject.passages]
        if all(text.digest is None for _, text in parts):
            continue
        digests, chunk_ids, since_us = encode_parts(parts)
        rows.append((subject, parts))
        values += [
            subject.document_id,
            prepared("collection", subject.collection_id),
            prepared("provider", subject.provider_id),
            minhash.ALGORITHM,
            prepared("digests", digests),
            prepared("chunk_ids", chunk_ids),
            prepared("since_us", since_us),
        ]
    if not rows:
        return
    with connection.cursor() as cursor:
        bands: list[tuple[int, int, int]] = []
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part_rows = rows[start : start + _ROWS_PER_INSERT]
            cursor.execute(
                _INSERT_SIGNATURES.format(rows=", ".join([_SIGNATURE_ROW] * len(part_rows))),
                values[start * 7 : (start + len(part_rows)) * 7],
            )
            # Rows come back in the order given, as bulk_create relies on for both databases.
            for (signature_id,), (subject, parts) in zip(cursor.fetchall(), part_rows, strict=True):
                bands += [
                    (signature_id, part, key)
                    for part, (chunk_id, _) in enumerate(parts)
                    for key in subject.keys.get(chunk_id, [])
                ]
        bands.sort(key=lambda band: band[2])
        cursor.executemany(
            "INSERT INTO catalog_signatureband (signature_id, part, key) VALUES (%s, %s, %s)",
            bands,
        )


_ROWS_PER_INSERT = 100  # 700 parameters a statement
_INSERT_SIGNATURES = (
    "INSERT INTO catalog_textsignature (document_id, collection_id, provider_id, algorithm, "
    "digests, chunk_ids, since_us) VALUES {rows} RETURNING id"
)
