"""Word statistics of the search index: what the answer writer and attribution weigh words by."""

import pytest
from django.db import connection

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.models import Document
from catalog.retrieval.embedded import EmbeddedIndex, IndexRow
from tests.marketplace.factories import CollectionFactory, indexed_passages

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL full-text search needs PostgreSQL (set DATABASE_URL to run it)",
)


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=on_postgres)])
def backend(request, settings):
    settings.RETRIEVAL_BACKEND = request.param
    return request.param


def _passages(collection, *texts: str) -> Document:
    return indexed_passages(collection, *texts)[0]


def test_counts_passages_holding_each_word_in_the_given_collections_only(backend):
    mine, theirs = CollectionFactory(), CollectionFactory()
    _passages(mine, "Caffeine blocks adenosine.", "Tea holds caffeine too.", "Sleep matters.")
    _passages(theirs, "Caffeine everywhere, caffeine always.", "More caffeine.")

    found = catalog_services.word_statistics(collection_ids=[mine.id])

    assert found.passages == 3
    assert found.passages_with(["caffeine", "sleep", "quokka"]) == {
        "caffeine": 2,
        "sleep": 1,
        "quokka": 0,
    }
    both = catalog_services.word_statistics(collection_ids=[mine.id, theirs.id])
    assert both.passages == 5
    assert both.passages_with(["Caffeine"]) == {"caffeine": 4}


def test_a_new_upload_counts_at_once(settings):
    settings.RETRIEVAL_BACKEND = "embedded"  # PostgreSQL's counts are kept for a minute per process
    collection = CollectionFactory()
    _passages(collection, "Caffeine blocks adenosine.")
    before = catalog_services.word_statistics(collection_ids=[collection.id])
    assert (before.passages, before.passages_with(["caffeine"])) == (1, {"caffeine": 1})

    _passages(collection, "Decaf still holds a little caffeine.")  # a segment of its own
    after = catalog_services.word_statistics(collection_ids=[collection.id])

    assert (after.passages, after.passages_with(["caffeine"])) == (2, {"caffeine": 2})


def test_deleted_passages_stop_counting(backend, django_capture_on_commit_callbacks):
    collection = CollectionFactory()
    _passages(collection, "Caffeine blocks adenosine.")
    gone = _passages(collection, "Caffeine again.")
    actor = accounts_services.actor_for_api_key(
        api_key_id=gone.id, organization_id=collection.organization_id, scopes=["catalog"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_document(actor=actor, document_id=gone.id)
    found = catalog_services.word_statistics(collection_ids=[collection.id])

    assert (found.passages, found.passages_with(["caffeine"])) == (1, {"caffeine": 1})


def test_no_collections_hold_no_passages():
    found = catalog_services.word_statistics(collection_ids=[])

    assert (found.passages, found.passages_with(["caffeine"])) == (0, {"caffeine": 0})


def test_a_new_segment_is_scored_on_the_whole_index_statistics(tmp_path):
    index = EmbeddedIndex(tmp_path / "index", reload_interval_s=0)
    rows = [IndexRow(i, "c", f"salmon river pool{i}") for i in range(1, 20)]
    index.add(rows)
    new = IndexRow(100, "c", "salmon trout lake")  # committed as a segment of its own
    index.add([new])

    split = {chunk_id: score for score, chunk_id in index.search("salmon", ["c"], 30)}
    index.rebuild([*rows, new])
    whole = {chunk_id: score for score, chunk_id in index.search("salmon", ["c"], 30)}

    assert split[100] == pytest.approx(split[1]) == pytest.approx(whole[100])
    assert split[1] == pytest.approx(whole[1])


def test_removed_passages_leave_the_statistics(tmp_path):
    index = EmbeddedIndex(tmp_path / "index", reload_interval_s=0)
    rows = [IndexRow(i, "c", f"salmon river pool{i}") for i in range(1, 11)]
    index.add(rows)
    index.add([IndexRow(100, "c", "trout lake shore")])

    index.remove(range(2, 11))
    passages, counts = index.word_statistics(["salmon", "trout"], ["c"])

    assert (passages, counts) == (2, {"salmon": 1, "trout": 1})
    assert [chunk_id for _, chunk_id in index.search("salmon", ["c"], 5)] == [1]
