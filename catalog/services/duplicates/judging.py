"""Judging a text against the catalog: which earlier document it copies, which passages repeat.

A candidate is a stored signature that shares an LSH band key with the subject's; it counts if
it is earlier (its `since`, then its id), not held out itself, and its estimated Jaccard
similarity reaches CATALOG_DUPLICATE_THRESHOLD. Documents are judged against other providers'
documents; passages against other providers' passages and their own collection's (earlier
passages of the same document included).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings

from catalog.ingestion import minhash
from catalog.models import Document, SignatureBand, TextSignature

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


@dataclass(frozen=True)
class PreviousVersion:
    """The signatures a document had before a new version, and who was held out against it."""

    document: _Text | None
    passages: tuple[_Text, ...]
    dependent_document_ids: tuple[int, ...]


def _threshold() -> float:
    return float(settings.CATALOG_DUPLICATE_THRESHOLD)


# -- judging ----------------------------------------------------------------------------------


def _candidates(subject: _Subject) -> list[_Candidate]:
    """Return the stored signatures sharing a band key with the subject's, other documents'."""
    keys = {key for text_keys in subject.keys.values() for key in text_keys}
    if not keys:
        return []
    ids = set(
        SignatureBand.objects.filter(key__in=sorted(keys)).values_list("signature_id", flat=True)
    )
    if not ids:
        return []
    rows = (
        TextSignature.objects.filter(id__in=sorted(ids), algorithm=minhash.ALGORITHM)
        .exclude(document_id=subject.document_id)
        .values_list(
            "id",
            "document_id",
            "chunk_id",
            "collection_id",
            "provider_id",
            "since",
            "digest",
            "document__status",
            "chunk__held_out",
        )
    )
    return [
        _Candidate(
            signature_id=row[0],
            document_id=row[1],
            chunk_id=row[2],
            collection_id=row[3],
            provider_id=row[4],
            since=row[5],
            digest=minhash.from_bytes(row[6]),
            held_out=(row[7] == Document.Status.DUPLICATE) if row[2] is None else bool(row[8]),
        )
        for row in rows
    ]


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


def judge(subject: _Subject) -> Verdict:
    """Return which earlier document the subject copies, and which passages repeat others."""
    threshold = _threshold()

    def foreign(c: _Candidate) -> bool:
        return c.provider_id != subject.provider_id and c.document_id != subject.released_from

    candidates = [c for c in _candidates(subject) if not c.held_out]
    original = _best(
        subject.document, [c for c in candidates if c.chunk_id is None and foreign(c)], threshold
    )
    # A passage is judged against other providers' passages and its own collection's.
    passages = [
        c
        for c in candidates
        if c.chunk_id is not None
        and (foreign(c) or c.collection_id == subject.collection_id)
        and c.document_id != subject.released_from
    ]
    originals: dict[int, int] = {}
    kept: list[_Candidate] = []  # this document's passages indexed so far, in order
    for order, (chunk_id, text) in enumerate(subject.passages):
        found = _best(text, [*passages, *kept], threshold)
        if found is not None and found[0].chunk_id is not None:
            originals[chunk_id] = found[0].chunk_id
        elif text.digest is not None:
            kept.append(
                _Candidate(
                    signature_id=-len(subject.passages) + order,  # before any later passage
                    document_id=subject.document_id,
                    chunk_id=chunk_id,
                    collection_id=subject.collection_id,
                    provider_id=subject.provider_id,
                    since=text.since,
                    digest=text.digest,
                    held_out=False,
                )
            )
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
