"""The provider's content pages: collections, uploads with per-file errors, canonical URLs,
deleting, CSV exports, and other organizations' ids answering 404."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog import services as catalog
from catalog.models import Collection, Document
from tests.acting import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(make_org):
    org, owner = make_org(roles=("provider",), name="Northwind Press")
    client = Client()
    client.force_login(owner)
    return org, client


def _collection(org, name="Energy", **fields):
    return catalog.create_collection(
        actor=owner_of(org), organization_id=org.id, name=name, **fields
    )


def _upload(client, org, collection_id, files, capture):
    """Upload, let the job run (it is queued on commit), then follow to the collection page."""
    with capture(execute=True):
        response = client.post(f"/orgs/{org.id}/content/{collection_id}/upload/", {"files": files})
    assert response.status_code == 302
    return client.get(response["Location"])


def test_a_provider_creates_a_collection_and_lands_on_its_page(provider):
    org, client = provider
    response = client.post(
        f"/orgs/{org.id}/content/",
        {"name": "Energy", "description": "Heat pumps", "language": "en", "topics": "heat, , home"},
        follow=True,
    )
    collection = Collection.objects.get(organization=org)
    assert (collection.name, collection.topics) == ("Energy", ["heat", "home"])
    assert response.redirect_chain[-1][0] == f"/orgs/{org.id}/content/{collection.id}/"
    assert "Collection Energy created" in response.content.decode()


def test_a_duplicate_or_empty_collection_name_is_shown_next_to_the_field(provider):
    org, client = provider
    _collection(org)
    taken = client.post(f"/orgs/{org.id}/content/", {"name": "Energy", "language": "en"})
    empty = client.post(f"/orgs/{org.id}/content/", {"name": "", "language": "en"})
    assert taken.status_code == 409
    assert "already has a collection with that name" in taken.content.decode()
    assert empty.status_code == 400
    html = empty.content.decode()
    assert 'id="id_name_error"' in html
    assert 'aria-invalid="true"' in html
    assert Collection.objects.filter(organization=org).count() == 1


def test_several_files_upload_as_one_job_and_a_broken_one_is_reported_by_name(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org)
    files = [
        SimpleUploadedFile("one.txt", b"Heat pumps move heat from outside air into homes."),
        SimpleUploadedFile(
            "two.md", b"# Insulation\n\nLoft insulation keeps heat in.", "text/markdown"
        ),
        SimpleUploadedFile(
            "three.html", b"<html><body><p>Solar panels on roofs.</p></body></html>", "text/html"
        ),
        SimpleUploadedFile("broken.pdf", b"%PDF-1.4 this is not really a pdf", "application/pdf"),
    ]
    response = _upload(client, org, collection.id, files, django_capture_on_commit_callbacks)
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 files received" in html
    assert "4 of 4 files processed" in html
    assert "3 new" in html
    assert "broken.pdf</strong>:" in html
    assert "Retry the failed files" in html
    titles = set(
        Document.objects.filter(collection_id=collection.id).values_list("external_id", flat=True)
    )
    assert titles == {"one.txt", "two.md", "three.html"}


def test_an_unsupported_file_is_refused_next_to_the_files_field_and_nothing_is_queued(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org)
    files = [
        SimpleUploadedFile("fine.txt", b"Fine text."),
        SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/x-msdownload"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/orgs/{org.id}/content/{collection.id}/upload/", {"files": files})
    assert response.status_code == 415
    assert 'id="id_files_error"' in response.content.decode()
    assert "tool.exe: unsupported file type." in response.content.decode()
    assert catalog.list_ingestion_jobs(actor=owner_of(org), collection_id=collection.id) == []


def test_uploading_nothing_says_so_next_to_the_field(provider):
    org, client = provider
    collection = _collection(org)
    response = client.post(f"/orgs/{org.id}/content/{collection.id}/upload/", {})
    assert response.status_code == 400
    assert "Choose at least one file." in response.content.decode()


def test_the_job_fragment_polls_while_running_and_stops_when_done(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org)
    with django_capture_on_commit_callbacks(execute=False):
        job = catalog.start_upload_ingestion(
            actor=owner_of(org),
            collection_id=collection.id,
            files=[catalog.UploadedFile.from_bytes(name="a.txt", content=b"Some text here.")],
        )
    url = f"/orgs/{org.id}/uploads/{job.id}/"
    queued = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in queued.content.decode()
    assert "0 of 1 file processed" in queued.content.decode()
    assert "HX-Trigger" not in queued
    catalog.run_ingestion_job(job_id=job.id)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.content.decode()
    assert "1 of 1 file processed" in done.content.decode()
    assert done["HX-Trigger"] == "ingestion-finished"
    assert "<html" not in done.content.decode()
    assert "<html" in client.get(url).content.decode()


def test_setting_a_canonical_url_and_refusing_a_bad_one(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org)
    _upload(
        client,
        org,
        collection.id,
        [SimpleUploadedFile("a.txt", b"Heat pumps are efficient.")],
        django_capture_on_commit_callbacks,
    )
    document = Document.objects.get(collection_id=collection.id)
    url = f"/orgs/{org.id}/documents/{document.id}/"
    bad = client.post(url, {"source_url": "javascript:alert(1)"})
    assert bad.status_code == 400
    assert "Enter an absolute http or https URL" in bad.content.decode()
    assert 'id="id_source_url_error"' in bad.content.decode()
    document.refresh_from_db()
    assert document.source_url == ""
    good = client.post(url, {"source_url": " https://northwind.example/heat-pumps "})
    assert good.status_code == 302
    document.refresh_from_db()
    assert document.source_url == "https://northwind.example/heat-pumps"


def test_a_new_version_of_an_uploaded_file_keeps_its_canonical_url(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org)
    upload = [SimpleUploadedFile("a.txt", b"Version one of the text.")]
    _upload(client, org, collection.id, upload, django_capture_on_commit_callbacks)
    document = Document.objects.get(collection_id=collection.id)
    catalog.set_canonical_url(
        actor=owner_of(org), document_id=document.id, source_url="https://x.example/a"
    )
    again = [SimpleUploadedFile("a.txt", b"Version two of the text, changed.")]
    _upload(client, org, collection.id, again, django_capture_on_commit_callbacks)
    document.refresh_from_db()
    assert (document.version, document.source_url) == (2, "https://x.example/a")


def test_deleting_a_document_and_a_collection(provider, django_capture_on_commit_callbacks):
    org, client = provider
    collection = _collection(org)
    files = [SimpleUploadedFile(f"{n}.txt", f"Text number {n}.".encode()) for n in ("a", "b")]
    _upload(client, org, collection.id, files, django_capture_on_commit_callbacks)
    first = Document.objects.filter(collection_id=collection.id).first()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/orgs/{org.id}/documents/{first.id}/delete/")
    assert Document.objects.filter(collection_id=collection.id).count() == 1
    unconfirmed = client.post(f"/orgs/{org.id}/content/{collection.id}/delete/", follow=True)
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    assert Collection.objects.filter(id=collection.id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/orgs/{org.id}/content/{collection.id}/delete/", {"confirm": "yes"}
        )
    assert response.status_code == 302
    assert not Collection.objects.filter(id=collection.id).exists()


def test_another_organizations_ids_are_404_on_every_content_page(
    make_org, provider, django_capture_on_commit_callbacks
):
    org, client = provider
    other, _ = make_org(roles=("provider",), name="Rival")
    theirs = _collection(other, name="Theirs")
    with django_capture_on_commit_callbacks(execute=True):
        job = catalog.start_upload_ingestion(
            actor=owner_of(other),
            collection_id=theirs.id,
            files=[catalog.UploadedFile.from_bytes(name="t.txt", content=b"Their text.")],
        )
    their_document = Document.objects.get(collection_id=theirs.id)
    for path in (
        f"/orgs/{org.id}/content/{theirs.id}/",
        f"/orgs/{org.id}/uploads/{job.id}/",
        f"/orgs/{org.id}/documents/{their_document.id}/",
        f"/orgs/{other.id}/content/",
        f"/orgs/{other.id}/content/{theirs.id}/",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/orgs/{org.id}/content/{theirs.id}/delete/",
        f"/orgs/{org.id}/documents/{their_document.id}/delete/",
        f"/orgs/{org.id}/documents/{their_document.id}/",
        f"/orgs/{org.id}/uploads/{job.id}/retry/",
    ):
        data = {"source_url": "https://evil.example/", "confirm": "yes"}
        assert client.post(path, data).status_code == 404, path
    their_document.refresh_from_db()
    assert their_document.source_url == ""
    assert Collection.objects.filter(id=theirs.id).exists()


def test_a_member_of_two_organizations_cannot_reach_one_orgs_collection_through_the_other(
    make_org, provider
):
    org, client = provider
    owner = org.memberships.get().user
    second, _ = make_org(roles=("provider",), name="Second", owner=owner)
    theirs = _collection(second, name="Second's")
    assert client.get(f"/orgs/{second.id}/content/{theirs.id}/").status_code == 200
    assert client.get(f"/orgs/{org.id}/content/{theirs.id}/").status_code == 404


def test_an_agent_organization_is_told_content_pages_are_for_providers(make_org):
    org, owner = make_org(roles=("agent",))
    client = Client()
    client.force_login(owner)
    response = client.get(f"/orgs/{org.id}/content/")
    assert response.status_code == 403
    assert "for organizations with the provider role" in response.content.decode()


def test_collections_and_documents_export_as_csv_exactly(
    provider, django_capture_on_commit_callbacks
):
    org, client = provider
    collection = _collection(org, description="Heat, pumps", topics=["heat"])
    _collection(org, name="=Formula")
    _upload(
        client,
        org,
        collection.id,
        [SimpleUploadedFile("a.txt", b"Heat pumps are efficient.")],
        django_capture_on_commit_callbacks,
    )
    listing = client.get(f"/orgs/{org.id}/content/?format=csv&table=collections")
    assert listing["Content-Type"] == "text/csv; charset=utf-8"
    assert listing["Content-Disposition"] == 'attachment; filename="collections-collections.csv"'
    rows = list(csv.reader(io.StringIO(listing.content.decode())))
    created = {c.name: c.created_at for c in catalog.list_collections(actor=owner_of(org))}
    assert rows == [
        ["Name", "Description", "Documents", "Topics", "Created"],
        ["'=Formula", "", "0", "", created["=Formula"].strftime("%Y-%m-%d %H:%M")],
        ["Energy", "Heat, pumps", "1", "heat", created["Energy"].strftime("%Y-%m-%d %H:%M")],
    ]
    document = Document.objects.get(collection_id=collection.id)
    documents = client.get(f"/orgs/{org.id}/content/{collection.id}/?format=csv&table=documents")
    assert list(csv.reader(io.StringIO(documents.content.decode()))) == [
        ["Title", "Status", "Passages", "Canonical URL", "Version", "Updated"],
        [
            document.title,
            "Ready",
            "1",
            "",
            "1",
            document.updated_at.strftime("%Y-%m-%d %H:%M"),
        ],
    ]
    missing = client.get(f"/orgs/{org.id}/content/?format=csv&table=nope")
    assert missing.status_code == 404


def test_the_navigation_shows_the_pages_of_the_organizations_roles(make_org, provider):
    org, client = provider
    html = client.get(f"/orgs/{org.id}/content/").content.decode()
    nav = html.split('<nav class="main-nav" aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)
    assert [(href, text) for href, _, text in links] == [
        (f"/orgs/{org.id}/overview/", "Overview"),
        (f"/orgs/{org.id}/content/", "Content"),
        (f"/orgs/{org.id}/offers/", "Offers"),
        (f"/orgs/{org.id}/licensees/", "Licensees"),
        (f"/orgs/{org.id}/", "Keys and members"),
        (f"/orgs/{org.id}/billing/", "Billing"),
    ]
    assert [text for _, current, text in links if current] == ["Content"]
    agent, owner = make_org(roles=("agent",))
    agent_client = Client()
    agent_client.force_login(owner)
    agent_nav = agent_client.get(f"/orgs/{agent.id}/").content.decode()
    assert "/content/" not in agent_nav
    assert f'href="/orgs/{agent.id}/billing/"' in agent_nav
