"""Turn bytes of a known format into clean text and metadata (trafilatura, pypdf)."""

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import BinaryIO

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
class Limits:
    """How much one document may yield: PDF pages, and characters of extracted text."""

    max_pages: int = 2_000
    max_chars: int = 5_000_000
    # Main-text extraction (trafilatura) costs ~35 bytes of memory per byte of HTML; larger
    # pages keep all the text of their body instead, read without building a tree.
    max_main_text_html_bytes: int = 2 * 1024 * 1024


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


_SURROGATES = re.compile("[\ud800-\udfff]")


def normalize_text(text: str) -> str:
    """Return text in NFC with unix newlines, no trailing spaces and at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\x00", "")
    text = _SURROGATES.sub("\ufffd", text)
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


def _require_text(text: str, name: str, limits: Limits) -> str:
    text = normalize_text(text)
    if not text:
        raise ExtractionFailed("empty_document", f"{name} has no text to ingest.")
    check_chars(len(text), name, limits)
    return text


def check_chars(count: int, name: str, limits: Limits) -> None:
    if count > limits.max_chars:
        raise ExtractionFailed(
            "too_much_text",
            f"{name} yields more than {limits.max_chars} characters of text; "
            "split it into smaller documents.",
        )


def _first_line_title(text: str, name: str) -> str:
    first = text.split("\n", 1)[0].strip().lstrip("#").strip()
    return first[:200] if first and len(first) <= 200 else PurePosixPath(name).stem


def extract_text(
    content: bytes, *, name: str, charset: str | None = None, limits: Limits = Limits()
) -> Extracted:
    text = _require_text(decode(content, charset), name, limits)
    return Extracted(text=text, title=_first_line_title(text, name))


def extract_markdown(
    content: bytes, *, name: str, charset: str | None = None, limits: Limits = Limits()
) -> Extracted:
    text = _require_text(decode(content, charset), name, limits)
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


def extract_html(
    content: bytes, *, name: str, charset: str | None = None, limits: Limits = Limits()
) -> Extracted:
    import lxml.etree
    import lxml.html
    import trafilatura

    html = decode(content, charset)
    if not html.strip():
        raise ExtractionFailed("empty_document", f"{name} is empty.")
    main_text = len(content) <= limits.max_main_text_html_bytes
    try:
        if main_text:
            tree = lxml.html.document_fromstring(html)
            meta = _html_metadata(tree)
            # Main-text extraction only; the head's metadata is read above (trafilatura's own
            # metadata and date guessing would triple the cost per page).
            document = trafilatura.bare_extraction(
                tree, with_metadata=False, include_comments=False, include_tables=True, fast=True
            )
            data = {} if document is None else document.as_dict()
            raw_text = data.get("text") or ""
        else:
            head_end = html.find("</head>", 0, limits.max_main_text_html_bytes)
            head = html[: head_end + 7] if head_end >= 0 else "<html></html>"
            meta = _html_metadata(lxml.html.document_fromstring(head))
            raw_text = _body_text(html, name, limits)
    except (lxml.etree.ParserError, ValueError, TypeError) as exc:
        raise ExtractionFailed("unreadable_html", f"{name} could not be parsed as HTML.") from exc
    if not raw_text.strip():
        raise ExtractionFailed("empty_document", f"{name} has no main text to ingest.")
    text = _require_text(raw_text, name, limits)
    metadata = {k: meta[k] for k in ("description", "language") if meta[k]}
    if not main_text:
        metadata["extraction"] = "body"
    return Extracted(
        text=text,
        title=meta["title"] or _first_line_title(text, name),
        author=meta["author"],
        published_at=meta["published_at"],
        metadata=metadata,
    )


_NOT_TEXT = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")
_BLOCKS = ("p", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section", "pre")


class _BodyText:
    """An lxml parser target that keeps the text of a page's body, one block a paragraph."""

    def __init__(self, name: str, limits: Limits):
        self.name, self.limits = name, limits
        self.pieces: list[str] = []
        self.count = self.skipping = 0
        self.in_body = False

    def start(self, tag, attrib):
        if tag == "body":
            self.in_body = True
        elif tag in _NOT_TEXT:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.pieces.append("\n\n")

    def end(self, tag):
        if tag in _NOT_TEXT:
            self.skipping = max(0, self.skipping - 1)

    def data(self, data):
        if self.in_body and not self.skipping:
            self.count += len(data)
            # Normalising whitespace shrinks text by less than half: stop once sure.
            check_chars(self.count // 2, self.name, self.limits)
            self.pieces.append(data)

    def close(self):
        return "".join(self.pieces)


def _body_text(html: str, name: str, limits: Limits) -> str:
    """Return all the text of a page's body without building a tree (no boilerplate removal)."""
    import lxml.etree

    parser = lxml.etree.HTMLParser(target=_BodyText(name, limits))
    step = 1024 * 1024
    for start in range(0, len(html), step):
        parser.feed(html[start : start + step])
    return parser.close()


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


def _clean(value: str) -> str:
    """Return a metadata string without NUL or lone surrogates (no database stores them)."""
    return _SURROGATES.sub("", value.replace("\x00", "")).strip()


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


RECORD_FIELDS = ("id", "url", "title", "text", "author", "published_at")


def _field_value(row: dict, key: str, where: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ExtractionFailed("invalid_record", f"{where}: '{key}' must be a string.")
    text = str(value)
    if "\x00" in text:
        raise ExtractionFailed("invalid_record", f"{where}: '{key}' contains a NUL character.")
    if _SURROGATES.search(text):
        raise ExtractionFailed(
            "invalid_record", f"{where}: '{key}' contains an unpaired surrogate (not Unicode)."
        )
    return text.strip()


def _record_from(row: dict, *, where: str) -> Record:
    values = {key: _field_value(row, key, where) for key in RECORD_FIELDS}
    text = values["text"]
    if not text:
        raise ExtractionFailed("missing_text", f"{where} has no 'text'.")
    url = values["url"]
    external_id = values["id"] or url or values["title"]
    if not external_id:
        raise ExtractionFailed("missing_id", f"{where} needs an 'id', 'url' or 'title'.")
    return Record(
        external_id=external_id[:1024],
        title=values["title"][:500],
        url=url[:2048],
        text=text,
        author=values["author"][:300],
        published_at=values["published_at"],
    )


RecordResult = tuple[str, Record | None, str]


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield a file's lines one at a time: UTF-8 (a BOM is dropped), else cp1252, else latin-1."""
    for number, raw in enumerate(stream):
        if number == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                yield raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue


def _jsonl_records(lines: Iterable[str], name: str) -> Iterator[RecordResult]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            row = json.loads(line)
        except RecursionError:
            yield where, None, f"{where} is nested too deeply."
            continue
        except ValueError:
            yield where, None, f"{where} is not a JSON object."
            continue
        if not isinstance(row, dict):
            yield where, None, f"{where} is not a JSON object."
            continue
        try:
            yield where, _record_from(row, where=where), ""
        except ExtractionFailed as exc:
            yield where, None, exc.message


def _csv_records(lines: Iterable[str], name: str) -> Iterator[RecordResult]:
    try:
        reader = csv.DictReader(lines)
        if reader.fieldnames is None:
            raise ExtractionFailed("empty_document", f"{name} is empty.")
        fields = [f.strip().lower() for f in reader.fieldnames]
        if "text" not in fields:
            raise ExtractionFailed("missing_text", f"{name} has no 'text' column.")
        for raw in reader:
            where = f"{name} line {reader.line_num}"
            row = {(k or "").strip().lower(): v for k, v in raw.items() if isinstance(k, str)}
            try:
                yield where, _record_from(row, where=where), ""
            except ExtractionFailed as exc:
                yield where, None, exc.message
    except csv.Error as exc:
        raise ExtractionFailed("corrupt_csv", f"{name} is not valid CSV: {exc}.") from exc


def iter_records(stream: BinaryIO, *, fmt: str, name: str) -> Iterator[RecordResult]:
    """Yield (where, record, error) per record of a jsonl/csv file, reading it line by line.

    Nothing but the current line is held in memory, so a caller can stop at any count. A
    record that is not valid (not an object, nested too deeply, a NUL or an unpaired surrogate
    in a field, no text or id) yields an error naming its line; the file goes on.
    """
    lines = _decoded_lines(stream)
    seen_any = False
    records = _jsonl_records(lines, name) if fmt == "jsonl" else _csv_records(lines, name)
    for result in records:
        seen_any = True
        yield result
    if not seen_any and fmt == "jsonl":
        raise ExtractionFailed("empty_document", f"{name} is empty.")


def parse_records(content: bytes, *, fmt: str, name: str) -> list[RecordResult]:
    """Return (where, record, error) per record of a jsonl/csv file held in memory."""
    return list(iter_records(io.BytesIO(content), fmt=fmt, name=name))
