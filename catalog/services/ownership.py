"""Who owns which collection and document, for other apps that price and license them."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

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
