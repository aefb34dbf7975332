"""A document's canonical URL: where citations of it link back to, set by its provider."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction

from accounts.services import Actor
from catalog import errors
from catalog.models import Document
from catalog.services.collections import DocumentInfo, _document_info, _load_document

MAX_URL_CHARS = 2048


def clean_canonical_url(url: str) -> str:
    """Return the URL stripped, or "" to clear it; refuse anything but an absolute http(s) URL."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > MAX_URL_CHARS:
        raise errors.ValidationFailed(
            "The URL is too long.",
            details={"source_url": [f"At most {MAX_URL_CHARS} characters."]},
        )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError as exc:
        raise errors.ValidationFailed(
            "Enter an absolute http or https URL.",
            details={
                "source_url": [
                    "Enter an absolute http or https URL, like https://example.com/page."
                ]
            },
        ) from exc
    return url


def set_canonical_url(*, actor: Actor, document_id: int | str, source_url: str) -> DocumentInfo:
    """Set (or clear, with "") the URL a document's citations link to. A new version of the
    document from an upload keeps it; a crawled page's own URL replaces it."""
    url = clean_canonical_url(source_url)
    with transaction.atomic():
        document = _load_document(actor, document_id, for_update=True)
        Document.objects.filter(id=document.id).update(source_url=url)
        document.source_url = url
    return _document_info(document)
