"""Who owns which collection and document, for other apps that price and license them."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Collection, Document


@dataclass(frozen=True)
class DocumentContent:
    id: int
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    provider_slug: str
    title: str
    source_url: str
    text: str
    token_count: int


def collection_owners(*, collection_ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, uuid.UUID]:
    """Return {collection id: provider organization id} for the collections that exist."""
    valid = []
    for value in collection_ids:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    rows = Collection.objects.filter(id__in=valid).values_list("id", "organization_id")
    return dict(rows)


def get_document_content(*, document_id: int) -> DocumentContent | None:
    """Return a ready document's full text and ownership, or None if there is none."""
    document = (
        Document.objects.filter(id=document_id, status=Document.Status.READY)
        .select_related("collection__organization")
        .first()
    )
    if document is None:
        return None
    token_count = sum(document.chunks.values_list("token_count", flat=True))
    return DocumentContent(
        id=document.id,
        collection_id=document.collection_id,
        provider_id=document.collection.organization_id,
        provider_slug=document.collection.organization.slug,
        title=document.title,
        source_url=document.source_url,
        text=document.text,
        token_count=token_count,
    )


def collection_names(*, collection_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return {collection id: name} for the collections that exist."""
    return dict(Collection.objects.filter(id__in=list(collection_ids)).values_list("id", "name"))


@dataclass(frozen=True)
class DocumentText:
    """A ready document in its current version, as a dataset export delivers it."""

    id: int
    collection_id: uuid.UUID
    version: int
    content_hash: str
    title: str
    author: str
    source_url: str
    published_at: datetime | None
    text: str


def document_titles(*, document_ids: Iterable[int]) -> dict[int, str]:
    """Return {document id: title, or its external id when untitled} for those that exist."""
    rows = Document.objects.filter(id__in=list(document_ids)).values_list(
        "id", "title", "external_id"
    )
    return {doc_id: title or external_id for doc_id, title, external_id in rows}


def count_licensed_documents(*, collection_ids: Iterable[uuid.UUID]) -> int:
    """Return how many ready documents these collections hold."""
    return Document.objects.filter(
        collection_id__in=list(collection_ids), status=Document.Status.READY
    ).count()


def licensed_documents(
    *, collection_ids: Iterable[uuid.UUID], after_id: int = 0, limit: int = 200
) -> list[DocumentText]:
    """Return a page, by id after `after_id`, of the ready documents of these collections with
    their text (held-out duplicates of another provider's text are not theirs to license)."""
    rows = (
        Document.objects.filter(
            collection_id__in=list(collection_ids),
            status=Document.Status.READY,
            id__gt=after_id,
        )
        .order_by("id")
        .values_list(
            "id",
            "collection_id",
            "version",
            "content_hash",
            "title",
            "author",
            "source_url",
            "published_at",
            "text",
        )[:limit]
    )
    return [DocumentText(*row) for row in rows]
