"""Turn bytes of a known format into clean text and metadata (trafilatura, pypdf)."""

from catalog.ingestion.extract.formats import (
    FORMATS,
    MEDIA_TYPES,
    RECORD_FORMATS,
    Extracted,
    ExtractionFailed,
    Limits,
    detect_format,
)
from catalog.ingestion.extract.html import META_AUTHOR, META_DATE, META_TITLE, extract_html
from catalog.ingestion.extract.pdf import extract_pdf
from catalog.ingestion.extract.records import (
    RECORD_FIELDS,
    Record,
    RecordResult,
    iter_records,
    parse_records,
)
from catalog.ingestion.extract.text import (
    check_chars,
    content_hash,
    decode,
    extract_markdown,
    extract_text,
    normalize_text,
    parse_date,
)

EXTRACTORS = {
    "text": extract_text,
    "markdown": extract_markdown,
    "html": extract_html,
    "pdf": extract_pdf,
}


def extract(
    content: bytes,
    *,
    fmt: str,
    name: str,
    charset: str | None = None,
    limits: Limits = Limits(),
) -> Extracted:
    """Return the clean text and metadata of one document's bytes, within `limits`."""
    try:
        extractor = EXTRACTORS[fmt]
    except KeyError as exc:
        raise ExtractionFailed("unsupported_type", f"{name}: {fmt} is not a document.") from exc
    return extractor(content, name=name, charset=charset, limits=limits)


__all__ = [
    "EXTRACTORS",
    "FORMATS",
    "MEDIA_TYPES",
    "META_AUTHOR",
    "META_DATE",
    "META_TITLE",
    "RECORD_FIELDS",
    "RECORD_FORMATS",
    "Extracted",
    "ExtractionFailed",
    "Limits",
    "Record",
    "RecordResult",
    "check_chars",
    "content_hash",
    "decode",
    "detect_format",
    "extract",
    "extract_html",
    "extract_markdown",
    "extract_pdf",
    "extract_text",
    "iter_records",
    "normalize_text",
    "parse_date",
    "parse_records",
]
