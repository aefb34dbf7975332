"""Tests for storing a batch of documents together: one transaction, rows written in bulk,
and item by item when the batch cannot be stored whole."""

import fcntl
import threading

import pytest

from catalog import services as catalog_services
from catalog.models import Chunk, Document, IngestionItem, TextSignature
from catalog.services import duplicates, retrieval
from tests.marketplace.factories import CollectionFactory

PASSAGE = (
    "Cold brew coffee keeps for about two weeks in the refrigerator when it is stored as a "
    "concentrate in a sealed glass jar, because the low temperature slows oxidation."
)


@pytest.fixture(autouse=True)
def _local_storage(settings, tmp_path):
    settings.INGESTION_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "uploads")},
    }
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture
def collection(db):
    return CollectionFactory()


def _run(collection, files: dict[str, str]):
    uploads = [
        catalog_services.UploadedFile.from_bytes(name=name, content=text.encode())
        for name, text in files.items()
    ]
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=uploads, enqueue=False
    )
    return catalog_services.run_ingestion_job(job_id=job.id)


def test_a_batch_that_cannot_be_stored_whole_is_stored_item_by_item(collection, monkeypatch):
    record_version = duplicates.record_version
    refused = []

    def refusing_one(**kwargs):
        if kwargs["document"].external_id == "brew-2.txt":
            refused.append(kwargs["document"].external_id)
            raise RuntimeError("the disk is full")
        return record_version(**kwargs)

    monkeypatch.setattr(duplicates, "record_version", refusing_one)
    files = {f"brew-{n}.txt": f"Brew {n}\n\n{PASSAGE}\n\nNote {n}." for n in range(5)}

    info = _run(collection, files)

    # Refused once in the batch (nothing of which was kept), once alone.
    assert refused == ["brew-2.txt", "brew-2.txt"]
    assert (info.status, info.progress.created, info.progress.failed) == ("partial", 4, 1)
    failed = IngestionItem.objects.get(status="failed")
    assert (failed.name, failed.error_code) == ("brew-2.txt", "internal_error")
    names = ["brew-0.txt", "brew-1.txt", "brew-3.txt", "brew-4.txt"]
    assert sorted(Document.objects.values_list("external_id", flat=True)) == names
    assert not Chunk.objects.filter(document__external_id="brew-2.txt").exists()
    # Each stored once, the first copy of the passage owning it, the others held out.
    first = Document.objects.get(external_id="brew-0.txt").chunks.get()
    assert list(Chunk.objects.filter(held_out=False)) == [first]
    assert set(Chunk.objects.filter(held_out=True).values_list("duplicate_of", flat=True)) == {
        first.id
    }
    assert TextSignature.objects.count() == 4
    assert not Document.objects.exclude(signed_version=1).exists()
    hits = catalog_services.search_chunks(query="cold brew", collection_ids=[collection.id])
    assert [hit.chunk_id for hit in hits] == [first.id]


def test_a_document_given_twice_in_one_batch_is_stored_then_updated(collection):
    info = _run(
        collection,
        {
            "tides.txt": "Tides\n\nSpring tides follow the full moon.",
            "moon.txt": "Moon\n\nThe moon has no air.",
        },
    )
    assert info.progress.created == 2
    uploads = [
        catalog_services.UploadedFile.from_bytes(name=name, content=text.encode())
        for name, text in [
            ("tides.txt", "Tides\n\nNeap tides follow the half moon."),
            ("tides.txt", "Tides\n\nNeap tides follow the half moon."),
            ("moon.txt", "Moon\n\nThe moon has no air."),
        ]
    ]
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=uploads, enqueue=False
    )

    again = catalog_services.run_ingestion_job(job_id=job.id)

    assert list(
        IngestionItem.objects.filter(job_id=job.id).order_by("ordinal").values_list("status")
    ) == [("updated",), ("unchanged",), ("unchanged",)]
    assert (again.status, again.progress.updated, again.progress.unchanged) == ("succeeded", 1, 2)
    tides = Document.objects.get(external_id="tides.txt")
    assert (tides.version, tides.status, tides.text) == (
        2,
        "ready",
        "Tides\n\nNeap tides follow the half moon.",
    )
    assert [c.text for c in tides.chunks.all()] == ["Tides\n\nNeap tides follow the half moon."]
    hits = catalog_services.search_chunks(query="neap", collection_ids=[collection.id])
    assert [hit.document_id for hit in hits] == [tides.id]
    assert catalog_services.search_chunks(query="spring", collection_ids=[collection.id]) == []


def test_a_batch_of_documents_costs_a_few_queries_per_document(
    collection, django_assert_max_num_queries
):
    files = {
        f"article-{n}.txt": f"Article {n}\n\n"
        + "\n\n".join(" ".join(f"w{n}x{p}x{i}" for i in range(120)) for p in range(4))
        for n in range(30)
    }
    uploads = [
        catalog_services.UploadedFile.from_bytes(name=name, content=text.encode())
        for name, text in files.items()
    ]
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=uploads, enqueue=False
    )

    # Per document: its signatures' candidates; the rest per batch.
    with django_assert_max_num_queries(30 + 40):
        info = catalog_services.run_ingestion_job(job_id=job.id)

    assert (info.status, info.progress.created) == ("succeeded", 30)
    assert Chunk.objects.count() == 30 * 4


def test_a_file_whose_bytes_are_in_its_row_is_read_from_there(collection):
    upload = catalog_services.UploadedFile.from_bytes(name="new.txt", content=b"New\n\nStored.")
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=[upload], enqueue=False
    )
    # Jobs made before uploads went to the ingestion storage hold each file in its row.
    IngestionItem.objects.create(
        job_id=job.id,
        ordinal=1,
        kind="file",
        name="old.txt",
        content_type="text/plain",
        payload=b"Old\n\nKept in the row since before the storage.",
    )

    info = catalog_services.run_ingestion_job(job_id=job.id)

    assert (info.status, info.progress.created) == ("succeeded", 2)
    assert dict(Document.objects.values_list("external_id", "text")) == {
        "old.txt": "Old\n\nKept in the row since before the storage.",
        "new.txt": "New\n\nStored.",
    }
    assert not IngestionItem.objects.exclude(payload=None).exists()


@pytest.mark.parametrize("holder", ["another process", "another thread"])
def test_a_job_finding_the_index_writer_busy_leaves_its_documents_to_the_holder(
    collection, settings, holder
):
    """The process holding the embedded index's writer indexes every pending document, so
    a job that finds it busy does not wait: its documents stay pending, then the holder's
    next look (here: the next call once the writer is free) makes them searchable."""
    settings.RETRIEVAL_BACKEND = "embedded"
    index = retrieval.embedded_index()
    _run(collection, {"first.txt": "Marmalade keeps for a year."})  # creates the index

    def searchable(word):
        return catalog_services.search_chunks(query=word, collection_ids=[collection.id])

    if holder == "another process":  # a second open file: to flock, another process
        held = open(settings.RETRIEVAL_INDEX_DIR / "writer.flock", "a+")  # noqa: SIM115
        fcntl.flock(held, fcntl.LOCK_EX)
        unlock = held.close
    else:
        index._write_lock.acquire()
        unlock = index._write_lock.release
    once = threading.Lock()

    def release():
        if once.acquire(blocking=False):
            unlock()

    # Were the job to wait for the writer, it would get it in a few seconds and index: the
    # document would not be pending below (and the test does not hang).
    timer = threading.Timer(3.0, release)
    timer.start()
    try:
        info = _run(collection, {"brew.txt": PASSAGE})
        assert info.progress.created == 1  # the job finished without waiting
        document = Document.objects.get(collection=collection, external_id="brew.txt")
        assert document.status == Document.Status.PENDING
        assert searchable("refrigerator") == []
        assert catalog_services.index_pending_documents() == 0  # still busy: returns at once
    finally:
        timer.cancel()
        release()
    assert catalog_services.index_pending_documents() == 1
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert [hit.document_id for hit in searchable("refrigerator")] == [document.id]
    assert len(searchable("marmalade")) == 1
