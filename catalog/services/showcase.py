"""What the market shows of a collection before an agent licenses it: its name, description,
topics, how many documents it holds, and the opening of its first passage as a sample."""

import textwrap
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery

from catalog.models import Chunk, Collection, Document

SHOWCASE_SAMPLE_CHARS = 240  # a teaser, not the content: at most this much of one passage


@dataclass(frozen=True)
class CollectionShowcase:
    id: uuid.UUID
    name: str
    description: str
    topics: tuple[str, ...]
    document_count: int  # documents ready to be used (copies held out are not counted)
    sample_passage: str  # the opening of the collection's first passage, cut at a word


def showcase_collections(
    *, collection_ids: Iterable[uuid.UUID], sample_chars: int = SHOWCASE_SAMPLE_CHARS
) -> dict[uuid.UUID, CollectionShowcase]:
    """Return {collection id: its showcase} for the collections that exist, in one query."""
    first_passage = (
        Chunk.objects.filter(
            collection_id=OuterRef("pk"),
            held_out=False,
            document__status=Document.Status.READY,
        )
        .order_by("document_id", "ordinal")
        .values("text")[:1]
    )
    rows = (
        Collection.objects.filter(id__in=set(collection_ids))
        .annotate(
            ready=Count("documents", filter=Q(documents__status=Document.Status.READY)),
            sample=Subquery(first_passage),
        )
        .values_list("id", "name", "description", "topics", "ready", "sample")
    )
    return {
        row[0]: CollectionShowcase(
            id=row[0],
            name=row[1],
            description=row[2],
            topics=tuple(row[3] or ()),
            document_count=row[4],
            sample_passage=_opening(row[5] or "", max(0, sample_chars)),
        )
        for row in rows
    }


def _opening(text: str, limit: int) -> str:
    """The text's first `limit` characters, cut at a whole word ("…" marks the cut)."""
    return textwrap.shorten(text, width=limit, placeholder="…") if limit else ""
