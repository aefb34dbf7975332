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

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.db import connection

from catalog.ingestion import minhash
from catalog.models import Document
from catalog.services.duplicates.texts import (
    CONTENT,
    WORDING,
    Pool,
    Row,
    Subject,
    Verdict,
    decode_row,
    entries_of,
    parts_by_key,
    thresholds,
)

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


def judge(subject: Subject, also: Pool | None = None, *, stored: bool = True) -> Verdict:
    """Return which earlier document the subject copies or rewords, and which of its passages
    repeat others; candidates are stored (unless not `stored`), or in `also` (a batch's
    versions not stored yet)."""
    matches = stored_matches(subject) if subject.keys and stored else []
    if also is not None and subject.keys:
        matches += also.matches(subject.keys)
    by_key = parts_by_key(subject.key_parts, subject.keys)  # the subject's parts with each key
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
    """Return, for each of the subject's parts, the nearest candidate that counts.

    Besides the parts LSH proposes, every document found is compared with the subject's
    document, and when the two are close (half the content threshold), every pair of their
    passages too: once a copy is found by some of its parts, the rest is judged in full.
    """
    pairs: dict[tuple[int, int, int], tuple[Row, int, int]] = {}
    rows: dict[int, Row] = {}
    for row, part, key in matches:
        rows[id(row)] = row
        for own_part in entries_of(by_key.get(key)):
            pairs.setdefault((own_part, id(row), part), (row, part, own_part))
    if subject.signed[0]:
        for row in rows.values():
            pairs.setdefault((0, id(row), 0), (row, 0, 0))
    if not pairs:
        return {}
    scored = _scored(subject, list(pairs.values()))
    wording_threshold, content_threshold = thresholds()
    close = [
        row
        for row, part, _, _, by_content in scored
        if part == 0 and by_content >= content_threshold / 2 and _foreign(subject, row)
    ]
    if close:
        mine = np.flatnonzero(subject.signed[1:]) + 1
        extra = [
            (row, int(part), int(own))
            for row in close
            for part in np.flatnonzero(minhash.signed_rows(row.digests[1:])) + 1
            for own in mine
            if (int(own), id(row), int(part)) not in pairs
        ]
        scored += _scored(subject, extra)
    near: list[tuple[tuple[Row, int, int], float, float, bool]] = []
    for row, part, own, by_wording, by_content in scored:
        foreign = _foreign(subject, row)
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


def _foreign(subject: Subject, row: Row) -> bool:
    """Return whether a row is another provider's (and not the original an operator released
    the subject from)."""
    return row.provider_id != subject.provider_id and row.document_id != subject.released_from


def _scored(
    subject: Subject, pairs: list[tuple[Row, int, int]]
) -> list[tuple[Row, int, int, float, float]]:
    """Return (row, part, own part, wording, content) for (row, part, own part) pairs."""
    if not pairs:
        return []
    wording, content = minhash.similarities(
        subject.digests[[own for _, _, own in pairs]],
        np.stack([row.digests[part] for row, part, _ in pairs]),
    )
    return [
        (row, part, own, by_wording, by_content)
        for (row, part, own), by_wording, by_content in zip(
            pairs, wording.tolist(), content.tolist(), strict=True
        )
    ]


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
    earlier = sorted({p for key in keys for p in entries_of(by_key.get(key)) if p in indexed})
    if not earlier:
        return None
    wording, content = minhash.similarities(subject.digests[part], subject.digests[earlier])
    choice = max(range(len(earlier)), key=lambda i: (wording[i], content[i], -earlier[i]))
    if wording[choice] < threshold:
        return None
    return earlier[choice], float(wording[choice]), float(content[choice])
