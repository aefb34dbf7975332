"""Disputes of duplicate verdicts: a provider contests that its held-out document is a copy;
an operator releases it (back into retrieval, never held out against that original again) or
upholds the verdict. One open dispute per document; each outcome is kept with its note."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import Actor
from catalog import errors
from catalog.models import Document, DuplicateDispute
from catalog.services.duplicates.rejudging import release_duplicate

REASON_MAX_CHARS = 2000
NOTE_MAX_CHARS = 500


@dataclass(frozen=True)
class DisputeInfo:
    id: int
    document_id: int
    original_document_id: int | None
    reason: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str


def _info(row: DuplicateDispute) -> DisputeInfo:
    return DisputeInfo(
        id=row.id,
        document_id=row.document_id,
        original_document_id=row.original_id,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolution_note=row.resolution_note,
    )


def _load(actor: Actor, document_id: int | str, *, for_update: bool = False) -> Document:
    from catalog.services.collections import _load_document

    return _load_document(actor, document_id, for_update=for_update)


def dispute_duplicate(*, actor: Actor, document_id: int | str, reason: str) -> DisputeInfo:
    """Contest that one of the actor's held-out documents is a copy, saying why."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        message = f"Say why it is not a copy, in 1 to {REASON_MAX_CHARS:,} characters."
        raise errors.ValidationFailed(message, details={"reason": [message]})
    try:
        with transaction.atomic():
            document = _load(actor, document_id, for_update=True)
            if document.status != Document.Status.DUPLICATE:
                raise errors.Conflict(
                    "This document is not held out as a copy: there is nothing to dispute.",
                    code="not_held_out",
                )
            row = DuplicateDispute.objects.create(
                document=document,
                original_id=document.duplicate_of_id,
                reason=reason,
                opened_by_id=actor.user_id,
            )
    except IntegrityError as exc:
        raise errors.Conflict(
            "This document's dispute is open already; an operator will answer it.",
            code="dispute_open",
        ) from exc
    return _info(row)


def get_dispute(*, actor: Actor, document_id: int | str) -> DisputeInfo:
    """Return the latest dispute of one of the actor's documents."""
    document = _load(actor, document_id)
    row = DuplicateDispute.objects.filter(document=document).first()
    if row is None:
        raise errors.NotFound("This document has no dispute.")
    return _info(row)


def resolve_dispute(
    *, dispute_id: int, release: bool, note: str = "", resolved_by_id: int | None = None
) -> bool:
    """An operator's answer to an open dispute: release the document or uphold the verdict.
    Returns whether the dispute was open (answering it twice changes nothing)."""
    note = (note or "").strip()[:NOTE_MAX_CHARS]
    with transaction.atomic():
        row = DuplicateDispute.objects.select_for_update().filter(id=dispute_id).first()
        if row is None or row.status != DuplicateDispute.Status.OPEN:
            return False
        if release:
            release_duplicate(document_id=row.document_id, released_by_id=resolved_by_id)
        row.status = DuplicateDispute.Status.RELEASED if release else DuplicateDispute.Status.UPHELD
        row.resolved_at = timezone.now()
        row.resolved_by_id = resolved_by_id
        row.resolution_note = note
        row.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    return True
