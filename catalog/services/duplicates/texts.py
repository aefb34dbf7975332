"""What judging works on: a document version's signatures (stored, batched or new), the
verdict, and the keys and dates that go with them."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from catalog.ingestion import minhash

WORDING, CONTENT = "wording", "content"  # which measure found a copy
LATEST = (1 << 63) - 1  # the signature id of a text not stored yet: later than any other
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Int64s = npt.NDArray[np.int64]


def micros(moment: datetime) -> int:
    """Return a moment as stored with signatures: microseconds since 1970."""
    return (moment - _EPOCH) // _MICROSECOND


def _uuid(value: Any) -> uuid.UUID:
    """Return a UUID as read raw: PostgreSQL gives UUIDs, SQLite 32 hex digits."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@dataclass(frozen=True)
class DuplicateRef:
    """The original a held-out document copies, as its provider may see it: id and title, and
    how near: the similarity by the measure that found it (wording or content)."""

    document_id: int
    title: str
    similarity: float
    measure: str = WORDING


@dataclass(frozen=True)
class Row:
    """The stored signatures of one document version: every part's, row 0 the document's."""

    signature_id: int
    document_id: int
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    digests: minhash.Digests
    chunk_ids: Int64s  # 0 for the document
    since_us: Int64s
    held: npt.NDArray[np.bool_] | None = None  # which parts are held out
    # Whether `held` is known for the passages too (a batch's rows); a stored row's passages
    # are looked up only when they are near enough to count.
    passages_known: bool = True


@dataclass(frozen=True)
class Subject:
    """A document version to judge: its signatures, their band keys, and whose it is."""

    document_id: int
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    released_from: int | None
    signature_id: int
    digests: minhash.Digests
    signed: npt.NDArray[np.bool_]
    since_us: Int64s
    chunk_ids: tuple[int, ...]  # the passages' (placeholders -1, -2, ... until stored)
    key_parts: tuple[int, ...]
    keys: tuple[int, ...]


def subject_of(
    row: Row, *, document_id: int | None = None, released_from: int | None = None
) -> Subject:
    """Return the subject of stored (or batched) signatures, its band keys made again."""
    signed = minhash.signed_rows(row.digests)
    key_parts, keys = minhash.band_keys(row.digests, signed)
    return Subject(
        document_id=row.document_id if document_id is None else document_id,
        collection_id=row.collection_id,
        provider_id=row.provider_id,
        released_from=released_from,
        signature_id=row.signature_id,
        digests=row.digests,
        signed=signed,
        since_us=row.since_us,
        chunk_ids=tuple(row.chunk_ids[1:].tolist()),
        key_parts=tuple(key_parts),
        keys=tuple(keys),
    )


def row_of(subject: Subject, signature_id: int, held: npt.NDArray[np.bool_] | None) -> Row:
    return Row(
        signature_id=signature_id,
        document_id=subject.document_id,
        collection_id=subject.collection_id,
        provider_id=subject.provider_id,
        digests=subject.digests,
        chunk_ids=np.asarray([0, *subject.chunk_ids], dtype=np.int64),
        since_us=subject.since_us,
        held=held,
    )


def decode_row(values: Sequence[Any]) -> tuple[Row, str]:
    """Return a signature row as read by _ROWS_SQL, and its document's status."""
    signature_id, document_id, collection, provider, digests, chunk_ids, since_us, status = values
    row = Row(
        signature_id=signature_id,
        document_id=document_id,
        collection_id=_uuid(collection),
        provider_id=_uuid(provider),
        digests=minhash.from_bytes(digests),
        chunk_ids=np.frombuffer(chunk_ids, dtype="<i8").astype(np.int64),
        since_us=np.frombuffer(since_us, dtype="<i8").astype(np.int64),
    )
    return row, status


@dataclass(frozen=True)
class Verdict:
    """What a judgement found: the original document and by which measure, and each copied
    passage's original (a negative placeholder: an earlier passage of the same version)."""

    duplicate_of: int | None = None
    similarity: float | None = None
    measure: str = ""
    passage_originals: dict[int, int] = field(default_factory=dict)


def held_parts(subject: Subject, verdict: Verdict) -> npt.NDArray[np.bool_]:
    """Return which of the subject's parts the verdict holds out (row 0: the document)."""
    held_document = verdict.duplicate_of is not None
    return np.asarray(
        [held_document]
        + [held_document or chunk_id in verdict.passage_originals for chunk_id in subject.chunk_ids]
    )


def original_keys(subject: Subject, held: npt.NDArray[np.bool_]) -> tuple[list[int], list[int]]:
    """Return the band keys (parts, keys) of the parts that may be originals: not held out.

    A held-out text never counts as a candidate, so it needs no keys; a text repeated across a
    collection (a footer, a licence) then has keys once, not once a copy.
    """
    keep = [not held[part] for part in subject.key_parts]
    return (
        [p for p, k in zip(subject.key_parts, keep, strict=True) if k],
        [key for key, k in zip(subject.keys, keep, strict=True) if k],
    )


def thresholds() -> tuple[float, float]:
    """Return the wording and content similarities from which two texts are one."""
    return (
        float(settings.CATALOG_DUPLICATE_THRESHOLD),
        float(settings.CATALOG_DUPLICATE_CONTENT_THRESHOLD),
    )


_PART_BITS = 20  # parts of a document: a 20 MiB upload makes about 20,000 passages
_PART_MASK = (1 << _PART_BITS) - 1


def parts_by_key(parts: Iterable[int], keys: Iterable[int]) -> dict[int, int | list[int]]:
    """Return each key's part (a list of parts where a key repeats: identical passages)."""
    found: dict[int, int | list[int]] = {}
    for part, key in zip(parts, keys, strict=True):
        known = found.get(key)
        if known is None:
            found[key] = part
        elif isinstance(known, list):
            known.append(part)
        else:
            found[key] = [known, part]
    return found


def entries_of(entries: int | list[int] | None) -> Sequence[int]:
    if entries is None:
        return ()
    return entries if isinstance(entries, list) else (entries,)


class Pool:
    """The signatures of versions judged in a batch and not stored yet, by band key.

    An entry is one int, row number << 20 | part (a list only where keys collide): a batch
    adds thousands of them, and ints cost the garbage collector nothing.
    """

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self._by_key: dict[int, int | list[int]] = {}

    def add(self, row: Row, key_parts: Iterable[int], keys: Iterable[int]) -> None:
        number = len(self.rows) << _PART_BITS
        self.rows.append(row)
        for key, entries in parts_by_key((number | part for part in key_parts), keys).items():
            known = self._by_key.get(key)
            if known is None:
                self._by_key[key] = entries
            else:
                self._by_key[key] = [*entries_of(known), *entries_of(entries)]

    def matches(self, keys: Iterable[int]) -> list[tuple[Row, int, int]]:
        """Return (row, part, key) for each of the keys' entries."""
        return [
            (self.rows[entry >> _PART_BITS], entry & _PART_MASK, key)
            for key in keys
            for entry in entries_of(self._by_key.get(key))
        ]


def since_of(
    digests: minhash.Digests, signed: npt.NDArray[np.bool_], previous: Row | None, now_us: int
) -> Int64s:
    """Return the date each part owns from: that of the old version's part it nearly repeats
    (by either measure; the document's with the old document's), else now."""
    since = np.full(len(digests), now_us, dtype=np.int64)
    if previous is None:
        return since
    old_signed = minhash.signed_rows(previous.digests)
    wording_threshold, content_threshold = thresholds()
    for rows, old_rows in (([0], [0]), (range(1, len(digests)), range(1, len(previous.digests)))):
        new = [r for r in rows if signed[r]]
        old = [r for r in old_rows if old_signed[r]]
        if not new or not old:
            continue
        wording, content = minhash.similarities(
            digests[new][:, None, :], previous.digests[old][None, :, :]
        )
        near = (wording >= wording_threshold) | (content >= content_threshold)
        dates = np.where(near, previous.since_us[old][None, :], now_us).min(axis=1)
        since[new] = np.minimum(dates, now_us)
    return since
