"""Sign documents stored before duplicate detection, and judge them (safe to run at any time)."""

import time

from django.core.management.base import BaseCommand

from catalog import services


class Command(BaseCommand):
    help = (
        "Compute the duplicate-detection signatures of documents that have none of the current "
        "algorithm, oldest first, holding out copies of earlier documents (docs/catalog.md)."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        count = services.sign_documents()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Signed {count} documents in {elapsed:.1f} s.")
