"""Ingest every page a sitemap lists (a sitemap index is followed) into a collection."""

from catalog.management.commands import ingest_url


class Command(ingest_url.Command):
    help = "Fetch a sitemap.xml and ingest every page it lists, with a progress bar."

    def handle(self, *args, **options):
        return super().handle(*args, **{**options, "kind": "sitemap"})
