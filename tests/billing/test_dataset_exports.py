"""A paid purchase licence delivers a dataset export: a signed, expiring URL to a ZIP of the
licensed collections' documents (JSONL) and a manifest, metered as one `ai-train` use; only
the licensee downloads it; bad, altered and expired links are refused."""

import hashlib
import io
import json
import time
import uuid
import zipfile

import pytest
from django.core import signing

from billing import services as billing
from billing.models import DatasetExport, Transaction
from catalog.models import Collection, Document
from licensing import services as licensing
from licensing.models import AnswerRecord, UsageEvent
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

PRICE = 15_000_000


@pytest.fixture
def licensed(provider, agent):
    """A $15 training licence over two collections of three ready documents (and one held out
    as a duplicate), accepted (and so paid) by a postpaid agent."""
    collections = [
        Collection.objects.create(organization=provider, name=f"Archive {n}") for n in range(2)
    ]
    for n, collection in enumerate([*collections, collections[0]]):
        Document.objects.create(
            collection=collection,
            external_id=f"doc-{n}",
            title=f"Doc {n}",
            author="A. Writer",
            source_url=f"https://example.com/{n}",
            content_hash=hashlib.sha256(f"text {n}".encode()).hexdigest(),
            status=Document.Status.READY,
            text=f"Text of document {n}, with “quotes”.",
            version=n + 1,
        )
    Document.objects.create(
        collection=collections[1],
        external_id="copy",
        content_hash="0" * 64,
        status=Document.Status.DUPLICATE,
        text="someone else's text",
    )
    offer = licensing.create_offer(
        **acting_for(provider),
        name="Archive, training licence",
        terms=licensing.OfferTerms(
            collection_ids=tuple(c.id for c in collections),
            usage_types=("ai-train",),
            payment_type="purchase",
            price_micros=PRICE,
            price_unit="one_off",
        ),
    )
    offer = licensing.publish_offer(**acting_for(provider), offer_id=offer.id)
    billing.set_postpaid(organization_id=agent.id, postpaid=True)
    return licensing.accept_offer(**acting_for(agent), offer_id=offer.id)


def _export(client, agreement_id, body=None):
    return client.post(
        f"/api/v1/agreements/{agreement_id}/dataset-export", body or {}, format="json"
    )


def _download(client, url):
    response = client.get(url)
    if response.status_code != 200:
        return response, None
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return response, archive


def test_a_paid_purchase_downloads_its_collections_as_jsonl_with_a_manifest(
    agent, provider, licensed, key_client
):
    client = key_client(agent, scopes=["licensing"])

    made = _export(client, licensed.id)

    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["agreement_id"], body["documents"]) == (str(licensed.id), 3)
    response, archive = _download(client, body["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="dataset-export-{body["id"]}.zip"'
    )
    assert sorted(archive.namelist()) == ["data.jsonl", "manifest.json"]
    data = archive.read("data.jsonl")
    records = [json.loads(line) for line in data.decode().splitlines()]
    documents = list(Document.objects.filter(status="ready").order_by("id"))
    assert [r["document_id"] for r in records] == [d.id for d in documents]
    assert records[0] == {
        "document_id": documents[0].id,
        "collection_id": str(documents[0].collection_id),
        "version": 1,
        "content_hash": documents[0].content_hash,
        "title": "Doc 0",
        "author": "A. Writer",
        "source_url": "https://example.com/0",
        "published_at": None,
        "text": "Text of document 0, with “quotes”.",
    }
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "provenant.dataset-export/1"
    assert manifest["export_id"] == body["id"]
    licence = manifest["licence"]
    assert licence["agreement_id"] == str(licensed.id)
    assert licence["licensee_organization_id"] == str(agent.id)
    assert licence["offer"]["version_id"] == licensed.offer.version_id
    assert licence["offer"]["price_micros"] == PRICE
    assert licence["offer"]["usage_types"] == ["ai-train"]
    assert licence["provider"] == {
        "id": str(provider.id),
        "name": provider.name,
        "slug": provider.slug,
    }
    assert licence["terms_url"] == f"http://testserver/rsl/{provider.slug}.xml"
    assert [(d["id"], d["version"], d["content_hash"]) for d in manifest["documents"]] == [
        (d.id, d.version, d.content_hash) for d in documents
    ]
    assert manifest["files"]["data.jsonl"] == {
        "records": 3,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert DatasetExport.objects.get().downloads == 1


def test_an_export_is_metered_once_as_an_ai_train_use_that_charges_nothing(
    agent, provider, licensed, key_client
):
    client = key_client(agent, scopes=["licensing"])
    url = _export(client, licensed.id).json()["url"]
    _download(client, url)
    _download(client, url)  # downloading again is the same export: not another use

    answer = AnswerRecord.objects.get()
    assert (answer.kind, answer.usage_type, answer.total_micros) == ("export", "ai-train", 0)
    events = UsageEvent.objects.order_by("collection_id")
    assert [(e.usage_type, e.payment_type, e.amount_micros) for e in events] == [
        ("ai-train", "purchase", 0)
    ] * 2
    assert {e.agreement_id for e in events} == {licensed.id}
    assert sum(e.attribution_weight_ppm for e in events) == 1_000_000
    billing.rate_usage()
    assert list(Transaction.objects.values_list("kind", flat=True)) == ["purchase"]
    assert billing.check_ledger().ok


def test_an_altered_link_is_403_and_an_expired_one_410(
    agent, licensed, key_client, settings, monkeypatch
):
    settings.BILLING_EXPORT_URL_TTL_S = 60
    client = key_client(agent, scopes=["licensing"])
    url = _export(client, licensed.id).json()["url"]
    token = url.rsplit("/", 1)[1]
    export_id, stamp, signature = token.split(":")

    other_export = f"{uuid.uuid4()}:{stamp}:{signature}"
    flipped = f"{export_id}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    for bad in (other_export, flipped, "nonsense"):
        response = client.get(f"/api/v1/dataset-exports/{bad}")
        assert response.status_code == 403, bad
        assert response.json()["code"] == "bad_signature"
    signed_at = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: signed_at + 61)  # a minute later
    expired = client.get(url)
    assert expired.status_code == 410
    assert expired.json()["code"] == "export_expired"
    assert DatasetExport.objects.get().downloads == 0


def test_another_organization_cannot_export_or_download(agent, licensed, make_org, key_client):
    stranger, _ = make_org(roles=("agent",))
    theirs = key_client(stranger, scopes=["licensing"])
    url = _export(key_client(agent, scopes=["licensing"]), licensed.id).json()["url"]

    assert _export(theirs, licensed.id).status_code == 404
    downloaded = theirs.get(url)
    assert downloaded.status_code == 404
    assert downloaded.json()["code"] == "not_found"
    assert DatasetExport.objects.count() == 1 and DatasetExport.objects.get().downloads == 0


def test_exports_need_the_licensing_scope(agent, licensed, key_client):
    url = _export(key_client(agent, scopes=["licensing"]), licensed.id).json()["url"]
    query_only = key_client(agent, scopes=["query", "billing"])

    refused = [_export(query_only, licensed.id), query_only.get(url)]

    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "insufficient_scope")] * 2


def test_an_unpaid_purchase_has_no_export(agent, licensed, key_client):
    original = Transaction.objects.get(kind="purchase")
    billing.reverse_transaction(transaction_id=original.id)  # refunded, say
    client = key_client(agent, scopes=["licensing"])

    refused = _export(client, licensed.id)

    assert refused.status_code == 402
    assert refused.json()["code"] == "purchase_not_paid"
    assert DatasetExport.objects.count() == 0 and UsageEvent.objects.count() == 0


def test_a_link_stops_working_when_the_licence_ends(agent, licensed, key_client):
    client = key_client(agent, scopes=["licensing"])
    url = _export(client, licensed.id).json()["url"]
    licensing.cancel_agreement(**acting_for(agent), agreement_id=licensed.id)

    response = client.get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "licence_ended"


def test_only_a_purchase_licence_that_permits_training_has_an_export(
    agent, provider, make_offer, accept, key_client
):
    client = key_client(agent, scopes=["licensing"])
    per_use = accept(agent, make_offer(provider, price_micros=2000))
    billing.set_postpaid(organization_id=agent.id, postpaid=True)
    indexing = accept(
        agent,
        make_offer(
            provider,
            usage_types=("ai-index",),
            payment_type="purchase",
            price_micros=1_000_000,
            price_unit="one_off",
        ),
    )

    refused = [_export(client, per_use.id), _export(client, indexing.id)]

    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (409, "not_a_purchase"),
        (409, "not_licensed_for_training"),
    ]


@pytest.mark.parametrize(
    "body",
    [{"collections": []}, {"format": "csv"}, ["x"], "x"],
    ids=["unknown-field", "another-unknown-field", "a-list", "a-string"],
)
def test_a_body_with_anything_in_it_is_400(agent, licensed, key_client, body):
    client = key_client(agent, scopes=["licensing"])

    response = client.post(f"/api/v1/agreements/{licensed.id}/dataset-export", body, format="json")

    assert response.status_code == 400
    assert DatasetExport.objects.count() == 0


def test_an_unknown_agreement_is_404(agent, key_client):
    client = key_client(agent, scopes=["licensing"])

    assert _export(client, uuid.uuid4()).status_code == 404
    assert client.post("/api/v1/agreements/not-a-uuid/dataset-export").status_code == 404


def test_a_signed_link_to_a_missing_export_is_404(agent, licensed, key_client):
    client = key_client(agent, scopes=["licensing"])
    token = signing.TimestampSigner(salt="billing.dataset-export").sign(str(uuid.uuid4()))

    response = client.get(f"/api/v1/dataset-exports/{token}")

    assert response.status_code == 404
