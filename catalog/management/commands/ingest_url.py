"""Ingest a web page, a sitemap's pages or an RSS/Atom feed's entries into a collection."""

from django.core.management.base import BaseCommand, CommandError

from catalog import errors, services
from catalog.management.commands.ingest_files import load_collection, run_with_progress


class Command(BaseCommand):
    help = "Fetch a URL (SSRF-safe) and ingest it as a page, a sitemap or a feed."

    def add_arguments(self, parser):
        parser.add_argument("collection_id")
        parser.add_argument("url")
        parser.add_argument("--kind", choices=["url", "sitemap", "feed"], default="url")

    def handle(self, *args, collection_id, url, kind, **options):
        collection = load_collection(collection_id)
        try:
            job = services.create_url_job(
                collection_id=collection.id, url=url, kind=kind, enqueue=False
            )
        except errors.DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        run_with_progress(self, job)
