"""HTML pages: the main text (trafilatura), or all of the body's text for very large pages."""

from catalog.ingestion.extract.formats import Extracted, ExtractionFailed, Limits
from catalog.ingestion.extract.text import (
    _first_line_title,
    _require_text,
    check_chars,
    decode,
    parse_date,
)

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
