"""Providers' collections and documents, always scoped to the acting principal, and chunk and
document details by id for the answer path."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet

from accounts import services as accounts
from accounts.services import Actor
from catalog import errors
from catalog.models import Chunk, Collection, Document
from catalog.services.duplicates import DuplicateRef

if TYPE_CHECKING:
    from catalog.services.retrieval import ChunkHit


@dataclass(frozen=True)
class CollectionInfo:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str
    language: str
    topics: tuple[str, ...]
    document_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    collection_id: uuid.UUID
    organization_id: uuid.UUID
    external_id: str
    source_url: str
    title: str
    author: str
    published_at: datetime | None
    content_type: str
    content_hash: str
    status: str
    metadata: dict[str, Any]
    version: int
    chunk_count: int
    created_at: datetime
    updated_at: datetime
    text: str | None = None
    # Status `duplicate`: the original it copies (id and title only: another provider's).
    duplicate_of: DuplicateRef | None = None
    held_out_chunk_count: int = 0


@dataclass(frozen=True)
class DocumentPage:
    documents: list[DocumentInfo]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class ChunkInfo:
    """A chunk with its document's citation metadata, for the answer path."""

    chunk_id: int
    document_id: int
    collection_id: uuid.UUID
    provider_org_id: uuid.UUID
    ordinal: int
    text: str
    char_start: int
    char_end: int
    token_count: int
    document_title: str
    document_url: str
    document_author: str
    document_published_at: datetime | None


# -- scoping ----------------------------------------------------------------------------------


def _member_org_ids(actor: Actor) -> list[uuid.UUID]:
    return accounts.acting_organization_ids(actor=actor)


def _parse_uuid(value: object, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise errors.ValidationFailed(
            f"{field} is a UUID.", details={field: ["Must be a valid UUID."]}
        ) from exc


def visible_collections(actor: Actor) -> QuerySet[Collection]:
    """Return the collections of every organization the actor acts for."""
    accounts.require_scope(actor, accounts.CATALOG)
    return Collection.objects.filter(organization_id__in=_member_org_ids(actor))


def load_collection(
    actor: Actor, collection_id: uuid.UUID | str, *, for_update: bool = False
) -> Collection:
    """Return the actor's collection, or 404 so other tenants' ids do not leak."""
    queryset = visible_collections(actor)
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(id=collection_id)
    except (Collection.DoesNotExist, DjangoValidationError, ValueError) as exc:
        raise errors.NotFound("Collection not found.") from exc


def _provider_org_id(actor: Actor, organization_id: uuid.UUID | str | None) -> uuid.UUID:
    return accounts.acting_organization(
        actor=actor, role=accounts.PROVIDER, scope=accounts.CATALOG, organization_id=organization_id
    ).id


# -- collections ------------------------------------------------------------------------------


def _collection_info(collection: Collection, document_count: int | None = None) -> CollectionInfo:
    if document_count is None:
        document_count = getattr(collection, "document_count", None)
    if document_count is None:
        document_count = collection.documents.count()
    return CollectionInfo(
        id=collection.id,
        organization_id=collection.organization_id,
        name=collection.name,
        description=collection.description,
        language=collection.language,
        topics=tuple(collection.topics or ()),
        document_count=document_count,
        created_at=collection.created_at,
        updated_at=collection.updated_at,
    )


class CollectionChanges(TypedDict, total=False):
    """The fields of a collection that its provider may change."""

    name: str
    description: str
    language: str
    topics: Iterable[str]


def _clean_collection_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise errors.ValidationFailed(
                "A collection needs a name.", details={"name": ["This field is required."]}
            )
        clean["name"] = name
    for key in ("description", "language"):
        if key in changes:
            clean[key] = (changes[key] or "").strip()
    if "topics" in changes:
        clean["topics"] = list(dict.fromkeys(t.strip() for t in changes["topics"] if t.strip()))
    return clean


def list_collections(
    *, actor: Actor, organization_id: uuid.UUID | str | None = None
) -> list[CollectionInfo]:
    """Return the actor's collections, optionally of one organization."""
    queryset = visible_collections(actor)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=_parse_uuid(organization_id, "organization_id"))
    queryset = queryset.annotate(document_count=Count("documents")).order_by("name", "id")
    return [_collection_info(c) for c in queryset]


def create_collection(
    *,
    actor: Actor,
    name: str,
    organization_id: uuid.UUID | str | None = None,
    description: str = "",
    language: str = "en",
    topics: Iterable[str] = (),
) -> CollectionInfo:
    """Create a collection in one of the actor's provider organizations."""
    provider_id = _provider_org_id(actor, organization_id)
    fields = _clean_collection_fields(
        {"name": name, "description": description, "language": language, "topics": topics}
    )
    try:
        with transaction.atomic():
            collection = Collection.objects.create(organization_id=provider_id, **fields)
    except IntegrityError as exc:
        raise errors.Conflict(
            "This organization already has a collection with that name.", code="name_taken"
        ) from exc
    return _collection_info(collection, 0)


def get_collection(*, actor: Actor, collection_id: uuid.UUID | str) -> CollectionInfo:
    return _collection_info(load_collection(actor, collection_id))


def update_collection(
    *, actor: Actor, collection_id: uuid.UUID | str, **changes: Unpack[CollectionChanges]
) -> CollectionInfo:
    """Change a collection's name, description, language or topics."""
    fields = _clean_collection_fields(changes)
    try:
        with transaction.atomic():
            collection = load_collection(actor, collection_id, for_update=True)
            for key, value in fields.items():
                setattr(collection, key, value)
            collection.save()
    except IntegrityError as exc:
        raise errors.Conflict(
            "This organization already has a collection with that name.", code="name_taken"
        ) from exc
    return _collection_info(collection)


def delete_collection(*, actor: Actor, collection_id: uuid.UUID | str) -> None:
    """Delete a collection with its documents; its chunks leave search at once, and copies of
    its texts held out by other providers are judged again."""
    from catalog.services import duplicates, ingestion, retrieval

    with transaction.atomic():
        collection = load_collection(actor, collection_id, for_update=True)
        chunk_ids = list(Chunk.objects.filter(collection=collection).values_list("id", flat=True))
        dependents = duplicates.dependents_of(collection_id=collection.id)
        ingestion.discard_uploads_on_commit(collection_id=collection.id)
        collection.delete()
        duplicates.recheck(document_ids=dependents)
        retrieval.forget_chunks_on_commit(chunk_ids)


# -- documents --------------------------------------------------------------------------------


def _with_counts(queryset: "QuerySet[Document]") -> "QuerySet[Document]":
    """Annotate documents with their chunk counts and load their originals' titles."""
    return (
        queryset.select_related("collection", "duplicate_of")
        .defer("text", "duplicate_of__text")
        .annotate(
            chunk_count=Count("chunks"),
            held_out_chunk_count=Count("chunks", filter=Q(chunks__held_out=True)),
        )
    )


def _duplicate_ref(document: Document) -> DuplicateRef | None:
    original = document.duplicate_of
    if document.status != Document.Status.DUPLICATE or original is None:
        return None
    return DuplicateRef(
        original.id,
        original.title,
        document.duplicate_similarity or 0.0,
        document.duplicate_measure or "wording",
    )


def _document_info(document: Document, *, with_text: bool = False) -> DocumentInfo:
    chunk_count = getattr(document, "chunk_count", None)
    if chunk_count is None:
        chunk_count = document.chunks.count()
    held_out = getattr(document, "held_out_chunk_count", None)
    if held_out is None:
        held_out = document.chunks.filter(held_out=True).count()
    return DocumentInfo(
        id=document.id,
        collection_id=document.collection_id,
        organization_id=document.collection.organization_id,
        external_id=document.external_id,
        source_url=document.source_url,
        title=document.title,
        author=document.author,
        published_at=document.published_at,
        content_type=document.content_type,
        content_hash=document.content_hash,
        status=document.status,
        metadata=document.metadata,
        version=document.version,
        chunk_count=chunk_count,
        created_at=document.created_at,
        updated_at=document.updated_at,
        text=document.text if with_text else None,
        duplicate_of=_duplicate_ref(document),
        held_out_chunk_count=held_out,
    )


def list_documents(
    *, actor: Actor, collection_id: uuid.UUID | str, limit: int = 50, offset: int = 0
) -> DocumentPage:
    """Return a page of a collection's documents, newest first (without their text)."""
    collection = load_collection(actor, collection_id)
    queryset = Document.objects.filter(collection=collection)
    total = queryset.count()
    page = _with_counts(queryset).order_by("-created_at", "-id")[offset : offset + limit]
    return DocumentPage(
        documents=[_document_info(d) for d in page], total=total, limit=limit, offset=offset
    )


def _load_document(actor: Actor, document_id: int | str, *, for_update: bool = False) -> Document:
    queryset = Document.objects.filter(collection__in=visible_collections(actor))
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.select_related("collection").get(id=document_id)
    except (Document.DoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
        raise errors.NotFound("Document not found.") from exc


def get_document(*, actor: Actor, document_id: int | str) -> DocumentInfo:
    """Return one of the actor's documents with its clean text."""
    return _document_info(_load_document(actor, document_id), with_text=True)


def delete_document(*, actor: Actor, document_id: int | str) -> None:
    """Delete a document and its chunks; they leave search at once, and copies of its text
    held out by other providers are judged again."""
    from catalog.services import duplicates, retrieval

    with transaction.atomic():
        document = _load_document(actor, document_id, for_update=True)
        chunk_ids = list(document.chunks.values_list("id", flat=True))
        dependents = duplicates.dependents_of(document_id=document.id)
        document.delete()
        duplicates.recheck(document_ids=dependents)
        retrieval.forget_chunks_on_commit(chunk_ids)


# -- details by id, for the answer path -------------------------------------------------------


def get_chunks(
    *, chunk_ids: Iterable[int | str], collection_ids: Iterable[uuid.UUID] | None = None
) -> list[ChunkInfo]:
    """Return chunks by id, in the order asked, optionally only those in `collection_ids`.

    Not scoped to an actor: the caller (the answer use case) has already decided which
    collections the agent is entitled to, and should pass them as `collection_ids`.
    """
    ids = [int(i) for i in chunk_ids]
    if not ids:
        return []
    queryset = Chunk.objects.filter(id__in=ids)
    if collection_ids is not None:
        queryset = queryset.filter(collection_id__in=list(collection_ids))
    rows = queryset.values_list(
        "id",
        "document_id",
        "collection_id",
        "collection__organization_id",
        "ordinal",
        "text",
        "char_start",
        "char_end",
        "token_count",
        "document__title",
        "document__source_url",
        "document__author",
        "document__published_at",
    )
    found = {row[0]: ChunkInfo(*row) for row in rows}
    return [found[i] for i in ids if i in found]


def get_documents(*, document_ids: Iterable[int | str]) -> list[DocumentInfo]:
    """Return documents by id (without text), in the order asked; unknown ids are skipped."""
    ids = [int(i) for i in document_ids]
    documents = _with_counts(Document.objects.filter(id__in=ids))
    found = {d.id: _document_info(d) for d in documents}
    return [found[i] for i in ids if i in found]


def search_my_collections(
    *, actor: Actor, query: str, collection_ids: Iterable[uuid.UUID | str], k: int = 10
) -> list["ChunkHit"]:
    """Search the actor's own collections (a provider's preview of what agents will find)."""
    from catalog.services import retrieval

    wanted = list(dict.fromkeys(str(c) for c in collection_ids))
    found = {
        str(c)
        for c in visible_collections(actor).filter(id__in=wanted).values_list("id", flat=True)
    }
    if len(found) != len(wanted):
        raise errors.NotFound("Collection not found.")
    return retrieval.search_chunks(query=query, collection_ids=wanted, k=k)
