"""search_chunks: exact collection filters, fresh results after changes, both backends."""

import pytest
from django.db import connection

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.ingestion.chunking import split_into_chunks
from catalog.models import Chunk, Document
from marketplace import errors
from tests.marketplace.factories import CollectionFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL full-text search needs PostgreSQL (set DATABASE_URL to run it)",
)


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0
    settings.RETRIEVAL_BACKEND = "embedded"


def _document(collection, text: str, *, title: str = "", index: bool = True) -> Document:
    document = Document.objects.create(
        collection=collection,
        external_id=title or text[:40],
        title=title,
        content_hash=str(hash(text)),
        text=text,
        source_url=f"https://example.org/{title.lower()}" if title else "",
    )
    Chunk.objects.bulk_create(
        Chunk(
            document=document,
            collection=collection,
            ordinal=span.ordinal,
            text=text[span.char_start : span.char_end],
            char_start=span.char_start,
            char_end=span.char_end,
            token_count=span.token_count,
        )
        for span in split_into_chunks(text, target_tokens=200)
    )
    if index:
        catalog_services.index_pending_documents()
    return document


@pytest.fixture
def three_collections():
    a, b, c = CollectionFactory(), CollectionFactory(), CollectionFactory()
    _document(a, "Python decorators wrap a function to extend its behaviour.", title="A1")
    _document(b, "Python generators yield values lazily, one at a time.", title="B1")
    _document(c, "Python decorators in C collection must never leak to others.", title="C1")
    return a, b, c


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=on_postgres)])
def backend(request, settings):
    settings.RETRIEVAL_BACKEND = request.param
    return request.param


def test_search_is_restricted_to_the_given_collections(backend, three_collections):
    a, b, c = three_collections
    hits = catalog_services.search_chunks(query="python decorators", collection_ids=[a.id], k=10)
    assert [h.document_title for h in hits] == ["A1"]
    hits = catalog_services.search_chunks(query="python", collection_ids=[a.id, b.id], k=10)
    assert sorted(h.document_title for h in hits) == ["A1", "B1"]
    assert {h.collection_id for h in hits} == {a.id, b.id}
    assert c.id not in {h.collection_id for h in hits}
    assert catalog_services.search_chunks(query="python", collection_ids=[], k=10) == []


def test_hits_carry_citation_metadata_and_exact_offsets(backend, three_collections):
    a, _, _ = three_collections
    (hit,) = catalog_services.search_chunks(query="decorators", collection_ids=[str(a.id)], k=1)
    document = Document.objects.get(id=hit.document_id)
    assert hit.provider_org_id == a.organization_id
    assert (hit.document_url, hit.document_title) == ("https://example.org/a1", "A1")
    assert document.text[hit.char_start : hit.char_end] == hit.text
    assert hit.score > 0


def test_best_match_ranks_first(backend):
    collection = CollectionFactory()
    _document(collection, "Salmon swim upstream. Salmon spawn. Salmon salmon salmon.", title="S")
    _document(collection, "A river in spring, and a single salmon.", title="R")
    hits = catalog_services.search_chunks(query="salmon", collection_ids=[collection.id], k=2)
    assert [h.document_title for h in hits] == ["S", "R"]


def test_deleted_document_disappears_from_search(
    backend, three_collections, django_capture_on_commit_callbacks
):
    a, _, _ = three_collections
    document = Document.objects.get(collection=a)
    actor = accounts_services.actor_for_api_key(
        api_key_id=document.id, organization_id=a.organization_id, scopes=["catalog"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_document(actor=actor, document_id=document.id)
    assert catalog_services.search_chunks(query="decorators", collection_ids=[a.id]) == []


def test_unmatched_query_returns_nothing(backend, three_collections):
    a, b, c = three_collections
    assert catalog_services.search_chunks(query="zebra", collection_ids=[a.id, b.id, c.id]) == []
    assert catalog_services.search_chunks(query="the and of", collection_ids=[a.id]) == []


def test_search_makes_one_database_query(backend, three_collections, django_assert_num_queries):
    a, b, _ = three_collections
    catalog_services.search_chunks(query="python", collection_ids=[a.id, b.id])
    expected = 2 if backend == "postgres" else 1
    with django_assert_num_queries(expected):
        hits = catalog_services.search_chunks(query="python", collection_ids=[a.id, b.id])
    assert len(hits) == 2


def test_bad_arguments_are_validation_errors(three_collections):
    a, _, _ = three_collections
    with pytest.raises(errors.ValidationFailed):
        catalog_services.search_chunks(query="python", collection_ids=[a.id], k=0)
    with pytest.raises(errors.ValidationFailed):
        catalog_services.search_chunks(query="python", collection_ids=["not-a-uuid"])


def test_get_chunks_returns_details_in_the_order_asked(three_collections):
    a, b, _ = three_collections
    chunk_a = Chunk.objects.get(collection=a)
    chunk_b = Chunk.objects.get(collection=b)
    details = catalog_services.get_chunks(chunk_ids=[chunk_b.id, chunk_a.id, 999_999])
    assert [d.chunk_id for d in details] == [chunk_b.id, chunk_a.id]
    assert details[0].document_title == "B1"
    only_a = catalog_services.get_chunks(chunk_ids=[chunk_b.id, chunk_a.id], collection_ids=[a.id])
    assert [d.chunk_id for d in only_a] == [chunk_a.id]


# The embedded index itself is tested in test_embedded_index.py.


@on_postgres
def test_postgres_backend_uses_the_gin_index(settings, three_collections):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_search_tokens_gin'"
        )
        (definition,) = cursor.fetchone()
    assert "gin (search_tokens)" in definition


@on_postgres
def test_postgres_ranks_passages_with_every_word_first_and_fills_with_any_word(settings):
    settings.RETRIEVAL_BACKEND = "postgres"
    collection = CollectionFactory()
    _document(collection, "Salmon, salmon, salmon and more salmon swim in the sea.", title="Only")
    _document(collection, "A salmon in the river.", title="Both")
    _document(collection, "The river runs to the sea.", title="River")
    _document(collection, "Otters play.", title="Neither")

    hits = catalog_services.search_chunks(
        query="salmon river", collection_ids=[collection.id], k=10
    )

    titles = [h.document_title for h in hits]
    assert titles[0] == "Both"
    assert sorted(titles[1:]) == ["Only", "River"]
    assert len({h.chunk_id for h in hits}) == len(hits)
    top = catalog_services.search_chunks(query="salmon river", collection_ids=[collection.id], k=1)
    assert [h.document_title for h in top] == ["Both"]


# -- dense re-ranking (the `semantic` extra), with a stand-in encoder ------------------------


class _KeywordEncoder:
    """Embeds text as [mentions 'otter', mentions 'river'], normalized: enough to rank."""

    def encode(self, texts, normalize_embeddings, convert_to_numpy):
        import numpy as np

        vectors = (
            np.asarray([[float("otter" in t), float("river" in t)] for t in texts], dtype=float)
            + 1e-6
        )
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_reciprocal_rank_fusion_adds_reciprocal_ranks():
    from catalog.retrieval.dense import reciprocal_rank_fusion

    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused == {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61}


def test_dense_rerank_fuses_lexical_and_dense_rankings(monkeypatch):
    from catalog.retrieval import dense

    monkeypatch.setattr(dense, "_model", _KeywordEncoder())
    ranked = [(3.0, 10), (2.0, 11), (1.0, 12)]
    texts = {10: "a river bank", 11: "the otter swims", 12: "otter in a river"}
    reranked = dense.rerank("otter river", ranked, texts=texts)
    # The dense ranking lifts 12 above 11; 10 keeps first place by its lexical rank.
    assert [chunk for _, chunk in reranked] == [10, 12, 11]


def test_search_uses_dense_rerank_when_enabled(settings, monkeypatch):
    from catalog.retrieval import dense

    monkeypatch.setattr(dense, "_model", _KeywordEncoder())
    settings.RETRIEVAL_DENSE_RERANK = True
    collection = CollectionFactory()
    _document(collection, "river river river river banks", title="Rivers")
    _document(collection, "an otter lives by the river", title="Otters")
    hits = catalog_services.search_chunks(query="otter river", collection_ids=[collection.id], k=2)
    assert [h.document_title for h in hits] == ["Otters", "Rivers"]


def test_dense_rerank_without_the_semantic_extra_is_a_clear_error(settings, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from catalog.retrieval import dense

    monkeypatch.setattr(dense, "_model", None)
    monkeypatch.setattr(dense, "available", lambda: False)
    settings.RETRIEVAL_DENSE_RERANK = True
    collection = CollectionFactory()
    _document(collection, "otters", title="O")
    _document(collection, "otters again", title="P")
    with pytest.raises(ImproperlyConfigured, match=r"provenant\[semantic\]"):
        catalog_services.search_chunks(query="otters", collection_ids=[collection.id])
