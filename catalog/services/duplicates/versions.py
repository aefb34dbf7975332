"""Signing each new version of a document as it is ingested, alone or with its batch, and the
documents stored unsigned."""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import F

from catalog.ingestion import minhash
from catalog.models import Document, SignatureBand, TextSignature
from catalog.services.duplicates.judging import judge
from catalog.services.duplicates.rejudging import _apply, dependents_of, recheck
from catalog.services.duplicates.texts import (
    LATEST,
    Pool,
    Row,
    Subject,
    Verdict,
    held_parts,
    micros,
    original_keys,
    row_of,
    since_of,
)

# -- signing each new version --------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """A new version signed and judged before its chunks are stored.

    Its passages are keyed by placeholders (-1 for the first, -2 for the second...) until the
    chunks exist; `record_version` maps them to the chunk ids. `document_id` and `version`
    say which state of the document it was judged as (None and 0: not stored yet).
    """

    subject: Subject
    verdict: Verdict
    document_id: int | None
    version: int

    def passage_state(self, ordinal: int) -> tuple[bool, int | None]:
        """Return whether the passage is held out, and the other document's passage it copies
        (None: none, or a repeat of an earlier passage of its own document)."""
        original = self.verdict.passage_originals.get(-(ordinal + 1))
        held = self.verdict.duplicate_of is not None or original is not None
        return held, original if original is not None and original > 0 else None

    def fits(self, document: Document | None) -> bool:
        """Return whether this judgement was made of the document as it is now."""
        if document is None:
            return self.document_id is None
        return (self.document_id, self.version) == (document.id, document.version)


def _previous(document_id: int) -> tuple[Row | None, int | None]:
    """Return the stored signatures of a document (of the current algorithm) and the oldest
    date they hold (of any algorithm), in microseconds."""
    row = (
        TextSignature.objects.filter(document_id=document_id)
        .values_list(
            "id", "algorithm", "digests", "chunk_ids", "since_us", "collection_id", "provider_id"
        )
        .first()
    )
    if row is None:
        return None, None
    signature_id, algorithm, digests, chunk_ids, since_us, collection_id, provider_id = row
    since = np.frombuffer(since_us, dtype="<i8").astype(np.int64)
    if algorithm != minhash.ALGORITHM:
        return None, int(since.min())
    stored = Row(
        signature_id=signature_id,
        document_id=document_id,
        collection_id=collection_id,
        provider_id=provider_id,
        digests=minhash.from_bytes(digests),
        chunk_ids=np.frombuffer(chunk_ids, dtype="<i8").astype(np.int64),
        since_us=since,
    )
    return stored, int(since.min())


def judge_version(
    *,
    document: Document | None,
    collection_id: uuid.UUID,
    provider_id: uuid.UUID,
    passages: Sequence[str],
    anew: datetime,
    signed: minhash.TextSignatures | None = None,
) -> Judgement:
    """Sign a document version's passages (in ordinal order) and judge it against the catalog.

    `document` is the document as stored now (None: a new one). Needs no transaction: call it
    before taking locks, and judge again inside if the document changed since (`fits`).
    Its texts are dated `anew` unless they nearly repeat the texts of the version before (which
    keep their date; a version signed by another algorithm keeps the oldest date it had).
    `signed` is `minhash.sign_passages(passages)` when the caller signed them already.
    """
    previous, oldest = _previous(document.id) if document is not None else (None, None)
    now_us = micros(anew)
    if oldest is not None and previous is None:
        now_us = min(now_us, oldest)
    if signed is None:
        signed = minhash.sign_passages(passages)
    key_parts, keys = minhash.band_keys(signed.digests, signed.signed)
    subject = Subject(
        document_id=document.id if document is not None else 0,
        collection_id=collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id if document is not None else None,
        signature_id=LATEST,
        digests=signed.digests,
        signed=signed.signed,
        since_us=since_of(signed.digests, signed.signed, previous, now_us),
        chunk_ids=tuple(-(ordinal + 1) for ordinal in range(len(passages))),
        key_parts=tuple(key_parts),
        keys=tuple(keys),
    )
    batch = _batch.get()
    verdict = judge(subject, also=batch.pool if batch is not None else None)
    if document is None:
        return Judgement(subject, verdict, None, 0)
    return Judgement(subject, verdict, document.id, document.version)


def record_version(
    *,
    judgement: Judgement,
    document: Document,
    chunk_ids: Sequence[int],
    dependents: Sequence[int] = (),
) -> Verdict:
    """Hold out the document if it is a copy and point repeats at their passage, once its
    chunks exist; store its signatures now, or with its batch (`deferred_signatures`).

    `dependents` are the documents holding texts held out against its old version (found
    before the old chunks went): they are judged again once the new signatures are stored.
    Returns the verdict with chunk ids in place of placeholders.
    """
    real = {-(ordinal + 1): chunk_id for ordinal, chunk_id in enumerate(chunk_ids)}
    subject = replace(
        judgement.subject,
        document_id=document.id,
        chunk_ids=tuple(real[placeholder] for placeholder in judgement.subject.chunk_ids),
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
    if verdict.duplicate_of is not None:
        document.status = Document.Status.DUPLICATE
        document.duplicate_of_id = verdict.duplicate_of
        document.duplicate_similarity = verdict.similarity
        document.duplicate_measure = verdict.measure
        Document.objects.filter(id=document.id).update(
            status=document.status,
            duplicate_of_id=verdict.duplicate_of,
            duplicate_similarity=verdict.similarity,
            duplicate_measure=verdict.measure,
        )
    signed = _Signed(subject, verdict, document.version, tuple(dependents))
    batch = _batch.get()
    if batch is not None:
        batch.staged.append(signed)  # joins the batch once its transaction commits
    else:
        _store_signed([signed])
    return verdict


def batch_may_change(judgement: Judgement) -> bool:
    """Return whether a version recorded in the current batch (`deferred_signatures`) shares a
    band key with the judged one: judged before it was recorded, it must be judged again."""
    batch = _batch.get()
    return batch is not None and bool(batch.pool.matches(judgement.subject.keys))


@dataclass(frozen=True)
class _Signed:
    subject: Subject
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
        subject = signed.subject
        held = held_parts(subject, signed.verdict)
        row = row_of(subject, _BATCH_IDS + len(self.signed), held)
        self.pool.add(row, *original_keys(subject, held))
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
    prepared = _prepare(signed)  # before taking the write lock
    with transaction.atomic():
        ids = [s.subject.document_id for s in signed]
        current = dict(Document.objects.filter(id__in=ids).values_list("id", "version"))
        kept = [current.get(s.subject.document_id) == s.version for s in signed]
        kept_ids = [s.subject.document_id for s, k in zip(signed, kept, strict=True) if k]
        TextSignature.objects.filter(document_id__in=kept_ids).delete()
        _store(prepared, kept)
        Document.objects.filter(id__in=kept_ids).update(signed_version=F("version"))
        dependents = sorted(
            {d for s, k in zip(signed, kept, strict=True) if k for d in s.dependents}
            - set(kept_ids)
        )
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
                collection_id=document.collection_id,
                provider_id=document.collection.organization_id,
                passages=[chunk.text for chunk in chunks],
                anew=document.created_at,
            )
            verdict = record_version(
                judgement=judgement,
                document=document,
                chunk_ids=[c.id for c in chunks],
                dependents=dependents_of(document_id=document.id),
            )
            document.refresh_from_db(fields=["status", "duplicate_of", "duplicate_similarity"])
            retrieval.forget_chunks_on_commit(_apply(document, chunks, verdict))
    if collection_id is None:  # the whole catalog: drop the band keys of replaced signatures
        SignatureBand.objects.exclude(signature_id__in=TextSignature.objects.values("id")).delete()
    return len(pending)


@dataclass(frozen=True)
class _Prepared:
    origins: list[int]  # the index of each signature row's version among those given
    values: list[list[Any]]  # each signature row's values, as the database driver takes them
    bands: npt.NDArray[np.int64]  # rows of (signature row, part, key), in key order


def _prepare(signed: Sequence[_Signed]) -> _Prepared:
    """Return the signature rows and band keys of versions to store, ready to insert (the
    versions with nothing long enough to sign have none; held-out parts have no keys)."""
    fields = {f.name: f for f in TextSignature._meta.concrete_fields}

    def prepared(name: str, value: object) -> Any:  # what the database driver takes
        return fields[name].get_db_prep_value(value, connection)

    origins: list[int] = []
    values: list[list[Any]] = []
    rows: list[int] = []
    parts: list[int] = []
    keys: list[int] = []
    for origin, version in enumerate(signed):
        subject = version.subject
        if not subject.signed.any():
            continue
        key_parts, part_keys = original_keys(subject, held_parts(subject, version.verdict))
        rows += [len(origins)] * len(part_keys)
        parts += key_parts
        keys += part_keys
        origins.append(origin)
        chunk_ids = np.asarray([0, *subject.chunk_ids], dtype="<i8")
        values.append(
            [
                subject.document_id,
                prepared("collection", subject.collection_id),
                prepared("provider", subject.provider_id),
                minhash.ALGORITHM,
                prepared("digests", minhash.to_bytes(subject.digests)),
                prepared("chunk_ids", chunk_ids.tobytes()),
                prepared("since_us", subject.since_us.astype("<i8").tobytes()),
            ]
        )
    bands = np.column_stack(
        [np.asarray(a, dtype=np.int64).reshape(-1) for a in (rows, parts, keys)]
    )
    # Band keys in key order: SQLite's index takes them about twice as fast.
    return _Prepared(origins, values, bands[np.argsort(bands[:, 2], kind="stable")])


_SIGNATURE_ROW = "(%s, %s, %s, %s, %s, %s, %s)"


def _store(prepared: _Prepared, kept: Sequence[bool]) -> None:
    """Write the signature rows of the versions kept (one INSERT returning their ids) and their
    band keys (one executemany).

    Raw SQL: building a model instance per band key cost more than the inserts themselves.
    """
    chosen = [row for row, origin in enumerate(prepared.origins) if kept[origin]]
    if not chosen:
        return
    signature_ids = np.full(len(prepared.origins), -1, dtype=np.int64)
    with connection.cursor() as cursor:
        for start in range(0, len(chosen), _ROWS_PER_INSERT):
            part = chosen[start : start + _ROWS_PER_INSERT]
            cursor.execute(
                _INSERT_SIGNATURES.format(rows=", ".join([_SIGNATURE_ROW] * len(part))),
                [value for row in part for value in prepared.values[row]],
            )
            # Rows come back in the order given, as bulk_create relies on for both databases.
            signature_ids[part] = [signature_id for (signature_id,) in cursor.fetchall()]
        bands = prepared.bands.copy()
        bands[:, 0] = signature_ids[bands[:, 0]]
        bands = bands[bands[:, 0] >= 0]
        # Many rows a statement, their values one flat list: no object per row to build.
        for start in range(0, len(bands), _BANDS_PER_INSERT):
            values = bands[start : start + _BANDS_PER_INSERT]
            cursor.execute(
                _INSERT_BANDS.format(rows=", ".join(["(%s, %s, %s)"] * len(values))),
                values.ravel().tolist(),
            )


_ROWS_PER_INSERT = 100  # 700 parameters a statement
_BANDS_PER_INSERT = 3000  # 9,000 parameters (SQLite takes 32,766, PostgreSQL 65,535)
_INSERT_BANDS = "INSERT INTO catalog_signatureband (signature_id, part, key) VALUES {rows}"
_INSERT_SIGNATURES = (
    "INSERT INTO catalog_textsignature (document_id, collection_id, provider_id, algorithm, "
    "digests, chunk_ids, since_us) VALUES {rows} RETURNING id"
)
