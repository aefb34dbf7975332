"""Ingest local files (or every supported file under directories) into a collection."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import errors, services
from catalog.ingestion.extract import detect_format
from catalog.models import Collection


def load_collection(collection_id: str) -> Collection:
    try:
        return Collection.objects.get(id=collection_id)
    except (Collection.DoesNotExist, ValueError) as exc:
        raise CommandError(f"No collection {collection_id}.") from exc
    except Exception as exc:  # a malformed UUID raises Django's ValidationError
        raise CommandError(f"{collection_id!r} is not a collection id.") from exc


def run_with_progress(command: BaseCommand, job: services.IngestionJobInfo) -> None:
    """Run a job in this process with a progress bar, then print its outcome and errors."""
    bar = tqdm(total=job.progress.total, unit="doc", file=command.stderr, dynamic_ncols=True)

    def show(progress: services.IngestionProgress) -> None:
        bar.total = progress.total
        bar.n = progress.done
        bar.set_postfix(failed=progress.failed)
        bar.refresh()

    info = services.run_ingestion_job(job_id=job.id, on_progress=show)
    bar.close()
    p = info.progress
    command.stdout.write(
        f"Job {info.id}: {info.status}; {p.created} created, {p.updated} updated, "
        f"{p.unchanged} unchanged, {p.failed} failed, {p.expanded} expanded of {p.total}."
    )
    for error in info.errors:
        command.stdout.write(f"  {error.name}: {error.code}: {error.message}")


class Command(BaseCommand):
    help = "Ingest txt, md, html, pdf, jsonl and csv files into a collection, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("collection_id")
        parser.add_argument("paths", nargs="+", help="Files or directories (searched recursively).")

    def handle(self, *args, collection_id, paths, **options):
        collection = load_collection(collection_id)
        files = []
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                raise CommandError(f"{raw} does not exist.")
            candidates = (
                sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            )
            for candidate in candidates:
                if path.is_dir() and detect_format(name=candidate.name) is None:
                    continue
                name = str(candidate.relative_to(path)) if path.is_dir() else candidate.name
                files.append(services.UploadedFile.from_path(candidate, name=name))
        if not files:
            raise CommandError("No supported files found.")
        per_job = settings.INGESTION_MAX_FILES_PER_UPLOAD
        try:
            for start in range(0, len(files), per_job):
                job = services.create_upload_job(
                    collection_id=collection.id, files=files[start : start + per_job], enqueue=False
                )
                run_with_progress(self, job)
        except errors.DomainError as exc:
            raise CommandError(exc.message) from exc
