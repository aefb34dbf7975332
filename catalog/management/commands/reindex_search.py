"""Rebuild the embedded search index from the database (safe to run at any time)."""

import time

from django.core.management.base import BaseCommand

from catalog import services


class Command(BaseCommand):
    help = "Rebuild the embedded search index from every chunk in the database."

    def handle(self, *args, **options):
        started = time.perf_counter()
        count = services.rebuild_search_index()
        backend = services.search_backend()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Indexed {count} chunks for the {backend} backend in {elapsed:.1f} s.")
