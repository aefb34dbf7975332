"""Duplicate defence at ingestion: copies from another provider are held out with duplicate_of,
repeated passages are indexed once, retrieval never returns what is held out."""

import random

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from catalog import services as catalog_services
from catalog.admin import DocumentAdmin
from catalog.ingestion import minhash
from catalog.models import Chunk, Document, SignatureBand, TextSignature
from catalog.services import duplicates
from tests.marketplace.factories import CollectionFactory

pytestmark = pytest.mark.django_db

ORIGINAL = (
    "The water cycle is the continuous movement of water between the oceans, the atmosphere "
    "and the land. The total amount of water on Earth stays almost constant; what changes is "
    "where it is and in what form. The cycle is driven by energy from the Sun, which evaporates "
    "water, and by gravity, which brings it back down and pulls it downhill.\n\n"
    "Evaporation is the main way water enters the atmosphere, and the oceans supply the great "
    "majority of it. Plants add more through transpiration: they draw water from the soil "
    "through their roots and release vapour through pores in their leaves. Scientists often "
    "combine the two as evapotranspiration.\n\n"
    "As moist air rises, it expands and cools. Cooler air can hold less water vapour, so the "
    "vapour condenses onto tiny particles of dust, salt or smoke, forming the droplets and ice "
    "crystals that make up clouds. When droplets collide and grow heavy enough they fall as "
    "rain, snow, sleet or hail."
)
# The same text with a handful of words changed (about 4% of them).
EDITED = (
    ORIGINAL.replace("continuous movement", "constant motion")
    .replace("great majority", "vast majority")
    .replace("Scientists often", "Researchers usually")
    .replace("tiny particles", "small particles")
)
UNRELATED = (
    "The Panama Canal opened in 1914 and links the Atlantic and Pacific oceans. Ships are "
    "raised twenty-six metres by locks to Gatun Lake and lowered again on the other side. The "
    "expanded locks opened in 2016 for larger Neopanamax ships, which carry about three times "
    "as many containers as the ships the old locks could take."
)
# Made-up words: padding drawn from them shares neither wording nor content with anything.
WORDS = [f"{stem}{n}" for stem in ("canal", "lock", "ship", "gate", "pier") for n in range(100)]


def _padding(seed: int, words: int = 190) -> str:
    """Return a paragraph of random words: shares no 5-word run nor content with anything."""
    return " ".join(random.Random(seed).choices(WORDS, k=words)) + "."


PASSAGE = (
    "Cold brew coffee keeps for about two weeks in the refrigerator when it is stored as a "
    "concentrate in a sealed glass jar, because the low temperature slows oxidation."
)


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


def _ingest(collection, name: str, text: str, *, title: str = "") -> Document:
    upload = catalog_services.UploadedFile.from_bytes(
        name=name, content=f"{title or name}\n\n{text}".encode()
    )
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=[upload], enqueue=False
    )
    catalog_services.run_ingestion_job(job_id=job.id)
    return Document.objects.get(collection=collection, external_id=name)


def _search(query: str, *collections, k: int = 10) -> list[catalog_services.ChunkHit]:
    ids = [str(c.id) for c in collections]
    return catalog_services.search_chunks(query=query, collection_ids=ids, k=k)


def _client(org) -> APIClient:
    client = APIClient()
    client.force_login(org.memberships.get(role="owner").user)
    return client


@pytest.fixture
def providers(make_org):
    first, _ = make_org(roles=("provider",), name="Northwind Press")
    second, _ = make_org(roles=("provider",), name="Copycat Media")
    return CollectionFactory(organization=first), CollectionFactory(organization=second)


def test_verbatim_copy_by_another_provider_is_held_out_with_duplicate_of(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL, title="The water cycle")

    copy = _ingest(copy_collection, "copy.txt", ORIGINAL, title="The water cycle")

    assert (copy.status, copy.duplicate_of_id, copy.duplicate_similarity) == (
        "duplicate",
        original.id,
        1.0,
    )
    assert set(copy.chunks.values_list("held_out", flat=True)) == {True}
    assert catalog_services.get_document_content(document_id=copy.id) is None  # not sold either
    assert Document.objects.get(id=original.id).status == "ready"
    assert not original.chunks.filter(held_out=True).exists()


def test_slightly_edited_copy_is_held_out(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)

    copy = _ingest(copy_collection, "edited.txt", EDITED)

    assert copy.status == "duplicate"
    assert copy.duplicate_of_id == original.id
    assert 0.5 <= copy.duplicate_similarity < 1.0


def test_unrelated_document_of_another_provider_is_not_held_out(providers):
    original_collection, other_collection = providers
    _ingest(original_collection, "water.txt", ORIGINAL)

    other = _ingest(other_collection, "canal.txt", UNRELATED)

    assert (other.status, other.duplicate_of_id) == ("ready", None)
    assert not other.chunks.filter(held_out=True).exists()


def test_a_provider_reuploading_its_own_document_makes_a_new_version_not_a_duplicate(providers):
    collection, _ = providers
    first = _ingest(collection, "water.txt", ORIGINAL)

    second = _ingest(collection, "water.txt", EDITED)

    assert (second.id, second.version, second.status, second.duplicate_of_id) == (
        first.id,
        2,
        "ready",
        None,
    )
    assert not second.chunks.filter(held_out=True).exists()
    # The new version's signatures replace the old ones: the document and each passage.
    stored = TextSignature.objects.get(document=second)
    assert len(bytes(stored.digests)) == (1 + second.chunks.count()) * 4 * minhash.NUM_PERM


def test_the_same_text_in_another_collection_of_the_same_provider_is_not_a_duplicate(
    providers,
):
    collection, _ = providers
    sister = CollectionFactory(organization=collection.organization)
    _ingest(collection, "water.txt", ORIGINAL)

    again = _ingest(sister, "water.txt", ORIGINAL)

    assert again.status == "ready"
    assert not again.chunks.filter(held_out=True).exists()


def test_a_passage_repeated_ten_times_in_one_document_is_indexed_once(providers):
    collection, _ = providers
    document = _ingest(collection, "brew.txt", "\n\n".join([PASSAGE] * 10))
    assert document.chunks.count() > 1
    assert document.chunks.filter(held_out=False).count() == 1

    hits = _search("cold brew coffee refrigerator", collection)

    assert len(hits) == 1
    assert hits[0].chunk_id == document.chunks.get(held_out=False).id


def test_a_passage_repeated_across_documents_of_a_collection_is_indexed_once(providers):
    collection, _ = providers
    documents = [
        _ingest(collection, f"brew-{n}.txt", f"{PASSAGE}\n\nNote number {n}.") for n in range(10)
    ]

    hits = _search("cold brew coffee refrigerator", collection)

    assert [h.document_id for h in hits] == [documents[0].id]
    assert {d.status for d in Document.objects.all()} == {"ready"}
    repeats = Chunk.objects.filter(held_out=True)
    assert repeats.count() == 9
    assert set(repeats.values_list("duplicate_of", flat=True)) == {documents[0].chunks.get().id}


def test_retrieval_never_returns_held_out_duplicates(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    _ingest(copy_collection, "copy.txt", ORIGINAL)

    hits = _search("evaporation transpiration water vapour", original_collection, copy_collection)

    assert hits
    assert {h.document_id for h in hits} == {original.id}
    assert _search("evaporation transpiration water vapour", copy_collection) == []
    # Nor after the whole index is rebuilt from the database.
    catalog_services.rebuild_search_index()
    assert _search("evaporation transpiration water vapour", copy_collection) == []


def test_a_copied_passage_inside_a_longer_document_is_held_out_alone(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    padded = "\n\n".join([_padding(1), ORIGINAL, _padding(2)])

    copy = _ingest(copy_collection, "padded.txt", padded)

    assert copy.status == "ready"  # most of it is not a copy
    assert copy.chunks.count() == 3  # title and padding, the copy, padding
    held = copy.chunks.filter(held_out=True)
    assert held.count() == 1
    assert set(held.values_list("duplicate_of__document", flat=True)) == {original.id}
    assert all("transpiration" not in h.text for h in _search("transpiration", copy_collection))


def test_the_provider_sees_duplicate_of_with_the_originals_id_and_title_only(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL, title="The water cycle")
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL, title="The water cycle")
    client = _client(copy_collection.organization)

    detail = client.get(f"/api/v1/documents/{copy.id}").json()
    listed = client.get(f"/api/v1/collections/{copy_collection.id}/documents").json()

    assert detail["status"] == "duplicate"
    assert detail["duplicate_of"] == {
        "document_id": original.id,
        "title": "The water cycle",
        "similarity": 1.0,
        "measure": "wording",
    }
    assert detail["held_out_chunk_count"] == detail["chunk_count"] > 0
    assert listed["documents"][0]["duplicate_of"] == detail["duplicate_of"]
    # The original itself stays the other provider's: no text, no collection, no detail.
    assert client.get(f"/api/v1/documents/{original.id}").status_code == 404
    original_view = _client(original_collection.organization).get(
        f"/api/v1/documents/{original.id}"
    )
    assert (original_view.json()["status"], original_view.json()["duplicate_of"]) == (
        "ready",
        None,
    )


def _admin_release(document: Document) -> None:
    operator = User.objects.create_superuser(email="ops@example.com", password="x")
    request = RequestFactory().post("/admin/catalog/document/")
    request.user = operator
    request._messages = _Messages()
    DocumentAdmin(Document, admin_site).release_duplicates(
        request, Document.objects.filter(id=document.id)
    )


class _Messages(list):
    def add(self, level, message, extra_tags=""):
        self.append(message)


def test_admin_release_lets_a_false_positive_back_into_retrieval(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)
    assert _search("transpiration", copy_collection) == []

    with django_capture_on_commit_callbacks(execute=True):
        _admin_release(copy)

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id, copy.duplicate_released_from_id) == (
        "ready",
        None,
        original.id,
    )
    assert copy.duplicate_released_by.email == "ops@example.com"
    assert not copy.chunks.filter(held_out=True).exists()
    assert [h.document_id for h in _search("transpiration", copy_collection)] == [copy.id]
    # A new version is never held out against the same original again.
    changed = _ingest(copy_collection, "copy.txt", EDITED)
    assert (changed.status, changed.duplicate_of_id) == ("ready", None)


def test_releasing_a_document_that_is_not_held_out_changes_nothing(providers):
    collection, _ = providers
    document = _ingest(collection, "water.txt", ORIGINAL)

    assert duplicates.release_duplicate(document_id=document.id) is False
    document.refresh_from_db()
    assert (document.status, document.duplicate_released_from_id) == ("ready", None)


def test_when_the_original_is_deleted_its_earliest_copy_takes_its_place(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    third = CollectionFactory(organization__is_provider=True)
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    first_copy = _ingest(copy_collection, "copy.txt", ORIGINAL)
    second_copy = _ingest(third, "copy.txt", ORIGINAL)
    assert second_copy.duplicate_of_id == original.id

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_document(
            actor=_actor(original_collection.organization), document_id=original.id
        )

    first_copy.refresh_from_db()
    second_copy.refresh_from_db()
    assert (first_copy.status, first_copy.duplicate_of_id) == ("ready", None)
    assert (second_copy.status, second_copy.duplicate_of_id) == ("duplicate", first_copy.id)
    assert [h.document_id for h in _search("transpiration", copy_collection, third)] == [
        first_copy.id
    ]


def test_a_copy_stays_held_out_when_its_original_is_edited_slightly(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)

    _ingest(original_collection, "water.txt", EDITED)  # version 2 keeps the text's date

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id) == ("duplicate", original.id)


def test_an_old_document_rewritten_into_a_copy_does_not_take_the_text(providers):
    original_collection, copy_collection = providers
    decoy = _ingest(copy_collection, "old.txt", UNRELATED)  # published first, other text
    original = _ingest(original_collection, "water.txt", ORIGINAL)

    rewritten = _ingest(copy_collection, "old.txt", ORIGINAL)

    assert rewritten.id == decoy.id
    assert (rewritten.status, rewritten.duplicate_of_id) == ("duplicate", original.id)


def test_deleting_a_collection_lets_copies_of_its_texts_back_in(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_collection(
            actor=_actor(original_collection.organization), collection_id=original_collection.id
        )

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id) == ("ready", None)
    assert not TextSignature.objects.filter(collection=original_collection.id).exists()


def test_signatures_and_band_keys_are_stored_for_lookups_from_any_process(providers):
    collection, _ = providers
    document = _ingest(collection, "water.txt", ORIGINAL)

    stored = TextSignature.objects.get(document=document)
    chunk = document.chunks.get()

    assert stored.algorithm == minhash.ALGORITHM
    digests = minhash.from_bytes(bytes(stored.digests))
    assert digests.shape == (2, 2 * minhash.NUM_PERM)  # the document and its one passage
    assert (digests[0] == digests[1]).all()  # one passage: the document's text
    bands = SignatureBand.objects.filter(signature=stored)
    for part, level, count in (
        (0, minhash.DOCUMENT_LEVEL, minhash.DOCUMENT_BANDS),
        (1, minhash.PASSAGE_LEVEL, minhash.PASSAGE_BANDS),
    ):
        keys = set(bands.filter(part=part).values_list("key", flat=True))
        content = digests[part : part + 1, minhash.CONTENT]
        assert keys == set(minhash.band_key_matrix(content, level)[0].tolist())
        assert len(keys) == count
    assert bytes(stored.chunk_ids) == (0).to_bytes(8, "little") + chunk.id.to_bytes(8, "little")


def test_held_out_texts_get_band_keys_only_once_let_back_in(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)
    repeats = _ingest(copy_collection, "brew.txt", "\n\n".join([PASSAGE] * 10))
    assert repeats.chunks.filter(held_out=True).count() == repeats.chunks.count() - 1 > 0

    def keys(document: Document) -> int:
        return SignatureBand.objects.filter(signature__document=document).count()

    # A held-out text is never a candidate: only what may be an original is looked up.
    assert keys(original) == minhash.DOCUMENT_BANDS + minhash.PASSAGE_BANDS
    assert keys(copy) == 0
    assert keys(repeats) == minhash.DOCUMENT_BANDS + minhash.PASSAGE_BANDS  # its first passage

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_document(
            actor=_actor(original_collection.organization), document_id=original.id
        )

    assert keys(copy) == minhash.DOCUMENT_BANDS + minhash.PASSAGE_BANDS
    third = _ingest(CollectionFactory(organization__is_provider=True), "again.txt", ORIGINAL)
    assert (third.status, third.duplicate_of_id) == ("duplicate", copy.id)


def test_texts_too_short_to_judge_are_never_held_out(providers):
    original_collection, copy_collection = providers
    _ingest(original_collection, "a.txt", "Tides and moons.")

    copy = _ingest(copy_collection, "b.txt", "Tides and moons.")

    assert copy.status == "ready"
    assert not TextSignature.objects.filter(document=copy).exists()


def _actor(org):
    from accounts import services as accounts

    owner = org.memberships.get(role="owner").user if org.memberships.exists() else None
    if owner is None:
        owner = User.objects.create_user(email=f"owner-{org.id}@example.com", password="x")
        org.memberships.create(user=owner, role="owner")
    return accounts.actor_for_user(user_id=owner.pk)


def _stored_directly(collection, name: str, text: str) -> Document:
    """Store a document as one stored before duplicate detection: chunks, no signatures."""
    document = Document.objects.create(
        collection=collection,
        external_id=name,
        title=name,
        content_hash=name,
        text=text,
        status=Document.Status.PENDING,
    )
    Chunk.objects.create(
        document=document,
        collection=collection,
        ordinal=0,
        text=text,
        char_start=0,
        char_end=len(text),
        token_count=len(text.split()),
    )
    return document


def test_sign_documents_judges_documents_stored_before_detection_oldest_first(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    original = _stored_directly(original_collection, "water.txt", ORIGINAL)
    copy = _stored_directly(copy_collection, "copy.txt", ORIGINAL)
    catalog_services.index_pending_documents()
    assert len(_search("transpiration", original_collection, copy_collection)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert catalog_services.sign_documents() == 2

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id) == ("duplicate", original.id)
    assert [
        h.document_id for h in _search("transpiration", original_collection, copy_collection)
    ] == [original.id]
    assert catalog_services.sign_documents() == 0  # every document has its signatures now


def test_the_search_backend_itself_never_proposes_held_out_chunks(providers):
    from catalog.retrieval import postgres
    from catalog.services import retrieval

    original_collection, copy_collection = providers
    _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)
    repeats = _ingest(copy_collection, "brew.txt", "\n\n".join([PASSAGE] * 10))
    wanted = frozenset({copy_collection.id})

    def proposed(query: str) -> set[int]:
        if retrieval.search_backend() == "postgres":
            return {chunk_id for _, chunk_id in postgres.search(query, wanted, 20)}
        return {chunk_id for _, chunk_id in retrieval.embedded_index().search(query, wanted, 20)}

    held = set(Chunk.objects.filter(held_out=True).values_list("id", flat=True))
    assert set(copy.chunks.values_list("id", flat=True)) <= held
    assert repeats.chunks.filter(held_out=True).count() == repeats.chunks.count() - 1
    assert not held & proposed("transpiration water")
    assert proposed("cold brew coffee") == {repeats.chunks.get(held_out=False).id}


def test_repeats_within_one_job_are_held_out_before_the_batch_is_stored(providers):
    collection, _ = providers
    uploads = [
        catalog_services.UploadedFile.from_bytes(
            name=f"brew-{n}.txt", content=f"Brew {n}\n\n{PASSAGE}\n\nNote {n}.".encode()
        )
        for n in range(5)
    ]
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=uploads, enqueue=False
    )

    catalog_services.run_ingestion_job(job_id=job.id)

    first = Document.objects.get(external_id="brew-0.txt")
    assert Chunk.objects.filter(held_out=False).count() == 1
    assert set(Chunk.objects.filter(held_out=True).values_list("duplicate_of", flat=True)) == {
        first.chunks.get().id
    }
    # Every version's signatures were stored together once the batch was done.
    assert TextSignature.objects.count() == 5
    assert not Document.objects.exclude(signed_version=1).exists()


def test_the_operator_lists_held_out_documents_in_the_admin(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL, title="The water cycle")
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL, title="Copied water")
    _ingest(copy_collection, "canal.txt", UNRELATED, title="Canals")
    operator = User.objects.create_superuser(email="ops@example.com", password="x")
    client = APIClient()
    client.force_login(operator)

    page = client.get("/admin/catalog/document/?status__exact=duplicate")

    assert page.status_code == 200
    html = page.content.decode()
    assert f"/admin/catalog/document/{copy.id}/change/" in html
    assert "Canals" not in html
    assert "release_duplicates" in html  # the action
    detail = client.get(f"/admin/catalog/document/{copy.id}/change/").content.decode()
    assert "The water cycle" in detail and str(original.id) in detail
