"""PDF documents (pypdf), refused past a page or character limit."""

import io

from catalog.ingestion.extract.formats import Extracted, ExtractionFailed, Limits
from catalog.ingestion.extract.text import _clean, _first_line_title, _require_text, check_chars


def _pdf_pages_text(reader, name: str, limits: Limits) -> list[str]:
    """Return each page's text, refusing a PDF past the page or character limit.

    The limits are checked before and during extraction: many pages can share one content
    stream, so a small file can otherwise yield text without end.
    """
    count = len(reader.pages)
    if count > limits.max_pages:
        raise ExtractionFailed(
            "too_many_pages", f"{name} has {count} pages; the limit is {limits.max_pages}."
        )
    pages, chars = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        chars += len(text)
        check_chars(chars, name, limits)
        pages.append(text)
    return pages


def extract_pdf(
    content: bytes, *, name: str, charset: str | None = None, limits: Limits = Limits()
) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not content:
        raise ExtractionFailed("empty_document", f"{name} is empty.")
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractionFailed("encrypted_pdf", f"{name} is encrypted; upload it unlocked.")
        pages = _pdf_pages_text(reader, name, limits)
        info = reader.metadata or {}
    except ExtractionFailed:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, OSError, RecursionError) as exc:
        raise ExtractionFailed("corrupt_pdf", f"{name} is not a readable PDF.") from exc
    text = _require_text("\n\n".join(pages), name, limits)
    title = _clean(str(info.get("/Title") or "")) or _first_line_title(text, name)
    return Extracted(
        text=text,
        title=title[:500],
        author=_clean(str(info.get("/Author") or ""))[:300],
        metadata={"pages": len(pages)},
    )
