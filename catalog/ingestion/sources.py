"""Expand a sitemap or an RSS/Atom feed into the documents it lists (lxml, feedparser)."""

from dataclasses import dataclass
from datetime import UTC, datetime

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class SourceUnreadable(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SitemapEntries:
    pages: list[str]
    sitemaps: list[str]


@dataclass(frozen=True)
class FeedEntry:
    external_id: str
    url: str
    title: str
    author: str
    published_at: str
    html: str


def parse_sitemap(content: bytes, *, max_urls: int) -> SitemapEntries:
    """Return the page URLs of a `<urlset>` or the child sitemaps of a `<sitemapindex>`."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceUnreadable("corrupt_sitemap", f"The sitemap is not valid XML: {exc}.") from exc
    if root is None:
        raise SourceUnreadable("corrupt_sitemap", "The sitemap is empty.")
    tag = etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise SourceUnreadable("corrupt_sitemap", f"<{tag}> is not a sitemap.")
    locs = [
        (el.text or "").strip()
        for el in root.iter()
        if isinstance(el.tag, str) and etree.QName(el).localname == "loc"
    ]
    locs = list(dict.fromkeys(loc for loc in locs if loc))[:max_urls]
    if tag == "urlset":
        return SitemapEntries(pages=locs, sitemaps=[])
    return SitemapEntries(pages=[], sitemaps=locs)


def _date_of(entry) -> str:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return ""
    return datetime(*parsed[:6], tzinfo=UTC).isoformat()


def parse_feed(content: bytes, *, max_entries: int) -> list[FeedEntry]:
    """Return the entries of an RSS or Atom feed, each with its full or summary HTML."""
    import feedparser

    feed = feedparser.parse(content)
    if feed.get("bozo") and not feed.entries:
        raise SourceUnreadable("corrupt_feed", "The feed is not valid RSS or Atom.")
    if not feed.get("version") and not feed.entries:
        raise SourceUnreadable("corrupt_feed", "This is not an RSS or Atom feed.")
    entries = []
    for entry in feed.entries[:max_entries]:
        contents = entry.get("content") or []
        html = contents[0].get("value", "") if contents else entry.get("summary", "")
        url = entry.get("link", "")
        external_id = entry.get("id") or url or entry.get("title", "")
        if not external_id:
            continue
        entries.append(
            FeedEntry(
                external_id=external_id[:1024],
                url=url[:2048],
                title=entry.get("title", "")[:500],
                author=entry.get("author", "")[:300],
                published_at=_date_of(entry),
                html=html,
            )
        )
    return entries


def html_fragment_text(html: str) -> str:
    """Return the readable text of a feed entry's HTML fragment."""
    import lxml.html

    if not html.strip():
        return ""
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:
        return html
    for bad in fragment.xpath("//script|//style"):
        bad.drop_tree()
    for block in fragment.xpath("//p|//br|//li|//h1|//h2|//h3|//h4|//div"):
        block.tail = "\n\n" + (block.tail or "")
    return fragment.text_content()
