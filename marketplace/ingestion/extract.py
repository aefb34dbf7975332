"""Turn bytes of a known format into clean text and metadata (trafilatura, pypdf)."""

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

# Formats, by the media types and file name extensions that announce them.
FORMATS = {
    "text": (("text/plain",), (".txt", ".text")),
    "markdown": (("text/markdown", "text/x-markdown"), (".md", ".markdown")),
    "html": (("text/html", "application/xhtml+xml"), (".html", ".htm", ".xhtml")),
    "pdf": (("application/pdf",), (".pdf",)),
    "jsonl": (("application/jsonl", "application/x-ndjson", "application/jsonlines"), (".jsonl",)),
    "csv": (("text/csv", "application/csv"), (".csv",)),
}
RECORD_FORMATS = ("jsonl", "csv")
MEDIA_TYPES = {fmt: types[0] for fmt, (types, _) in FORMATS.items()}


class ExtractionFailed(Exception):
    """The content could not be turned into text; `code` names the reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    author: str = ""
    published_at: datetime | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """One record of a jsonl/csv file: a document of its own."""

    external_id: str
    title: str
    url: str
    text: str
    author: str = ""
    published_at: str = ""


def detect_format(*, name: str, content_type: str = "") -> str | None:
    """Return the format of a file from its media type, else its extension; None if unknown."""
    media = content_type.split(";")[0].strip().lower()
    for fmt, (types, _) in FORMATS.items():
        if media in types:
            return fmt
    suffix = PurePosixPath(name.lower()).suffix
    for fmt, (_, suffixes) in FORMATS.items():
        if suffix in suffixes:
            return fmt
    return None


def normalize_text(text: str) -> str:
    """Return text in NFC with unix newlines, no trailing spaces and at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\x00", "")
    text = re.sub(r"[ \t\f\v]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def content_hash(*, text: str, title: str) -> str:
    """Return the SHA-256 that decides whether re-ingested content changed."""
    return hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()


def decode(content: bytes, charset: str | None = None) -> str:
    """Decode bytes: the declared charset, else UTF-8 (with or without BOM), else cp1252."""
    for encoding in (charset, "utf-8-sig", "cp1252"):
        if not encoding:
            continue
        try:
            return content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return content.decode("latin-1")


def parse_date(value) -> datetime | None:
    """Return an aware datetime from an ISO-8601 string or date, or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _require_text(text: str, name: str) -> str:
    text = normalize_text(text)
    if not text:
        raise ExtractionFailed("empty_document", f"{name} has no text to ingest.")
    return text


def _first_line_title(text: str, name: str) -> str:
    first = text.split("\n", 1)[0].strip().lstrip("#").strip()
    return first[:200] if first and len(first) <= 200 else PurePosixPath(name).stem


def extract_text(content: bytes, *, name: str, charset: str | None = None) -> Extracted:
    text = _require_text(decode(content, charset), name)
    return Extracted(text=text, title=_first_line_title(text, name))


def extract_markdown(content: bytes, *, name: str, charset: str | None = None) -> Extracted:
    text = _require_text(decode(content, charset), name)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    title = heading.group(1).strip()[:200] if heading else _first_line_title(text, name)
    return Extracted(text=text, title=title)


META_TITLE = ("og:title", "twitter:title", "dc.title")
META_AUTHOR = ("author", "article:author", "dc.creator", "byl")
META_DATE = ("article:published_time", "og:published_time", "date", "dc.date", "pubdate")


def _html_metadata(tree) -> dict:
    """Read title, author, date and description from the page's head (cheap, no guessing)."""
    metas = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        value = (meta.get("content") or "").strip()
        if key and value and key not in metas:
            metas[key] = value
    title_el = tree.find(".//title")
    h1 = tree.find(".//h1")
    title = next((metas[k] for k in META_TITLE if k in metas), "")
    title = title or (title_el.text_content().strip() if title_el is not None else "")
    title = title or (h1.text_content().strip() if h1 is not None else "")
    published = next((metas[k] for k in META_DATE if k in metas), "")
    if not published:
        time_el = tree.find(".//time[@datetime]")
        published = time_el.get("datetime", "") if time_el is not None else ""
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    language = (html_el.get("lang") or "") if html_el is not None else ""
    return {
        "title": " ".join(title.split())[:500],
        "author": next((metas[k] for k in META_AUTHOR if k in metas), "")[:300],
        "published_at": parse_date(published),
        "description": metas.get("description") or metas.get("og:description", ""),
        "language": language,
    }


def extract_html(content: bytes, *, name: str, charset: str | None = None) -> Extracted:
    import lxml.etree
    import lxml.html
    import trafilatura

    html = decode(content, charset)
    if not html.strip():
        raise ExtractionFailed("empty_document", f"{name} is empty.")
    try:
        tree = lxml.html.document_fromstring(html)
        meta = _html_metadata(tree)
        # Main-text extraction only; the head's metadata is read above (trafilatura's own
        # metadata and date guessing would triple the cost per page).
        document = trafilatura.bare_extraction(
            tree, with_metadata=False, include_comments=False, include_tables=True, fast=True
        )
    except (lxml.etree.ParserError, ValueError, TypeError) as exc:
        raise ExtractionFailed("unreadable_html", f"{name} could not be parsed as HTML.") from exc
    if document is None:
        raise ExtractionFailed("empty_document", f"{name} has no main text to ingest.")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    text = _require_text(data.get("text") or "", name)
    return Extracted(
        text=text,
        title=meta["title"] or _first_line_title(text, name),
        author=meta["author"],
        published_at=meta["published_at"],
        metadata={k: meta[k] for k in ("description", "language") if meta[k]},
    )


def extract_pdf(content: bytes, *, name: str, charset: str | None = None) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not content:
        raise ExtractionFailed("empty_document", f"{name} is empty.")
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractionFailed("encrypted_pdf", f"{name} is encrypted; upload it unlocked.")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except ExtractionFailed:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, OSError) as exc:
        raise ExtractionFailed("corrupt_pdf", f"{name} is not a readable PDF.") from exc
    text = _require_text("\n\n".join(pages), name)
    title = str(info.get("/Title") or "").strip() or _first_line_title(text, name)
    return Extracted(
        text=text,
        title=title[:500],
        author=str(info.get("/Author") or "").strip()[:300],
        metadata={"pages": len(pages)},
    )


EXTRACTORS = {
    "text": extract_text,
    "markdown": extract_markdown,
    "html": extract_html,
    "pdf": extract_pdf,
}


def extract(content: bytes, *, fmt: str, name: str, charset: str | None = None) -> Extracted:
    """Return the clean text and metadata of one document's bytes."""
    try:
        extractor = EXTRACTORS[fmt]
    except KeyError as exc:
        raise ExtractionFailed("unsupported_type", f"{name}: {fmt} is not a document.") from exc
    return extractor(content, name=name, charset=charset)


def _record_from(row: dict, *, where: str) -> Record:
    def get(key: str) -> str:
        value = row.get(key)
        return "" if value is None else str(value).strip()

    text = get("text")
    if not text:
        raise ExtractionFailed("missing_text", f"{where} has no 'text'.")
    url = get("url")
    external_id = get("id") or url or get("title")
    if not external_id:
        raise ExtractionFailed("missing_id", f"{where} needs an 'id', 'url' or 'title'.")
    return Record(
        external_id=external_id[:1024],
        title=get("title")[:500],
        url=url[:2048],
        text=text,
        author=get("author")[:300],
        published_at=get("published_at"),
    )


def parse_records(content: bytes, *, fmt: str, name: str) -> list[tuple[str, Record | None, str]]:
    """Return (where, record, error) per record of a jsonl/csv file; errors name the line."""
    text = decode(content)
    if not text.strip():
        raise ExtractionFailed("empty_document", f"{name} is empty.")
    out: list[tuple[str, Record | None, str]] = []
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{name} line {number}"
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
                out.append((where, _record_from(row, where=where), ""))
            except ValueError:
                out.append((where, None, f"{where} is not a JSON object."))
            except ExtractionFailed as exc:
                out.append((where, None, exc.message))
        return out
    try:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "text" not in fields:
            raise ExtractionFailed("missing_text", f"{name} has no 'text' column.")
        for number, raw in enumerate(reader, start=2):
            where = f"{name} line {number}"
            row = {(k or "").strip().lower(): v for k, v in raw.items()}
            try:
                out.append((where, _record_from(row, where=where), ""))
            except ExtractionFailed as exc:
                out.append((where, None, exc.message))
    except csv.Error as exc:
        raise ExtractionFailed("corrupt_csv", f"{name} is not valid CSV: {exc}.") from exc
    return out
