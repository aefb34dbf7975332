"""Search chunks inside given collections, and keep the search index in step with the catalog.

`search_chunks` is the hot path of every answer: one index lookup and one database query.
The collection filter is exact: the index only proposes chunks of the wanted collections, and
the database query that loads them filters on the same ids again, so a stale index can only
drop a hit, never leak one. Chunks held out as duplicates (docs/catalog.md) are never indexed
by the embedded index, never matched by PostgreSQL's, and dropped again when loaded.
"""

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from django.conf import settings
from django.db import connection, transaction

from catalog import errors
from catalog.models import Chunk, Collection, Document
from catalog.retrieval import embedded, postgres
from catalog.retrieval.embedded import IndexRow
from core.cache import LocalCache

BACKENDS = ("embedded", "postgres")
# Older names of a backend, still accepted in RETRIEVAL_BACKEND.
BACKEND_ALIASES = {"bm25": "embedded"}
MAX_K = 100


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    document_id: int
    collection_id: uuid.UUID
    provider_org_id: uuid.UUID
    score: float
    text: str
    char_start: int
    char_end: int
    document_title: str
    document_url: str
    document_author: str
    document_published_at: datetime | None
    token_count: int = 0
    provider_name: str = ""


def search_backend() -> str:
    """Return the configured backend: 'auto' means PostgreSQL FTS on PostgreSQL, else the
    embedded index."""
    backend = BACKEND_ALIASES.get(settings.RETRIEVAL_BACKEND, settings.RETRIEVAL_BACKEND)
    if backend == "auto":
        return "postgres" if connection.vendor == "postgresql" else "embedded"
    if backend not in BACKENDS:
        raise errors.ValidationFailed(f"Unknown RETRIEVAL_BACKEND {backend!r}.")
    if backend == "postgres" and connection.vendor != "postgresql":
        raise errors.ValidationFailed("RETRIEVAL_BACKEND=postgres needs a PostgreSQL database.")
    return backend


def embedded_index() -> embedded.EmbeddedIndex:
    return embedded.index_at(
        settings.RETRIEVAL_INDEX_DIR, reload_interval_s=settings.RETRIEVAL_RELOAD_INTERVAL_S
    )


# Sets of collection ids found clean (all UUIDs), e.g. an agent's cached entitlements, asked
# again on its next answer: checking a thousand ids costs more than one lookup. A frozenset is
# immutable, so a verdict on it never goes stale; the TTL is the entitlement cache's, past
# which the same entitlements come back as a new set anyway.
_clean_sets: LocalCache[frozenset[object], bool] = LocalCache(
    "catalog.clean_collection_ids", maxsize=64, ttl_s=60.0
)


def _is_clean(collection_ids: frozenset[object]) -> TypeGuard[frozenset[uuid.UUID]]:
    """Say whether every id in the set is a UUID, remembering the sets found clean."""
    if _clean_sets.get(collection_ids):
        return True
    if all(type(c) is uuid.UUID for c in collection_ids):
        _clean_sets.set(collection_ids, True)
        return True
    return False


def _clean_collection_ids(collection_ids: Iterable[uuid.UUID | str]) -> frozenset[uuid.UUID]:
    if isinstance(collection_ids, frozenset) and _is_clean(collection_ids):
        return collection_ids
    try:
        return frozenset(
            c if isinstance(c, uuid.UUID) else uuid.UUID(str(c)) for c in collection_ids
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise errors.ValidationFailed(
            "collection_ids must be collection UUIDs.",
            details={"collection_ids": ["Not a valid UUID."]},
        ) from exc


def search_chunks(
    *, query: str, collection_ids: Iterable[uuid.UUID | str], k: int = 10
) -> list[ChunkHit]:
    """Return the k best chunks for `query` among `collection_ids` only, best first."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise errors.ValidationFailed(
            f"k must be between 1 and {MAX_K}.", details={"k": [f"1 to {MAX_K}."]}
        )
    wanted = _clean_collection_ids(collection_ids)
    if not wanted or not (query or "").strip():
        return []
    # Ask for a few more than k: a chunk deleted a moment ago may still be in the index.
    fetch = k + max(5, k // 2)
    if settings.RETRIEVAL_DENSE_RERANK:
        fetch = max(fetch, settings.RETRIEVAL_DENSE_CANDIDATES)
    if search_backend() == "postgres":
        ranked = postgres.search(query, wanted, fetch)
    else:
        ranked = embedded_index().search(query, wanted, fetch)
    if settings.RETRIEVAL_DENSE_RERANK and ranked:
        from catalog.retrieval import dense

        ranked = dense.rerank(query, ranked, texts=_texts_of([c for _, c in ranked]))
    return _hydrate(ranked, wanted)[:k]


def _texts_of(chunk_ids: list[int]) -> dict[int, str]:
    return dict(Chunk.objects.filter(id__in=chunk_ids).values_list("id", "text"))


# A collection's provider never changes, so the hot query need not join collections and
# organizations for it: (provider id, provider name) per collection is kept per process for a
# minute (a renamed provider shows under its new name within that time).
_providers: LocalCache[uuid.UUID, tuple[uuid.UUID, str]] = LocalCache(
    "catalog.collection_providers", maxsize=50_000, ttl_s=60.0
)


def _providers_of(collection_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    found = _providers.get_many(collection_ids)
    missing = [c for c in collection_ids if c not in found]
    if missing:
        rows = Collection.objects.filter(id__in=missing).values_list(
            "id", "organization_id", "organization__name"
        )
        loaded = {collection_id: (org_id, name) for collection_id, org_id, name in rows}
        _providers.set_many(loaded)
        found.update(loaded)
    return found


def _hydrate(ranked: list[tuple[float, int]], allowed: frozenset[uuid.UUID]) -> list[ChunkHit]:
    if not ranked:
        return []
    # The collection filter is applied here rather than in SQL: an IN list of every entitled
    # collection (a thousand for a large agent) costs more to build and plan than the query.
    rows = (
        Chunk.objects.filter(id__in=[c for _, c in ranked])
        .order_by()
        .values_list(
            "id",
            "document_id",
            "collection_id",
            "text",
            "char_start",
            "char_end",
            "document__title",
            "document__source_url",
            "document__author",
            "document__published_at",
            "token_count",
            "held_out",
        )
    )
    by_id = {row[0]: row for row in rows if row[2] in allowed and not row[11]}
    providers = _providers_of({row[2] for row in by_id.values()})
    hits = []
    for score, chunk_id in ranked:
        row = by_id.get(chunk_id)
        if row is None or row[2] not in providers:
            continue
        provider_id, provider_name = providers[row[2]]
        hits.append(
            ChunkHit(
                chunk_id=row[0],
                document_id=row[1],
                collection_id=row[2],
                provider_org_id=provider_id,
                score=score,
                text=row[3],
                char_start=row[4],
                char_end=row[5],
                document_title=row[6],
                document_url=row[7],
                document_author=row[8],
                document_published_at=row[9],
                token_count=row[10],
                provider_name=provider_name,
            )
        )
    return hits


# -- keeping the index in step ----------------------------------------------------------------


def _rows(chunk_ids: set[int] | None = None, batch_size: int = 5000) -> Iterator[IndexRow]:
    """Yield the index rows of these chunks (of every chunk if None) that still exist and are
    not held out."""
    queryset = (
        Chunk.objects.filter(held_out=False)
        .order_by("id")
        .values_list("id", "collection_id", "text")
    )
    batches: list[Iterable[tuple[int, uuid.UUID, str]]]
    if chunk_ids is None:
        batches = [queryset.iterator(chunk_size=batch_size)]
    else:
        ids = sorted(chunk_ids)  # in batches: SQLite caps the parameters of one query
        batches = [
            queryset.filter(id__in=ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)
        ]
    for batch in batches:
        for chunk_id, collection_id, text in batch:
            yield IndexRow(chunk_id, str(collection_id), text)


def index_pending_documents(*, limit: int = 5000) -> int:
    """Index the chunks of documents waiting to be searchable, then mark them ready.

    With the embedded index, the process that holds its writer indexes every pending document,
    whoever stored it, until none is left; another process finding the writer busy returns at
    once rather than wait its turn, as the holder takes its documents too (it looks again after
    letting the writer go, so a document stored while it finished is not left behind).
    """
    if search_backend() != "embedded":
        # PostgreSQL indexes chunks as they are written (a generated column); nothing to add.
        return _mark_ready_in_batches(limit, lambda document_ids: None)
    total = 0
    index = embedded_index()
    while _pending_document_ids(1):
        with index.writer_if_free() as writer:
            if writer is None:
                return total  # the writer's holder indexes these documents too

            def index_and_commit(document_ids: list[int]) -> None:
                rows = (
                    Chunk.objects.filter(document_id__in=document_ids, held_out=False)
                    .order_by("id")
                    .values_list("id", "collection_id", "text")
                )
                embedded.write_rows(writer, (IndexRow(c, str(k), t) for c, k, t in rows))
                writer.commit()  # searchable before the documents say they are ready

            total += _mark_ready_in_batches(limit, index_and_commit)
    return total


def _pending_document_ids(limit: int) -> list[int]:
    return list(
        Document.objects.filter(status=Document.Status.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def _mark_ready_in_batches(limit: int, index: Callable[[list[int]], None]) -> int:
    total = 0
    while document_ids := _pending_document_ids(limit):
        index(document_ids)
        Document.objects.filter(id__in=document_ids, status=Document.Status.PENDING).update(
            status=Document.Status.READY
        )
        total += len(document_ids)
    return total


def forget_chunks(*, chunk_ids: Iterable[int]) -> None:
    """Take chunks out of the embedded index (PostgreSQL forgets deleted rows by itself)."""
    chunk_ids = list(chunk_ids)
    if chunk_ids and search_backend() == "embedded":
        embedded_index().remove(chunk_ids)


def forget_chunks_on_commit(chunk_ids: list[int]) -> None:
    """Queue the removal of chunks from the index once the deleting transaction commits."""
    if not chunk_ids:
        return
    from catalog import tasks

    transaction.on_commit(lambda: tasks.forget_chunks.delay(list(chunk_ids)))


def index_pending_on_commit() -> None:
    """Queue the indexing of pending documents once the current transaction commits."""
    from catalog import tasks

    transaction.on_commit(lambda: tasks.index_pending_documents.delay())


def rebuild_search_index() -> int:
    """Rebuild the embedded index from the database; return the chunk count."""
    pending = list(
        Document.objects.filter(status=Document.Status.PENDING).values_list("id", flat=True)
    )
    count = embedded_index().rebuild(_rows()) if search_backend() == "embedded" else None
    Document.objects.filter(id__in=pending, status=Document.Status.PENDING).update(
        status=Document.Status.READY
    )
    return Chunk.objects.count() if count is None else count


def build_missing_search_index(*, using: str = "default") -> int:
    """Build the embedded index from the database when its directory holds none though chunks
    exist (a new RETRIEVAL_INDEX_DIR, or one from before the index was Tantivy); return the
    chunks indexed. `migrate` calls it, so an upgrade needs no extra step."""
    if using != "default" or search_backend() != "embedded" or embedded_index().exists():
        return 0
    if Chunk._meta.db_table not in connection.introspection.table_names():
        return 0  # the catalog migrated back to zero
    if not Chunk.objects.filter(held_out=False).exists():
        return 0
    return rebuild_search_index()
