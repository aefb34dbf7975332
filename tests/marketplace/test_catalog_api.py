import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog.models import Chunk, Collection, Document, IngestionItem, IngestionJob
from catalog.services import ingestion
from catalog.services.ingestion import dispatch
from tests.marketplace.factories import CollectionFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0
    settings.INGESTION_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "uploads")},
    }


def _stored_uploads(settings) -> list[str]:
    location = Path(settings.INGESTION_STORAGE["OPTIONS"]["location"])
    return sorted(p.name for p in location.iterdir()) if location.exists() else []


@pytest.fixture
def provider(make_org, key_client):
    org, owner = make_org(roles=("provider",), name="Northwind Press")
    return org, owner, key_client(org)


def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _file(name: str, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes(), content_type=content_type)


def _upload(client, collection_id, *files, capture):
    with capture(execute=True):
        return client.post(
            f"/api/v1/collections/{collection_id}/uploads",
            {"files": list(files)},
            format="multipart",
        )


# -- collections ------------------------------------------------------------------------------


def test_provider_creates_and_lists_a_collection(provider):
    org, _, client = provider
    response = client.post(
        "/api/v1/collections",
        {"name": "Field guides", "description": "Birds", "topics": ["nature", "birds"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["organization_id"], body["topics"], body["document_count"]) == (
        "Field guides",
        str(org.id),
        ["nature", "birds"],
        0,
    )
    listed = client.get("/api/v1/collections").json()
    assert [c["id"] for c in listed] == [body["id"]]


def test_duplicate_collection_name_is_409_and_creates_nothing(provider):
    org, _, client = provider
    CollectionFactory(organization=org, name="Atlas")
    response = client.post("/api/v1/collections", {"name": "Atlas"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "name_taken"
    assert Collection.objects.filter(organization=org).count() == 1


def test_agent_only_organization_cannot_create_collections(make_org):
    _, owner = make_org(roles=("agent",))
    response = _session(owner).post("/api/v1/collections", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"  # the one role check, as on every API
    assert Collection.objects.count() == 0


def test_key_without_catalog_scope_is_403(make_org, key_client):
    org, _ = make_org(roles=("provider",))
    client = key_client(org, scopes=["billing"])
    response = client.get("/api/v1/collections")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_collection_update_and_delete(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org, name="Old")
    response = client.patch(
        f"/api/v1/collections/{collection.id}", {"name": "New", "language": "fr"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["language"]) == ("New", "fr")
    assert client.delete(f"/api/v1/collections/{collection.id}").status_code == 204
    assert not Collection.objects.filter(id=collection.id).exists()


def test_unknown_field_in_collection_create_is_400(provider):
    _, _, client = provider
    response = client.post("/api/v1/collections", {"name": "A", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert Collection.objects.count() == 0


def test_signed_in_member_manages_collections_of_their_provider_org(provider):
    org, owner, _ = provider
    response = _session(owner).post("/api/v1/collections", {"name": "Mine"}, format="json")
    assert response.status_code == 201
    assert response.json()["organization_id"] == str(org.id)


# -- tenant isolation -------------------------------------------------------------------------


def test_another_organizations_catalog_is_404_on_every_endpoint(
    provider, make_org, django_capture_on_commit_callbacks
):
    _, _, client = provider
    theirs_org, theirs_owner = make_org(roles=("provider",))
    theirs = CollectionFactory(organization=theirs_org)
    _upload(
        APIClient(), theirs.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks
    )  # anonymous: refused
    other = _session(theirs_owner)
    response = _upload(
        other, theirs.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks
    )
    job_id = response.json()["id"]
    document = Document.objects.get(collection=theirs)

    requests = [
        ("get", f"/api/v1/collections/{theirs.id}", None),
        ("patch", f"/api/v1/collections/{theirs.id}", {"name": "Mine now"}),
        ("delete", f"/api/v1/collections/{theirs.id}", None),
        ("get", f"/api/v1/collections/{theirs.id}/documents", None),
        ("get", f"/api/v1/collections/{theirs.id}/ingestions", None),
        ("post", f"/api/v1/collections/{theirs.id}/ingestions", {"url": "https://example.org/"}),
        ("get", f"/api/v1/documents/{document.id}", None),
        ("delete", f"/api/v1/documents/{document.id}", None),
        ("get", f"/api/v1/ingestion-jobs/{job_id}", None),
        ("post", f"/api/v1/ingestion-jobs/{job_id}/retry", None),
        (
            "post",
            "/api/v1/collections/search",
            {"query": "tides", "collection_ids": [str(theirs.id)]},
        ),
    ]
    for method, url, body in requests:
        response = getattr(client, method)(url, body, format="json")
        assert (url, response.status_code, response.json()["code"]) == (url, 404, "not_found")
    upload = client.post(
        f"/api/v1/collections/{theirs.id}/uploads",
        {"files": [_file("tides.txt")]},
        format="multipart",
    )
    assert upload.status_code == 404
    assert Document.objects.filter(collection=theirs).count() == 1
    assert IngestionJob.objects.filter(collection=theirs).count() == 1
    assert Collection.objects.get(id=theirs.id).name == theirs.name


# -- uploads ----------------------------------------------------------------------------------


def test_mixed_batch_ingests_and_records_per_file_errors(
    provider, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = _upload(
        client,
        collection.id,
        _file("tides.txt", "text/plain"),
        _file("lighthouses.md"),
        _file("volcanoes.html", "text/html"),
        _file("analytical-engine.pdf", "application/pdf"),
        _file("corrupt.pdf", "application/pdf"),
        _file("empty.txt"),
        _file("records.jsonl"),
        _file("records.csv", "text/csv"),
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 202
    job = client.get(f"/api/v1/ingestion-jobs/{response.json()['id']}").json()
    assert job["status"] == "partial"
    # 6 files that are documents, 2 record files expanded into 4 jsonl lines and 2 csv rows.
    assert job["progress"] == {
        "total": 14,
        "done": 14,
        "pending": 0,
        "created": 8,
        "updated": 0,
        "unchanged": 0,
        "failed": 4,
        "expanded": 2,
    }
    assert [(e["name"], e["code"]) for e in job["errors"]] == [
        ("corrupt.pdf", "corrupt_pdf"),
        ("empty.txt", "empty_document"),
        ("records.jsonl line 3", "invalid_record"),
        ("records.jsonl line 4", "invalid_record"),
    ]
    titles = set(Document.objects.filter(collection=collection).values_list("title", flat=True))
    assert titles == {
        "Tides of the North Sea",
        "Lighthouses of Brittany",
        "Volcanoes of Iceland",
        "Notes on the Analytical Engine",
        "Bees",
        "Ants",
        "Salmon",
        "Eels",
    }
    assert set(Document.objects.values_list("status", flat=True)) == {"ready"}
    assert IngestionItem.objects.exclude(payload=None).filter(status="created").count() == 0


def test_uploaded_document_is_searchable_with_exact_offsets(
    provider, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    _upload(
        client, collection.id, _file("volcanoes.html"), capture=django_capture_on_commit_callbacks
    )
    response = client.post(
        "/api/v1/collections/search",
        {"query": "ash cloud flights", "collection_ids": [str(collection.id)], "k": 3},
        format="json",
    )
    assert response.status_code == 200
    hits = response.json()
    assert len(hits) == 1
    document = Document.objects.get(collection=collection)
    hit = hits[0]
    assert hit["document_id"] == document.id
    assert hit["document_title"] == "Volcanoes of Iceland"
    assert hit["document_author"] == "Freya Jonsdottir"
    assert document.text[hit["char_start"] : hit["char_end"]] == hit["text"]
    assert "ash cloud" in hit["text"]


def test_unsupported_file_type_is_415_and_nothing_is_written(
    provider, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = _upload(
        client,
        collection.id,
        _file("tides.txt"),
        _file("unsupported.exe"),
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert "unsupported.exe" in response.json()["message"]
    assert IngestionJob.objects.count() == 0
    assert Document.objects.count() == 0


def test_file_over_the_size_limit_is_413_and_nothing_is_written(
    provider, settings, django_capture_on_commit_callbacks
):
    settings.INGESTION_MAX_UPLOAD_BYTES = 50
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = _upload(
        client, collection.id, _file("volcanoes.html"), capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert IngestionJob.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_upload_answers_with_the_jobs_real_status(provider):
    # Committed for real, as in production: the job runs (inline) before the response is built.
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.post(
        f"/api/v1/collections/{collection.id}/uploads",
        {"files": [_file("tides.txt")]},
        format="multipart",
    )
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["progress"]["done"], body["progress"]["created"]) == (
        "succeeded",
        1,
        1,
    )
    assert body["finished_at"] is not None


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_an_upload_answers_at_once_and_runs_in_a_background_thread(
    provider, settings, monkeypatch
):
    settings.INGESTION_WITHOUT_BROKER = "thread"
    release = threading.Event()
    run = ingestion.run_ingestion_job

    def held_back(**kwargs):
        assert release.wait(timeout=30)
        return run(**kwargs)

    monkeypatch.setattr(dispatch, "run_ingestion_job", held_back)
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.post(
        f"/api/v1/collections/{collection.id}/uploads",
        {"files": [_file("tides.txt"), _file("records.jsonl")]},
        format="multipart",
    )
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["progress"]["pending"], body["progress"]["done"]) == (
        "queued",
        2,
        0,
    )
    release.set()
    ingestion.background_jobs.join()
    job = client.get(f"/api/v1/ingestion-jobs/{body['id']}").json()
    assert (job["status"], job["progress"]["created"], job["progress"]["failed"]) == (
        "partial",
        3,
        2,
    )
    assert Document.objects.filter(collection=collection).count() == 3


def test_uploads_wait_in_storage_until_ingested(
    provider, settings, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(
            f"/api/v1/collections/{collection.id}/uploads",
            {"files": [_file("tides.txt"), _file("corrupt.pdf")]},
            format="multipart",
        )
    job_id = response.json()["id"]
    assert (response.json()["status"], len(queued)) == ("queued", 1)
    assert _stored_uploads(settings) == [f"{job_id}-0", f"{job_id}-1"]
    assert IngestionItem.objects.exclude(payload=None).count() == 0
    queued[0]()
    # The ingested file leaves storage; the failed one stays for a retry.
    assert _stored_uploads(settings) == [f"{job_id}-1"]


def test_deleting_a_collection_deletes_its_waiting_uploads(
    provider, settings, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = _upload(
        client,
        collection.id,
        _file("tides.txt"),
        _file("corrupt.pdf"),
        capture=django_capture_on_commit_callbacks,
    )
    assert _stored_uploads(settings) == [f"{response.json()['id']}-1"]  # kept for a retry
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"/api/v1/collections/{collection.id}")
    assert (deleted.status_code, _stored_uploads(settings)) == (204, [])


def test_more_files_than_multipart_allows_is_400_in_the_error_format(provider, settings):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    files = [
        SimpleUploadedFile(f"note-{n}.txt", b"Tides.", content_type="text/plain")
        for n in range(settings.INGESTION_MAX_FILES_PER_UPLOAD + 2)
    ]
    response = client.post(
        f"/api/v1/collections/{collection.id}/uploads", {"files": files}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "too_many_files",
        "message": "Upload at most 100 files at once.",
        "details": {"files": ["At most 100 files."]},
    }
    assert (IngestionJob.objects.count(), _stored_uploads(settings)) == (0, [])


def test_upload_over_the_request_size_cap_is_413_before_anything_is_stored(provider, settings):
    settings.INGESTION_MAX_REQUEST_BYTES = 2_000
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    files = [
        SimpleUploadedFile(f"part-{n}.txt", b"x" * 800, content_type="text/plain") for n in range(3)
    ]
    response = client.post(
        f"/api/v1/collections/{collection.id}/uploads", {"files": files}, format="multipart"
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large"
    assert body["message"].endswith("the limit is 2000 per request.")
    assert body["details"] == {"files": ["At most 2000 bytes in one request."]}
    assert (IngestionJob.objects.count(), _stored_uploads(settings)) == (0, [])


def test_upload_without_files_is_400(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.post(f"/api/v1/collections/{collection.id}/uploads", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "no_files"


def test_upload_as_json_is_415(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.post(
        f"/api/v1/collections/{collection.id}/uploads", {"files": []}, format="json"
    )
    assert response.status_code == 415


def test_reuploading_identical_content_is_a_no_op(provider, django_capture_on_commit_callbacks):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    _upload(client, collection.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks)
    document = Document.objects.get()
    chunk_ids = list(Chunk.objects.values_list("id", flat=True))

    response = _upload(
        client, collection.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks
    )

    job = client.get(f"/api/v1/ingestion-jobs/{response.json()['id']}").json()
    assert (job["status"], job["progress"]["unchanged"]) == ("succeeded", 1)
    document.refresh_from_db()
    assert document.version == 1
    assert list(Chunk.objects.values_list("id", flat=True)) == chunk_ids


def test_changed_content_makes_a_new_version_whose_chunks_replace_the_old(
    provider, django_capture_on_commit_callbacks
):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    _upload(client, collection.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks)
    old_chunks = set(Chunk.objects.values_list("id", flat=True))
    changed = SimpleUploadedFile("tides.txt", b"Tides\n\nSpring tides follow the full moon.")

    _upload(client, collection.id, changed, capture=django_capture_on_commit_callbacks)

    document = Document.objects.get()
    assert document.version == 2
    assert document.text == "Tides\n\nSpring tides follow the full moon."
    assert not old_chunks & set(Chunk.objects.values_list("id", flat=True))
    search = {"query": "moon", "collection_ids": [str(collection.id)]}
    hits = client.post("/api/v1/collections/search", search, format="json").json()
    assert [h["text"] for h in hits] == ["Tides\n\nSpring tides follow the full moon."]


def test_deleted_document_leaves_search_at_once(provider, django_capture_on_commit_callbacks):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    _upload(client, collection.id, _file("tides.txt"), capture=django_capture_on_commit_callbacks)
    document = Document.objects.get()
    search = {"query": "tide tables", "collection_ids": [str(collection.id)]}
    assert len(client.post("/api/v1/collections/search", search, format="json").json()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/documents/{document.id}").status_code == 204

    assert client.post("/api/v1/collections/search", search, format="json").json() == []
    assert Chunk.objects.count() == 0


# -- documents and jobs -----------------------------------------------------------------------


def test_documents_list_and_detail(provider, django_capture_on_commit_callbacks):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    _upload(
        client, collection.id, _file("lighthouses.md"), capture=django_capture_on_commit_callbacks
    )
    page = client.get(f"/api/v1/collections/{collection.id}/documents?limit=10").json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 10, 0)
    listed = page["documents"][0]
    assert (listed["title"], listed["external_id"], listed["version"], listed["status"]) == (
        "Lighthouses of Brittany",
        "lighthouses.md",
        1,
        "ready",
    )
    assert "text" not in listed
    detail = client.get(f"/api/v1/documents/{listed['id']}").json()
    assert detail["text"].startswith("# Lighthouses of Brittany")
    assert detail["chunk_count"] == 1


def test_bad_page_parameters_are_400(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.get(f"/api/v1/collections/{collection.id}/documents?limit=0")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=99999999999999999999", "offset"),
        ("offset=10000001", "offset"),
        ("limit=501", "limit"),
        ("limit=99999999999999999999", "limit"),
    ],
)
def test_page_parameters_past_their_maxima_are_400_in_the_error_format(provider, query, field):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.get(f"/api/v1/collections/{collection.id}/documents?{query}")
    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["details"])) == ("invalid", [field])


def test_the_largest_documented_offset_is_an_empty_page(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = client.get(f"/api/v1/collections/{collection.id}/documents?offset=10000000")
    assert response.status_code == 200
    assert (response.json()["documents"], response.json()["offset"]) == ([], 10_000_000)


def test_url_ingestion_refuses_private_addresses_with_a_clear_error(provider):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    for url, code in (
        ("http://127.0.0.1/", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("file:///etc/passwd", "unsupported_scheme"),
    ):
        response = client.post(
            f"/api/v1/collections/{collection.id}/ingestions", {"url": url}, format="json"
        )
        assert (response.status_code, response.json()["code"]) == (400, code)
        assert response.json()["details"]["url"] == [response.json()["message"]]
    assert IngestionJob.objects.count() == 0


def test_retrying_a_job_runs_only_its_failed_items(provider, django_capture_on_commit_callbacks):
    org, _, client = provider
    collection = CollectionFactory(organization=org)
    response = _upload(
        client,
        collection.id,
        _file("tides.txt"),
        _file("corrupt.pdf"),
        capture=django_capture_on_commit_callbacks,
    )
    job_id = response.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"/api/v1/ingestion-jobs/{job_id}/retry")
    assert retried.status_code == 202
    job = client.get(f"/api/v1/ingestion-jobs/{job_id}").json()
    assert (job["status"], job["progress"]["created"], job["progress"]["failed"]) == (
        "partial",
        1,
        1,
    )
    assert Document.objects.count() == 1
