"""Duplicate defence: the first published copy of a text owns it.

Every new version of a document is signed (MinHash over 5-word shingles, per document and per
passage) and judged against the whole catalog during ingestion, in the transaction that stores
it:

- a document that nearly repeats an earlier document of another provider is held out of
  retrieval with status `duplicate`, pointing at that document;
- a passage that nearly repeats an earlier passage of another provider, or an earlier passage
  of its own collection (the same document included), is held out, so a text is indexed once.

"Nearly" is an estimated Jaccard similarity of at least CATALOG_DUPLICATE_THRESHOLD; "earlier"
is the `since` of each signature. Signatures and their LSH band keys are rows, so every worker
and web process sees the same index. When an original goes (a new version, a deletion), the
texts held out against it are judged again, and the earliest of them may become the owner. An
operator releases a false positive in the admin; it is then never held out against that
original again.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.ingestion import minhash
from catalog.models import Chunk, Document, SignatureBand, TextSignature

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
    keys: set[int] = set()
    if subject.document.digest is not None:
        keys.update(minhash.band_keys(subject.document.digest, minhash.DOCUMENT_LEVEL))
    for _, text in subject.passages:
        if text.digest is not None:
            keys.update(minhash.band_keys(text.digest, minhash.PASSAGE_LEVEL))
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


# -- ingestion --------------------------------------------------------------------------------


def forget_version(document: Document) -> PreviousVersion:
    """Drop a document's signatures before its new version; return what the new one needs.

    Call before deleting its chunks: the documents holding texts held out against them are
    returned, to be judged again once the new version is stored.
    """
    rows = TextSignature.objects.filter(
        document=document, algorithm=minhash.ALGORITHM
    ).values_list("chunk_id", "digest", "since")
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
) -> Verdict:
    """Sign a new version of a document, judge it, store its signatures and apply the verdict.

    `chunks` are the version's chunks, just created (none held out yet), in ordinal order.
    """
    now = timezone.now()
    signatures = minhash.sign_passages([chunk.text for chunk in chunks])
    old_document = [previous.document] if previous and previous.document else []
    old_passages = previous.passages if previous else ()
    document_text = _Text(signatures.document, _since_of(signatures.document, old_document, now))
    passage_texts = tuple(
        _Text(digest, _since_of(digest, old_passages, now) if previous else now)
        for digest in signatures.passages
    )
    subject = _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=tuple(zip((c.id for c in chunks), passage_texts, strict=True)),
    )
    verdict = judge(subject)
    _store(subject, [c.id for c in chunks])
    _apply(document, list(chunks), verdict)
    if previous is not None and previous.dependent_document_ids:
        recheck(document_ids=previous.dependent_document_ids)
    return verdict


def _store(subject: _Subject, chunk_ids: Sequence[int]) -> None:
    texts: list[tuple[int | None, _Text, int]] = []
    if subject.document.digest is not None:
        texts.append((None, subject.document, minhash.DOCUMENT_LEVEL))
    texts += [
        (chunk_id, text, minhash.PASSAGE_LEVEL)
        for chunk_id, text in subject.passages
        if text.digest is not None
    ]
    if not texts:
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
        for chunk_id, text, _ in texts
        if text.digest is not None
    )
    SignatureBand.objects.bulk_create(
        SignatureBand(signature_id=row.id, key=key)
        for row, (_, text, level) in zip(rows, texts, strict=True)
        if text.digest is not None
        for key in minhash.band_keys(text.digest, level)
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
    if changed:
        Chunk.objects.bulk_update(changed, ["held_out", "duplicate_of"])
    if released and not held_document and document.status == Document.Status.READY:
        # Passages let back in wait for the index like a new version's.
        document.status = Document.Status.PENDING
        Document.objects.filter(id=document.id).update(status=document.status)
    return newly_held


# -- judging again ------------------------------------------------------------------------------


def _stored_subject(document: Document) -> _Subject | None:
    rows = TextSignature.objects.filter(
        document=document, algorithm=minhash.ALGORITHM
    ).values_list("id", "chunk_id", "digest", "since", "provider_id")
    texts = {
        chunk_id: (_Text(minhash.from_bytes(digest), since, signature_id), provider_id)
        for signature_id, chunk_id, digest, since, provider_id in rows
    }
    if not texts:
        return None
    provider_id = next(iter(texts.values()))[1]
    document_text, _ = texts.get(None, (_Text(None, timezone.now()), provider_id))
    chunk_ids = document.chunks.order_by("ordinal").values_list("id", flat=True)
    return _Subject(
        document_id=document.id,
        collection_id=document.collection_id,
        provider_id=provider_id,
        released_from=document.duplicate_released_from_id,
        document=document_text,
        passages=tuple(
            (chunk_id, texts.get(chunk_id, (_Text(None, document_text.since), provider_id))[0])
            for chunk_id in chunk_ids
        ),
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


def dependents_of(*, document_id: int | None = None, collection_id: uuid.UUID | None = None) -> list[int]:
    """Return the documents of others holding texts held out against a document's (or every
    document's of a collection): they are judged again once it is gone."""
    if document_id is not None:
        documents = Document.objects.filter(duplicate_of_id=document_id).exclude(id=document_id)
        chunks = Chunk.objects.filter(duplicate_of__document_id=document_id).exclude(
            document_id=document_id
        )
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
