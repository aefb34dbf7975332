"""Judging a text against the catalog: which earlier document it copies, which passages repeat.

A candidate is a stored signature that shares an LSH band key with the subject's; it counts if
it is earlier (its `since`, then its id), not held out itself, and its estimated Jaccard
similarity reaches CATALOG_DUPLICATE_THRESHOLD. Documents are judged against other providers'
documents; passages against other providers' passages and their own collection's (earlier
passages of the same document included).
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from catalog.ingestion import minhash
from catalog.models import Document

_CANDIDATES_SQL = """
SELECT s.id, s.document_id, s.collection_id, s.provider_id, s.digests, s.chunk_ids, s.since_us,
       d.status
FROM catalog_textsignature s
JOIN catalog_document d ON d.id = s.document_id
WHERE s.id IN (SELECT signature_id FROM catalog_signatureband WHERE key IN ({placeholders}))
  AND s.algorithm = %s
"""
_HELD_SQL = "SELECT id FROM catalog_chunk WHERE held_out AND id IN ({placeholders})"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UNSIGNED = np.full(minhash.NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)


def _uuid(value: Any) -> uuid.UUID:
    """Return a UUID as read raw: PostgreSQL gives UUIDs, SQLite 32 hex digits."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def encode_parts(parts: Sequence[tuple[int | None, "_Text"]]) -> tuple[bytes, bytes, bytes]:
    """Return the digests, chunk ids and dates of a signature row's parts, as stored."""
    digests = np.stack([_UNSIGNED if t.digest is None else t.digest for _, t in parts])
    chunk_ids = np.asarray([chunk_id or 0 for chunk_id, _ in parts], dtype="<i8")
    since = np.asarray([(t.since - _EPOCH) // _MICROSECOND for _, t in parts], dtype="<i8")
    return digests.astype("<u4").tobytes(), chunk_ids.tobytes(), since.tobytes()


def decode_parts(
    digests: bytes | memoryview,
    chunk_ids: bytes | memoryview,
    since_us: bytes | memoryview,
    signature_id: int,
) -> list[tuple[int | None, "_Text"]]:
    """Return a signature row's parts: (chunk id, None for the document; its text)."""
    matrix = np.frombuffer(bytes(digests), dtype="<u4").astype(np.uint32).reshape(-1, 128)
    ids = np.frombuffer(bytes(chunk_ids), dtype="<i8").tolist()
    dates = np.frombuffer(bytes(since_us), dtype="<i8").tolist()
    return [
        (
            int(chunk_id) or None,
            _Text(
                None if (digest == _UNSIGNED).all() else digest,
                _EPOCH + micros * _MICROSECOND,
                signature_id,
            ),
        )
        for digest, chunk_id, micros in zip(matrix, ids, dates, strict=True)
    ]


LOOKUP_BATCH = 2000  # band keys per lookup query (SQLite takes at most 32,766 parameters)

_LATEST = (1 << 63) - 1  # the signature id of a text not stored yet: later than any other


@dataclass(frozen=True)
class DuplicateRef:
    """The original a held-out document copies, as its provider may see it: id and title."""

    document_id: int
    title: str
    similarity: float


@dataclass(frozen=True)
class _Text:
    digest: minhash.Digest | None
    since: datetime
    signature_id: int = _LATEST

    def comes_after(self, since: datetime, signature_id: int) -> bool:
        return (since, signature_id) < (self.since, self.signature_id)


@dataclass(frozen=True)
class _Subject:
    """A document version to judge: its own signatures and whose it is."""

    document_id: int
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    released_from: int | None
    document: _Text
    passages: tuple[tuple[int, _Text], ...]  # (chunk id, text) in ordinal order
    keys: dict[int | None, list[int]]  # band keys by chunk id (None: the document's)


def band_keys_of(
    document: _Text, passages: Sequence[tuple[int, _Text]]
) -> dict[int | None, list[int]]:
    """Return the band keys of a document's signatures, by chunk id (None: the document's)."""
    keys: dict[int | None, list[int]] = {}
    if document.digest is not None:
        keys[None] = minhash.band_keys(document.digest, minhash.DOCUMENT_LEVEL)
    signed = [(chunk_id, text.digest) for chunk_id, text in passages if text.digest is not None]
    if signed:
        matrix = minhash.band_key_matrix(np.stack([d for _, d in signed]), minhash.PASSAGE_LEVEL)
        keys.update(
            (chunk_id, row.tolist()) for (chunk_id, _), row in zip(signed, matrix, strict=True)
        )
    return keys


@dataclass(frozen=True)
class _Candidate:
    signature_id: int
    document_id: int
    chunk_id: int | None
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    since: datetime
    digest: minhash.Digest
    held_out: bool


@dataclass(frozen=True)
class Verdict:
    """What a judgement found: the original document, and each copied passage's original."""

    duplicate_of: int | None = None
    similarity: float | None = None
    passage_originals: dict[int, int] = field(default_factory=dict)


def _threshold() -> float:
    return float(settings.CATALOG_DUPLICATE_THRESHOLD)


# -- judging ----------------------------------------------------------------------------------


def _held_chunks(chunk_ids: list[int]) -> set[int]:
    """Return which of these chunks are held out."""
    held: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(chunk_ids), LOOKUP_BATCH):
            part = chunk_ids[start : start + LOOKUP_BATCH]
            placeholders = ", ".join(["%s"] * len(part))
            cursor.execute(_HELD_SQL.format(placeholders=placeholders), part)
            held.update(row[0] for row in cursor.fetchall())
    return held


class Pool:
    """Candidates by band key: stored signatures, and in a batch the texts judged before."""

    def __init__(self) -> None:
        self._by_key: dict[int, list[_Candidate]] = defaultdict(list)

    def add(self, candidate: _Candidate, keys: Sequence[int]) -> None:
        for key in keys:
            self._by_key[key].append(candidate)

    def near(self, keys: Sequence[int]) -> list[_Candidate]:
        """Return the candidates sharing at least one of these keys, each once."""
        found: dict[int, _Candidate] = {}
        for key in keys:
            for candidate in self._by_key.get(key, ()):
                found[id(candidate)] = candidate
        return list(found.values())

    @classmethod
    def load(
        cls,
        keys: set[int],
        *,
        exclude_document_ids: Sequence[int] = (),
        judging: tuple[uuid.UUID, uuid.UUID] | None = None,
    ) -> "Pool":
        """Return the stored signatures sharing a key with `keys`, of other documents.

        With `judging` (collection id, provider id) of texts all from one collection, only
        signatures that can count for them are read: its own collection's and other providers'.
        """
        pool = cls()
        ordered = sorted(keys)
        excluded = set(exclude_document_ids)
        rows: list[tuple[Any, ...]] = []
        with connection.cursor() as cursor:
            for start in range(0, len(ordered), LOOKUP_BATCH):
                part = ordered[start : start + LOOKUP_BATCH]
                # Raw SQL: the ORM prepares each IN value one by one and costs more than the
                # query. Only placeholders are formatted in; the keys are parameters.
                placeholders = ", ".join(["%s"] * len(part))
                cursor.execute(
                    _CANDIDATES_SQL.format(placeholders=placeholders),
                    [*part, minhash.ALGORITHM],
                )
                rows += cursor.fetchall()
        candidates: list[_Candidate] = []
        for signature_id, document_id, collection, provider, digests, ids, since, status in {
            row[0]: row for row in rows
        }.values():
            collection_id, provider_id = _uuid(collection), _uuid(provider)
            if document_id in excluded or (
                judging is not None and provider_id == judging[1] and collection_id != judging[0]
            ):
                continue
            candidates += [
                _Candidate(
                    signature_id=signature_id,
                    document_id=document_id,
                    chunk_id=chunk_id,
                    collection_id=collection_id,
                    provider_id=provider_id,
                    since=text.since,
                    digest=text.digest,
                    held_out=chunk_id is None and status == Document.Status.DUPLICATE,
                )
                for chunk_id, text in decode_parts(digests, ids, since, signature_id)
                if text.digest is not None
            ]
        held = _held_chunks([c.chunk_id for c in candidates if c.chunk_id is not None])
        candidates = [replace(c, held_out=True) if c.chunk_id in held else c for c in candidates]
        for level, chunk_level in ((minhash.DOCUMENT_LEVEL, False), (minhash.PASSAGE_LEVEL, True)):
            group = [c for c in candidates if (c.chunk_id is not None) == chunk_level]
            if group:
                matrix = minhash.band_key_matrix(np.stack([c.digest for c in group]), level)
                for candidate, row_keys in zip(group, matrix.tolist(), strict=True):
                    pool.add(candidate, row_keys)
        return pool


def _best(
    text: _Text, candidates: Sequence[_Candidate], threshold: float
) -> tuple[_Candidate, float] | None:
    """Return the most similar earlier candidate at or over the threshold, if any."""
    earlier = [c for c in candidates if text.comes_after(c.since, c.signature_id)]
    if text.digest is None or not earlier:
        return None
    scores = minhash.similarities(text.digest, np.stack([c.digest for c in earlier]))
    best = max(
        range(len(earlier)),
        key=lambda i: (scores[i], -earlier[i].since.timestamp(), -earlier[i].signature_id),
    )
    return (earlier[best], float(scores[best])) if scores[best] >= threshold else None


def judge(subject: _Subject, pool: Pool | None = None, also: Pool | None = None) -> Verdict:
    """Return which earlier document the subject copies, and which passages repeat others.

    Candidates come from `pool` (loaded for the subject's keys when not given) and `also`
    (versions judged but not stored yet).
    """
    threshold = _threshold()
    if pool is None:
        every_key = {key for text_keys in subject.keys.values() for key in text_keys}
        pool = Pool.load(
            every_key,
            exclude_document_ids=[subject.document_id],
            judging=(subject.collection_id, subject.provider_id),
        )

    def foreign(c: _Candidate) -> bool:
        return c.provider_id != subject.provider_id and c.document_id != subject.released_from

    def usable(c: _Candidate) -> bool:  # a passage: other providers' and its own collection's
        return (
            not c.held_out
            and c.document_id != subject.document_id
            and c.document_id != subject.released_from
            and (foreign(c) or c.collection_id == subject.collection_id)
        )

    def near(keys: Sequence[int]) -> list[_Candidate]:
        found = pool.near(keys)
        return found + also.near(keys) if also is not None else found

    documents = near(subject.keys.get(None, []))
    original = _best(
        subject.document,
        [c for c in documents if c.chunk_id is None and not c.held_out and foreign(c)],
        threshold,
    )
    originals: dict[int, int] = {}
    kept = Pool()  # this document's passages indexed so far
    for order, (chunk_id, text) in enumerate(subject.passages):
        keys = subject.keys.get(chunk_id, [])
        others = [c for c in near(keys) if c.chunk_id is not None and usable(c)]
        found = _best(text, [*others, *kept.near(keys)], threshold)
        if found is not None and found[0].chunk_id is not None:
            originals[chunk_id] = found[0].chunk_id
        elif text.digest is not None:
            candidate = _Candidate(
                signature_id=-len(subject.passages) + order,  # before any later passage
                document_id=subject.document_id,
                chunk_id=chunk_id,
                collection_id=subject.collection_id,
                provider_id=subject.provider_id,
                since=text.since,
                digest=text.digest,
                held_out=False,
            )
            kept.add(candidate, keys)
    if original is None:
        return Verdict(passage_originals=originals)
    return Verdict(original[0].document_id, round(original[1], 4), originals)


def _since_of(digest: minhash.Digest | None, previous: Sequence[_Text], now: datetime) -> datetime:
    """Return the date a text owns from: that of the old text it nearly repeats, else now."""
    if digest is None or not previous:
        return now
    threshold = _threshold()
    matches = [
        old.since
        for old in previous
        if old.digest is not None and minhash.similarity(digest, old.digest) >= threshold
    ]
    return min(matches, default=now)
