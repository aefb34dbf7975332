"""PostgreSQL search ranks by BM25 on the retrieval tokenizer's tokens (catalog/retrieval)."""

import importlib
import time
from collections import Counter

import bm25s
import pytest
from django.db import connection

from catalog import services as catalog_services
from catalog.retrieval import postgres
from catalog.retrieval.tokens import STOPWORDS, tokenize
from tests.marketplace.factories import CollectionFactory, indexed_passages

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL search needs PostgreSQL (set DATABASE_URL to run it)",
)

HOSTILE = [
    "",
    "   ",
    " ".join(f"word{i}" for i in range(10_000)),
    "it's \"quoted\" 'single' ''",
    "back\\slash \\\\ trailing\\",
    "nul\x00byte \x00",
    "! : * & | ( ) <-> !! :* & | () 'a':*",
    "salmon:* & !river | (otter <-> pond)",
    "x" * 5000,
    "\U0001f41f emoji \u0000 \ud7ff",
]


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


def _passages(collection, *texts: str) -> list[int]:
    return indexed_passages(collection, *texts)[1]


def test_the_migration_drops_the_tokenizers_stop_words():
    migration = importlib.import_module("catalog.migrations.0006_search_tokens")
    assert set(migration.STOPWORDS) == STOPWORDS


@on_postgres
def test_the_vector_holds_the_tokenizers_tokens_with_their_counts_and_the_length():
    text = (
        "The __init__ method of Foo_Bar: foo FOO foo, 3.11 and x; it's an École's café. "
        "Don't stop: the THE the. " + "spam " * 300 + "y" * 3000
    )
    (chunk_id,) = _passages(CollectionFactory(), text)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, cardinality(positions) FROM catalog_chunk, unnest(search_tokens) "
            "WHERE id = %s",
            [chunk_id],
        )
        vector = dict(cursor.fetchall())
        cursor.execute("SELECT search_length FROM catalog_chunk WHERE id = %s", [chunk_id])
        (length,) = cursor.fetchone()

    tokens = tokenize(text)
    counts = {t: min(n, 256) for t, n in Counter(tokens).items() if len(t.encode()) < 2047}
    assert vector == counts
    assert vector["spam"] == 256 and vector["foo"] == 3 and "the" not in vector
    assert length == len(tokens)


@on_postgres
def test_bm25_best_passage_ranks_first_where_ts_rank_put_another_first(settings):
    settings.RETRIEVAL_BACKEND = "postgres"
    collection = CollectionFactory()
    texts = [
        "Ducks, ducks and more ducks paddle on the pond.",
        "Ducks feed at dawn.",
        "Ducks fly south in autumn.",
        "Ducks nest in reeds.",
        "Ducks sleep on the water.",
        "A gadwall rested on the pond near the reeds.",
    ]
    ids = _passages(collection, *texts)
    query = "gadwall ducks"
    with connection.cursor() as cursor:  # what the English configuration and ts_rank did
        cursor.execute(
            "SELECT id FROM catalog_chunk WHERE id = ANY(%s) "
            "ORDER BY ts_rank(to_tsvector('english', text), "
            "plainto_tsquery('english', %s) || to_tsquery('english', 'gadwall | ducks')) "
            "DESC, id LIMIT 1",
            [ids, query],
        )
        assert cursor.fetchone()[0] == ids[0]

    hits = catalog_services.search_chunks(query=query, collection_ids=[collection.id], k=6)

    exact = bm25s.BM25()
    exact.index([tokenize(t) for t in texts], show_progress=False)
    scores = exact.get_scores(list(dict.fromkeys(tokenize(query))))
    expected = sorted(range(len(texts)), key=lambda i: (-scores[i], ids[i]))
    assert [h.chunk_id for h in hits] == [ids[i] for i in expected]
    assert hits[0].chunk_id == ids[5]
    assert [h.score for h in hits] == pytest.approx([float(scores[i]) for i in expected])


@on_postgres
def test_the_top_k_is_the_exact_bm25_top_k_over_many_passages(settings):
    settings.RETRIEVAL_BACKEND = "postgres"
    collection, other = CollectionFactory(), CollectionFactory()
    words = [
        "salmon",
        "river",
        "otter",
        "pond",
        "reed",
        "heron",
        "trout",
        "willow",
        "stone",
        "bank",
    ]
    texts = [
        " ".join(words[(i * j) % len(words)] for j in range(1, 3 + i % 7)) + f" w{i}"
        for i in range(120)
    ]
    ids = _passages(collection, *texts)
    _passages(other, *texts[:40])  # statistics count every collection, hits come from one
    everything = texts + texts[:40]
    exact = bm25s.BM25()
    exact.index([tokenize(t) for t in everything], show_progress=False)

    for query in ["salmon", "otter heron", "trout willow stone", "river bank pond reed w7"]:
        found = postgres.search(query, [collection.id], 10)
        scores = exact.get_scores(list(dict.fromkeys(tokenize(query))))[: len(texts)]
        best = sorted(range(len(texts)), key=lambda i: (-scores[i], ids[i]))[:10]
        assert [score for score, _ in found] == pytest.approx([float(scores[i]) for i in best])
        assert {c for _, c in found} <= set(ids)


@on_postgres
@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(settings, query):
    settings.RETRIEVAL_BACKEND = "postgres"
    collection = CollectionFactory()
    _passages(collection, "Salmon swim up the river past the otter's pond.")

    hits = catalog_services.search_chunks(query=query, collection_ids=[collection.id], k=5)

    assert all(h.collection_id == collection.id for h in hits)
    passages, counts = postgres.word_statistics([query, "salmon"], [collection.id])
    assert (passages, counts["salmon"]) == (1, 1)


@on_postgres
def test_a_new_upload_is_found_at_once_though_its_words_were_searched_before(settings):
    """Word counts and corpus statistics are kept per process, but a count of nothing only
    for a second: a word searched while no passage held it is found within that second of a
    passage holding it."""
    settings.RETRIEVAL_BACKEND = "postgres"
    collection = CollectionFactory()

    def found():
        hits = catalog_services.search_chunks(
            query="marmalade lighthouse", collection_ids=[collection.id]
        )
        return [hit.chunk_id for hit in hits]

    assert found() == []  # an empty corpus, and words no passage holds
    first = _passages(collection, "The lighthouse keeper's marmalade recipe.")
    time.sleep(postgres._absent.ttl_s + 0.05)
    assert found() == first
    _passages(collection, "Other words entirely, about tides and gulls.")
    second = _passages(collection, "Seville oranges make marmalade; a lighthouse keeper knew.")
    assert set(found()) == {*first, *second}
