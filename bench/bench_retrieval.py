"""Benchmark search_chunks over 100,000 chunks with a collection filter covering 10% of them.

Run: .venv/bin/python bench/bench_retrieval.py [--quick] [--database-url postgres://...]

On SQLite it measures the embedded (Tantivy) index; with a PostgreSQL URL it measures the
embedded index and PostgreSQL search (BM25 over a GIN index) side by side on the same chunks,
the latter twice: with each word's passage count still to be made, and kept. Recall@10 of
each backend is measured against an exact BM25 scan (one bm25s index over every chunk, global
statistics, the same tokenizer, the same filter). bench_engines.py compares the embedded index
with other engines (SQLite FTS5, bm25s) on the same chunks and queries.

Corpus: the reStructuredText sources of Debian's python3.11-doc (apt-get install -y
python3.11-doc), cut into 100-word windows with the stride that yields the chunk count
(overlapping passages, as chunkers with overlap make), spread over 10 collections of
about 10,000 chunks each.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import time

import _catalog_corpus as corpus

COLLECTIONS = 10
WINDOW_WORDS = 100


def build_passages(total: int) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Return (name, text, [(char_start, char_end)]) per source file, `total` windows in all."""
    files = corpus.text_sources()
    texts = [(str(p.relative_to(corpus.CORPUS)), p.read_text(errors="replace")) for p in files]
    word_spans = [[m.span() for m in re.finditer(r"\S+", text)] for _, text in texts]
    words = sum(len(s) for s in word_spans)
    stride = max(1, words // total)
    out = []
    made = 0
    for (name, text), spans in zip(texts, word_spans, strict=True):
        windows = []
        for start in range(0, max(1, len(spans) - WINDOW_WORDS + 1), stride):
            window = spans[start : start + WINDOW_WORDS]
            if not window or made >= total:
                break
            windows.append((window[0][0], window[-1][1]))
            made += 1
        if windows:
            out.append((name, text, windows))
    return out


def load(passages, org) -> list:
    """Write collections, documents and chunks; return the collection ids."""
    from catalog.models import Chunk, Collection, Document

    collections = [
        Collection.objects.create(organization=org, name=f"bench-{i}-{time.time_ns()}")
        for i in range(COLLECTIONS)
    ]
    load_per = [0] * COLLECTIONS
    for index, (name, text, windows) in enumerate(sorted(passages, key=lambda p: -len(p[2]))):
        target = min(range(COLLECTIONS), key=load_per.__getitem__)
        load_per[target] += len(windows)
        collection = collections[target]
        document = Document.objects.create(
            collection=collection,
            external_id=f"{name}#{index}",
            title=name,
            content_hash=f"{index:064d}",
            text=text,
            source_url=f"https://docs.python.org/3.11/{name}",
            status=Document.Status.READY,
        )
        Chunk.objects.bulk_create(
            (
                Chunk(
                    document=document,
                    collection=collection,
                    ordinal=ordinal,
                    text=text[a:b],
                    char_start=a,
                    char_end=b,
                    token_count=WINDOW_WORDS,
                )
                for ordinal, (a, b) in enumerate(windows)
            ),
            batch_size=2000,
        )
    print(f"chunks per collection: {sorted(load_per)}")
    return [c.id for c in collections]


def make_queries(count: int, collection_ids: list, rng: random.Random) -> list[tuple[str, object]]:
    from catalog.models import Chunk
    from catalog.retrieval.tokens import tokenize

    ids = list(Chunk.objects.values_list("id", flat=True))
    queries = []
    while len(queries) < count:
        chunk = Chunk.objects.only("text", "collection_id").get(id=rng.choice(ids))
        words = list(dict.fromkeys(tokenize(chunk.text)))
        if len(words) < 4:
            continue
        query = " ".join(rng.sample(words, rng.randint(2, 5)))
        # The filter is one collection (10% of chunks): the chunk's own half the time.
        collection = chunk.collection_id if rng.random() < 0.5 else rng.choice(collection_ids)
        queries.append((query, collection))
    return queries


def exact_top(queries, k: int):
    """Return the exact BM25 top-k chunk ids per query (one index over every chunk)."""
    import bm25s
    import numpy as np

    from catalog.models import Chunk
    from catalog.retrieval.tokens import tokenize

    rows = list(Chunk.objects.order_by("id").values_list("id", "collection_id", "text"))
    chunk_ids = np.asarray([r[0] for r in rows])
    collections = np.asarray([str(r[1]) for r in rows])
    retriever = bm25s.BM25()
    retriever.index([tokenize(r[2]) or [""] for r in rows], show_progress=False)
    truth = []
    for query, collection in queries:
        tokens = [t for t in dict.fromkeys(tokenize(query)) if t in retriever.vocab_dict]
        scores = retriever.get_scores(tokens) if tokens else np.zeros(len(rows))
        scores = np.where(collections == str(collection), scores, 0)
        best = np.argsort(-scores, kind="stable")[:k]
        truth.append([int(chunk_ids[i]) for i in best if scores[i] > 0])
    return truth


def measure(label: str, queries, truth, k: int) -> None:
    from catalog import services

    for query, collection in queries[:50]:  # warm up caches and the index
        services.search_chunks(query=query, collection_ids=[collection], k=k)
    latencies, recalls = [], []
    for (query, collection), expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        hits = services.search_chunks(query=query, collection_ids=[collection], k=k)
        latencies.append(time.perf_counter() - started)
        assert all(h.collection_id == collection for h in hits), "collection filter leaked"
        if expected:
            found = {h.chunk_id for h in hits}
            recalls.append(len(found & set(expected)) / len(expected))
    recall = sum(recalls) / len(recalls)
    print(f"{label:34s} {corpus.summary_ms(latencies)}  recall@{k} {recall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 chunks, 200 queries")
    parser.add_argument("--database-url", help="PostgreSQL URL: also measure PostgreSQL search")
    parser.add_argument("--chunks", type=int, help="how many chunks (default 100,000)")
    parser.add_argument("--queries", type=int, help="how many queries (default 1,000)")
    args = parser.parse_args()
    corpus.require_corpus()
    data_dir = corpus.setup_django(database_url=args.database_url)
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
    total = args.chunks or (10_000 if args.quick else 100_000)
    count = args.queries or (200 if args.quick else 1_000)
    k = 10

    from django.conf import settings
    from django.db import connection

    from accounts.models import Organization
    from catalog import services
    from catalog.models import Chunk, Document

    print(f"machine: {corpus.machine()}")
    print(f"database: {connection.vendor}; data dir: {data_dir}")
    Document.objects.all().delete()
    org = Organization.objects.create(
        name="Bench", slug=f"bench-{time.time_ns()}", is_provider=True
    )
    started = time.perf_counter()
    collection_ids = load(build_passages(total), org)
    print(f"loaded {Chunk.objects.count()} chunks in {time.perf_counter() - started:.1f} s")

    rng = random.Random(7)
    queries = make_queries(count, collection_ids, rng)
    started = time.perf_counter()
    truth = exact_top(queries, k)
    print(f"exact BM25 scan over every chunk built in {time.perf_counter() - started:.1f} s")

    settings.RETRIEVAL_BACKEND = "embedded"
    index = services.retrieval.embedded_index()
    # As ingestion leaves it: a base and 7 commits of new chunks, one batch at a time.
    ids = list(Chunk.objects.order_by("id").values_list("id", flat=True))
    base_end = int(len(ids) * 0.93)
    started = time.perf_counter()
    index.rebuild(services.retrieval._rows(set(ids[:base_end])))
    step = max(1, (len(ids) - base_end) // 7)
    for start in range(base_end, len(ids), step):
        index.add(list(services.retrieval._rows(set(ids[start : start + step]))))
    index.refresh()
    searcher = index._searcher()
    segments = searcher.num_segments if searcher is not None else 0
    print(f"embedded index: {segments} segments built in {time.perf_counter() - started:.1f} s")
    measure("embedded (base + 7 commits)", queries, truth, k)
    started = time.perf_counter()
    services.rebuild_search_index()
    print(f"reindex_search in {time.perf_counter() - started:.1f} s")
    measure("embedded (after reindex_search)", queries, truth, k)
    if connection.vendor == "postgresql":
        settings.RETRIEVAL_BACKEND = "postgres"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE catalog_chunk")
        # A new process counts each word's passages once (kept ten minutes): the first pass
        # over these queries pays those counts, a serving process has them.
        measure("postgres BM25 (GIN), first pass", queries, truth, k)
        measure("postgres BM25 (GIN), counts kept", queries, truth, k)


if __name__ == "__main__":
    main()
