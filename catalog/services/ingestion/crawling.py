"""Processing web sources: a page, a sitemap (to a limited depth) and an RSS/Atom feed."""

import json

from django.conf import settings

from catalog.ingestion import extract as extraction
from catalog.ingestion.fetch import FetchPolicy, fetch
from catalog.ingestion.sources import parse_feed, parse_sitemap
from catalog.models import IngestionItem as Item
from catalog.models import IngestionJob
from catalog.services.ingestion.files import _limits
from catalog.services.ingestion.items import Prepared, _expand, _Failed, _prepare

DOCUMENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/pdf",
)
SITEMAP_TYPES = ("application/xml", "text/xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", *SITEMAP_TYPES)


def fetch_policy(kind: Item.Kind) -> FetchPolicy:
    """Return the fetch rules for a page, a sitemap or a feed, from settings."""
    types = {Item.Kind.SITEMAP: SITEMAP_TYPES, Item.Kind.FEED: FEED_TYPES}.get(kind, DOCUMENT_TYPES)
    return FetchPolicy(
        max_bytes=settings.INGESTION_FETCH_MAX_BYTES,
        timeout_s=settings.INGESTION_FETCH_TIMEOUT_S,
        max_redirects=settings.INGESTION_FETCH_MAX_REDIRECTS,
        allowed_content_types=types,
        allowed_private_networks=tuple(settings.INGESTION_ALLOWED_PRIVATE_NETWORKS),
    )


def _process_page(job: IngestionJob, item: Item) -> Prepared:
    fetched = fetch(item.name, fetch_policy(Item.Kind.PAGE))
    fmt = extraction.detect_format(name=fetched.url, content_type=fetched.content_type)
    extracted = extraction.extract(
        fetched.content, fmt=fmt or "", name=item.name, charset=fetched.charset, limits=_limits()
    )
    return _prepare(
        item,
        external_id=item.name,
        source_url=item.name,
        content_type=fetched.content_type,
        extracted=extracted,
    )


def _too_deep(url: str, depth: int) -> _Failed | None:
    limit = settings.INGESTION_SITEMAP_MAX_DEPTH
    if depth <= limit:
        return None
    return _Failed(
        "sitemap_too_deep", f"{url} is nested {depth} sitemaps deep; the limit is {limit}."
    )


def _sitemap_item(url: str, *, depth: int) -> Item:
    """Return a child sitemap to fetch, or a failed one if it lies past the depth limit."""
    refusal = _too_deep(url, depth)
    if refusal is None:
        return Item(kind=Item.Kind.SITEMAP, name=url[:2048])
    return Item(
        kind=Item.Kind.SITEMAP,
        name=url[:2048],
        status=Item.Status.FAILED,
        error_code=refusal.code,
        error_message=refusal.message,
    )


def _process_sitemap(job: IngestionJob, item: Item) -> None:
    if refusal := _too_deep(item.name, item.depth):  # retried after it was refused
        raise refusal
    fetched = fetch(item.name, fetch_policy(Item.Kind.SITEMAP))
    entries = parse_sitemap(fetched.content, max_urls=settings.INGESTION_MAX_ITEMS_PER_JOB)
    children = [Item(kind=Item.Kind.PAGE, name=url[:2048]) for url in entries.pages]
    children += [_sitemap_item(url, depth=item.depth + 1) for url in entries.sitemaps]
    _expand(job, item, children, dedupe_urls=True)


def _process_feed(job: IngestionJob, item: Item) -> None:
    fetched = fetch(item.name, fetch_policy(Item.Kind.FEED))
    entries = parse_feed(fetched.content, max_entries=settings.INGESTION_MAX_ITEMS_PER_JOB)
    children = [
        Item(
            kind=Item.Kind.RECORD,
            name=(entry.url or entry.external_id)[:2048],
            content_type="record",
            payload=json.dumps(
                {
                    "external_id": entry.external_id,
                    "title": entry.title,
                    "url": entry.url,
                    "text": entry.html,
                    "author": entry.author,
                    "published_at": entry.published_at,
                    "html": True,
                }
            ).encode(),
        )
        for entry in entries
    ]
    _expand(job, item, children)
