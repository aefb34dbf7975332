"""A provider contests a duplicate verdict; an operator releases the document or upholds it."""

import pytest
from django.contrib.admin.sites import site as admin_site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from accounts.models import User
from catalog.models import Document, DuplicateDispute
from tests.marketplace.factories import CollectionFactory
from tests.marketplace.test_duplicates import EDITED, ORIGINAL, _ingest, _search

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture
def held_out(make_org):
    first, _ = make_org(roles=("provider",), name="First Press")
    second, _ = make_org(roles=("provider",), name="Second Press")
    _ingest(CollectionFactory(organization=first), "water.txt", ORIGINAL, title="Water")
    copy = _ingest(CollectionFactory(organization=second), "water.txt", EDITED, title="Water")
    assert copy.status == Document.Status.DUPLICATE
    return copy


def _client(key_client, document):
    return key_client(document.collection.organization, scopes=["catalog"])


def _url(document):
    return f"/api/v1/documents/{document.id}/dispute"


def _operator_action(name, disputes):
    operator = User.objects.filter(email="ops@example.com").first()
    operator = operator or User.objects.create_superuser(email="ops@example.com", password="x")
    request = RequestFactory().post("/admin/")
    request.user = operator
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = admin_site._registry[DuplicateDispute]
    getattr(model_admin, name)(request, DuplicateDispute.objects.filter(id__in=disputes))
    return operator


def test_a_provider_disputes_and_an_operator_releases_the_document(
    held_out, key_client, django_capture_on_commit_callbacks
):
    client = _client(key_client, held_out)

    opened = client.post(_url(held_out), {"reason": "I wrote it first, on my blog."}, format="json")

    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert (body["status"], body["reason"]) == ("open", "I wrote it first, on my blog.")
    assert body["original_document_id"] == held_out.duplicate_of_id
    with django_capture_on_commit_callbacks(execute=True):
        operator = _operator_action("release", [body["id"]])
    held_out.refresh_from_db()
    assert held_out.status == Document.Status.READY
    assert held_out.duplicate_released_by_id == operator.id
    found = _search("transpiration", held_out.collection)
    assert [h.document_id for h in found] == [held_out.id]  # back in retrieval
    answered = client.get(_url(held_out)).json()
    assert (answered["status"], answered["resolution_note"]) == (
        "released",
        "Released by an operator.",
    )
    _operator_action("uphold", [body["id"]])  # answered already: nothing changes
    assert DuplicateDispute.objects.get().status == "released"


def test_an_upheld_dispute_leaves_the_document_held_out(held_out, key_client):
    client = _client(key_client, held_out)
    dispute = client.post(_url(held_out), {"reason": "Not a copy."}, format="json").json()

    _operator_action("uphold", [dispute["id"]])

    held_out.refresh_from_db()
    assert held_out.status == Document.Status.DUPLICATE
    assert client.get(_url(held_out)).json()["status"] == "upheld"
    again = client.post(_url(held_out), {"reason": "Please look again."}, format="json")
    assert again.status_code == 201  # a new dispute once the last one is answered


def test_one_open_dispute_at_a_time_and_only_of_a_held_out_document(held_out, key_client):
    client = _client(key_client, held_out)
    client.post(_url(held_out), {"reason": "Mine."}, format="json")
    original = held_out.duplicate_of

    twice = client.post(_url(held_out), {"reason": "Mine, again."}, format="json")
    not_held = key_client(original.collection.organization, scopes=["catalog"]).post(
        _url(original), {"reason": "Why not."}, format="json"
    )

    assert (twice.status_code, twice.json()["code"]) == (409, "dispute_open")
    assert (not_held.status_code, not_held.json()["code"]) == (409, "not_held_out")
    assert DuplicateDispute.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001, None, 42])
def test_a_dispute_needs_a_reason(held_out, key_client, reason):
    response = _client(key_client, held_out).post(_url(held_out), {"reason": reason}, format="json")

    assert response.status_code == 400
    assert DuplicateDispute.objects.count() == 0


def test_another_organization_cannot_see_or_dispute_the_document(held_out, key_client, make_org):
    other, _ = make_org(roles=("provider",))
    client = key_client(other, scopes=["catalog"])

    assert client.post(_url(held_out), {"reason": "Mine."}, format="json").status_code == 404
    assert client.get(_url(held_out)).status_code == 404
    assert DuplicateDispute.objects.count() == 0


def test_a_document_without_a_dispute_says_so(held_out, key_client):
    response = _client(key_client, held_out).get(_url(held_out))

    assert response.status_code == 404 and response.json()["code"] == "not_found"
