"""Judging a text against the catalog: which earlier document it copies or rewords, and which
of its passages repeat others.

A candidate is a stored part (a document's whole text, or one passage) that shares an LSH band
key with a part of the subject: found with one lookup of the band table, and among the versions
judged earlier in the same batch whose signatures are not stored yet. It counts if it is
earlier (its `since`, then its signature id), not held out itself, and near enough:

- a document: another provider's document whose wording similarity reaches
  CATALOG_DUPLICATE_THRESHOLD, or whose content similarity reaches
  CATALOG_DUPLICATE_CONTENT_THRESHOLD (a reworded copy);
- a passage: another provider's passage, near by either measure; or a passage of its own
  collection (earlier passages of the same document included), near by wording: a collection's
  repeats are indexed once, and its own writing on one subject is not judged by content.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection

from catalog.ingestion import minhash
from catalog.models import Document

WORDING, CONTENT = "wording", "content"  # which measure found a copy

_BANDS_SQL = "SELECT signature_id, part, key FROM catalog_signatureband WHERE key IN ({marks})"
_ROWS_SQL = """
SELECT s.id, s.document_id, s.collection_id, s.provider_id, s.digests, s.chunk_ids, s.since_us,
       d.status
FROM catalog_textsignature s
JOIN catalog_document d ON d.id = s.document_id
WHERE s.id IN ({marks}) AND s.algorithm = %s AND s.document_id <> %s
"""
_HELD_SQL = "SELECT id FROM catalog_chunk WHERE held_out AND id IN ({marks})"
LOOKUP_BATCH = 2000  # values per lookup query (SQLite takes at most 32,766 parameters)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
LATEST = (1 << 63) - 1  # the signature id of a text not stored yet: later than any other

Int64s = npt.NDArray[np.int64]


def micros(moment: datetime) -> int:
    """Return a moment as stored with signatures: microseconds since 1970."""
    return (moment - _EPOCH) // _MICROSECOND


def moment(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


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


def _by_key(parts: Iterable[int], keys: Iterable[int]) -> dict[int, int | list[int]]:
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


def _parts(entries: int | list[int] | None) -> Sequence[int]:
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
        for key, entries in _by_key((number | part for part in key_parts), keys).items():
            known = self._by_key.get(key)
            if known is None:
                self._by_key[key] = entries
            else:
                self._by_key[key] = [*_parts(known), *_parts(entries)]

    def matches(self, keys: Iterable[int]) -> list[tuple[Row, int, int]]:
        """Return (row, part, key) for each of the keys' entries."""
        return [
            (self.rows[entry >> _PART_BITS], entry & _PART_MASK, key)
            for key in keys
            for entry in _parts(self._by_key.get(key))
        ]


def _query(sql: str, values: Sequence[Any], extra: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run a lookup with an IN list of values, in batches; only placeholders are formatted in.

    Raw SQL: the ORM prepares each IN value one by one and costs more than the query.
    """
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), LOOKUP_BATCH):
            part = list(values[start : start + LOOKUP_BATCH])
            cursor.execute(sql.format(marks=", ".join(["%s"] * len(part))), [*part, *extra])
            found += cursor.fetchall()
    return found


def stored_matches(subject: Subject) -> list[tuple[Row, int, int]]:
    """Return (row, part, key) for the stored parts sharing a band key with the subject's, of
    other documents that can count for it (its own collection's and other providers')."""
    bands = _query(_BANDS_SQL, sorted(set(subject.keys)))
    if not bands:
        return []
    signature_ids = sorted({signature_id for signature_id, _, _ in bands})
    rows: dict[int, Row] = {}
    for values in _query(_ROWS_SQL, signature_ids, [minhash.ALGORITHM, subject.document_id]):
        row, status = decode_row(values)
        if row.provider_id == subject.provider_id and row.collection_id != subject.collection_id:
            continue  # the provider's other collections are licensed on their own
        held = np.zeros(len(row.chunk_ids), dtype=np.bool_)
        held[0] = status == Document.Status.DUPLICATE
        rows[row.signature_id] = replace(row, held=held, passages_known=False)
    return [(rows[s], part, key) for s, part, key in bands if s in rows]


def judge(subject: Subject, also: Pool | None = None) -> Verdict:
    """Return which earlier document the subject copies or rewords, and which of its passages
    repeat others; candidates are stored, or in `also` (a batch's versions not stored yet)."""
    matches = stored_matches(subject) if subject.keys else []
    if also is not None and subject.keys:
        matches += also.matches(subject.keys)
    by_key = _by_key(subject.key_parts, subject.keys)  # the subject's parts with each key
    best = _best_candidates(subject, matches, by_key)
    verdict_document = best.get(0)
    originals: dict[int, int] = {}
    wording_threshold, _ = thresholds()
    kept: list[int] = []  # this version's passages indexed so far
    for part in range(1, len(subject.signed)):
        if not subject.signed[part]:
            continue
        found = best.get(part)
        own = _best_own(subject, part, kept, by_key, wording_threshold)
        if own is not None and (found is None or own[1:] > found[1:]):
            originals[subject.chunk_ids[part - 1]] = subject.chunk_ids[own[0] - 1]
        elif found is not None:
            row, candidate_part = found[0]
            originals[subject.chunk_ids[part - 1]] = int(row.chunk_ids[candidate_part])
        else:
            kept.append(part)
    if verdict_document is None:
        return Verdict(passage_originals=originals)
    (row, _), wording, content = verdict_document
    by_wording = wording >= wording_threshold
    return Verdict(
        row.document_id,
        round(wording if by_wording else content, 4),
        WORDING if by_wording else CONTENT,
        originals,
    )


_Found = tuple[tuple[Row, int], float, float]  # (row, part), wording, content


def _best_candidates(
    subject: Subject, matches: list[tuple[Row, int, int]], by_key: dict[int, int | list[int]]
) -> dict[int, _Found]:
    """Return, for each of the subject's parts, the nearest candidate that counts."""
    pairs: dict[tuple[int, int, int], tuple[Row, int, int]] = {}
    for row, part, key in matches:
        for own_part in _parts(by_key.get(key)):
            pairs.setdefault((own_part, id(row), part), (row, part, own_part))
    if not pairs:
        return {}
    found = list(pairs.values())
    wording, content = minhash.similarities(
        subject.digests[[own for _, _, own in found]],
        np.stack([row.digests[part] for row, part, _ in found]),
    )
    wording_threshold, content_threshold = thresholds()
    near: list[tuple[tuple[Row, int, int], float, float, bool]] = []
    for (row, part, own), by_wording, by_content in zip(
        found, wording.tolist(), content.tolist(), strict=True
    ):
        foreign = row.provider_id != subject.provider_id and row.document_id != (
            subject.released_from
        )
        if by_wording >= wording_threshold or (foreign and by_content >= content_threshold):
            near.append(((row, part, own), by_wording, by_content, foreign))
    unknown = sorted(
        {int(row.chunk_ids[part]) for (row, part, _), *_ in near if part and not row.passages_known}
    )
    held_chunks = {values[0] for values in _query(_HELD_SQL, unknown)} if unknown else set()
    best: dict[int, _Found] = {}
    for (row, part, own), by_wording, by_content, foreign in near:
        held = (
            bool(row.held is not None and row.held[part])
            if part == 0 or row.passages_known
            else int(row.chunk_ids[part]) in held_chunks
        )
        if held or not _counts(subject, own, row, part, foreign):
            continue
        current = best.get(own)
        rank = (by_wording, by_content, -int(row.since_us[part]), -row.signature_id)
        if current is None or rank > _rank(current):
            best[own] = ((row, part), by_wording, by_content)
    return best


def _rank(found: _Found) -> tuple[float, float, int, int]:
    (row, part), wording, content = found
    return (wording, content, -int(row.since_us[part]), -row.signature_id)


def _counts(subject: Subject, own: int, row: Row, part: int, foreign: bool) -> bool:
    """Return whether a candidate part (not held out) may hold the subject's part out: earlier,
    and a document of another provider or a passage of another or its own collection."""
    earlier = (int(row.since_us[part]), row.signature_id) < (
        int(subject.since_us[own]),
        subject.signature_id,
    )
    if not earlier or (own == 0) != (part == 0):
        return False
    if own == 0:
        return foreign
    return (
        row.document_id != subject.document_id
        and row.document_id != subject.released_from
        and (foreign or row.collection_id == subject.collection_id)
    )


def _best_own(
    subject: Subject,
    part: int,
    kept: list[int],
    by_key: dict[int, int | list[int]],
    threshold: float,
) -> tuple[int, float, float] | None:
    """Return the earlier passage of the same version this one repeats (by wording), if any."""
    if not kept:
        return None
    start = subject.key_parts.index(part)
    keys = subject.keys[start : start + minhash.PASSAGE_BANDS]
    indexed = set(kept)
    earlier = sorted({p for key in keys for p in _parts(by_key.get(key)) if p in indexed})
    if not earlier:
        return None
    wording, content = minhash.similarities(subject.digests[part], subject.digests[earlier])
    choice = max(range(len(earlier)), key=lambda i: (wording[i], content[i], -earlier[i]))
    if wording[choice] < threshold:
        return None
    return earlier[choice], float(wording[choice]), float(content[choice])


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
