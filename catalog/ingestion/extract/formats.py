"""The formats ingestion reads, what one document may yield, and what extraction returns."""

from dataclasses import dataclass, field
from datetime import datetime
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
