"""Ingest every entry of an RSS or Atom feed into a collection."""

from catalog.management.commands import ingest_url


class Command(ingest_url.Command):
    help = "Fetch an RSS/Atom feed and ingest each entry, with a progress bar."

    def handle(self, *args, **options):
        return super().handle(*args, **{**options, "kind": "feed"})
