"""The file a dataset export downloads: a ZIP archive of `data.jsonl` (one JSON object per
licensed document: id, collection, version, content hash, title, author, source URL,
publication date, text) and `manifest.json` (the licence: agreement, offer version and its
terms, provider, collections; every document's id, version and content hash; the size and
SHA-256 of `data.jsonl`).

The archive is written as it is sent, documents read a page at a time, so an export of any
size takes the memory of one page: `zipfile` writes to a stream it cannot seek with data
descriptors after each member, and the manifest comes last, once every hash is known.
"""

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts import services as accounts
from catalog import services as catalog
from licensing import services as licensing

FORMAT = "provenant.dataset-export/1"
PAGE = 200


@dataclass(frozen=True)
class ExportSource:
    """What one download of an export delivers: the licence it is made under."""

    export_id: uuid.UUID
    created_at: datetime
    agreement: licensing.AgreementInfo
    licensee_id: uuid.UUID

    @property
    def filename(self) -> str:
        return f"dataset-export-{self.export_id}.zip"


class _Sink(io.RawIOBase):
    """An unseekable stream that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _licence(source: ExportSource, base_url: str) -> dict[str, object]:
    agreement = source.agreement
    offer, terms = agreement.offer, agreement.offer.terms
    slug = accounts.organization_slugs(organization_ids=[offer.provider_id]).get(
        offer.provider_id, ""
    )
    return {
        "agreement_id": str(agreement.id),
        "licensee_organization_id": str(source.licensee_id),
        "status": agreement.status,
        "accepted_at": _iso(agreement.starts_at),
        "offer": {
            "id": str(offer.id),
            "name": offer.name,
            "version": offer.version,
            "version_id": offer.version_id,
            "payment_type": terms.payment_type,
            "price_micros": terms.price_micros,
            "currency": terms.currency,
            "usage_types": list(terms.usage_types),
            "territories": list(terms.territories),
            "citation_required": terms.citation_required,
            "max_snippet_chars": terms.max_snippet_chars,
            "expires_at": _iso(terms.expires_at),
            "url": f"{base_url}/api/v1/market/offers/{offer.id}",
        },
        "terms_url": f"{base_url}/rsl/{slug}.xml" if slug else None,
        "provider": {"id": str(offer.provider_id), "name": offer.provider_name, "slug": slug},
    }


def export_archive(source: ExportSource, *, base_url: str) -> Iterator[bytes]:
    """Yield the export's ZIP archive, piece by piece."""
    collections = source.agreement.offer.terms.collection_ids
    names = catalog.collection_names(collection_ids=collections)
    sink = _Sink()
    digest = hashlib.sha256()
    size = 0
    listed: list[dict[str, object]] = []
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.jsonl", mode="w", force_zip64=True) as data:
            after = 0
            while True:
                page = catalog.licensed_documents(
                    collection_ids=collections, after_id=after, limit=PAGE
                )
                if not page:
                    break
                after = page[-1].id
                for document in page:
                    line = (
                        json.dumps(
                            {
                                "document_id": document.id,
                                "collection_id": str(document.collection_id),
                                "version": document.version,
                                "content_hash": document.content_hash,
                                "title": document.title,
                                "author": document.author,
                                "source_url": document.source_url,
                                "published_at": _iso(document.published_at),
                                "text": document.text,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    ).encode()
                    data.write(line)
                    digest.update(line)
                    size += len(line)
                    listed.append(
                        {
                            "id": document.id,
                            "collection_id": str(document.collection_id),
                            "version": document.version,
                            "content_hash": document.content_hash,
                        }
                    )
                yield sink.take()
        manifest = {
            "format": FORMAT,
            "export_id": str(source.export_id),
            "created_at": _iso(source.created_at),
            "generated_at": _iso(timezone.now()),
            "licence": _licence(source, base_url),
            "collections": [{"id": str(c), "name": names.get(c, "")} for c in collections],
            "files": {
                "data.jsonl": {
                    "records": len(listed),
                    "bytes": size,
                    "sha256": digest.hexdigest(),
                }
            },
            "documents": listed,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    yield sink.take()
