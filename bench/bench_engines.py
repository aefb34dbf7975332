"""Compare search engines on the same 100,000 chunks and the same queries, in one run.

Run: .venv/bin/python bench/bench_engines.py [--quick] [--chunks N] [--queries N]

Engines, side by side:
  tantivy     the product's embedded index (catalog/retrieval/embedded.py), queried through
              search_chunks (index lookup plus the one SELECT that loads the hits) and alone
  fts5        SQLite FTS5 with its built-in bm25() ranking, over the same tokens (the chunk text
              tokenized by catalog/retrieval/tokens.py, stored space-separated); the collection
              either an UNINDEXED column filtered after the match, or a zero-weight indexed term
  bm25s       one bm25s index over every chunk, queried as the former segment index did (score
              matrix rows of the query words, a collection mask, bincount, argpartition)

Each engine reports its build time for all chunks (from rows already in memory; tantivy also
from the database, as `manage.py reindex_search` does, and in 100 commits as ingestion adds),
query p50/p99 with a filter on one collection (10% of the chunks) and recall@10 against an
exact BM25 scan (bm25s defaults, global statistics; see bench_retrieval.py).
Corpus as bench_retrieval.py (Debian's python3.11-doc).
"""

from __future__ import annotations

import argparse
import logging
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import _catalog_corpus as corpus
import bench_retrieval as retrieval_bench

K = 10


def recall(results: list[list[int]], truth: list[list[int]]) -> float:
    scores = [
        len(set(found) & set(expected)) / len(expected)
        for found, expected in zip(results, truth, strict=True)
        if expected
    ]
    return sum(scores) / len(scores)


def timed_queries(search, queries) -> tuple[list[float], list[list[int]]]:
    """Run every query after a warm-up; return the latencies and the chunk ids found."""
    for query, collection in queries[:50]:
        search(query, collection)
    latencies, found = [], []
    for query, collection in queries:
        started = time.perf_counter()
        ids = search(query, collection)
        latencies.append(time.perf_counter() - started)
        found.append(ids)
    return latencies, found


def report(label: str, build_s: float | None, latencies, found, truth) -> None:
    ms = [s * 1000 for s in latencies]
    build = f"{build_s:7.1f} s" if build_s is not None else "      - "
    print(
        f"| {label:44s} | {build} | {corpus.percentile(ms, 0.5):6.2f} ms "
        f"| {corpus.percentile(ms, 0.99):6.2f} ms | {recall(found, truth):.3f} |"
    )


# -- SQLite FTS5 -------------------------------------------------------------------------------


class Fts5:
    """An FTS5 table over pre-tokenized text; bm25() ranks, lower is better."""

    def __init__(self, path: Path, rows) -> None:
        from catalog.retrieval.tokens import tokenize

        self.db = sqlite3.connect(path)
        # "_" is a word character to tokens.py; keep diacritics as tokens.py does.
        options = "unicode61 remove_diacritics 0 tokenchars '_'"
        self.db.execute(
            "CREATE VIRTUAL TABLE chunks USING fts5(body, collection UNINDEXED, tag, "
            f'tokenize="{options}")'
        )
        with self.db:
            self.db.executemany(
                "INSERT INTO chunks (rowid, body, collection, tag) VALUES (?, ?, ?, ?)",
                (
                    (row.chunk_id, " ".join(tokenize(row.text)), row.collection_id, _tag(row))
                    for row in rows
                ),
            )

    @staticmethod
    def _match(query: str) -> str | None:
        from catalog.retrieval.tokens import tokenize

        words = list(dict.fromkeys(tokenize(query)))
        return " OR ".join(f'"{w}"' for w in words) if words else None

    def search_unindexed(self, query: str, collection) -> list[int]:
        match = self._match(query)
        if match is None:
            return []
        rows = self.db.execute(
            "SELECT rowid FROM chunks WHERE chunks MATCH ? AND collection = ? "
            "ORDER BY bm25(chunks, 1.0, 0.0, 0.0) LIMIT ?",
            (f"body:({match})", str(collection), K),
        )
        return [r[0] for r in rows]

    def search_tagged(self, query: str, collection) -> list[int]:
        match = self._match(query)
        if match is None:
            return []
        tag = "c" + str(collection).replace("-", "")
        rows = self.db.execute(
            "SELECT rowid FROM chunks WHERE chunks MATCH ? "
            "ORDER BY bm25(chunks, 1.0, 0.0, 0.0) LIMIT ?",
            (f'body:({match}) AND tag:"{tag}"', K),
        )
        return [r[0] for r in rows]


def _tag(row) -> str:
    return "c" + row.collection_id.replace("-", "")


# -- one bm25s index, queried as the former segment index did ---------------------------------


class Bm25sIndex:
    """One bm25s index over every chunk with each row's chunk id and collection code."""

    def __init__(self, rows) -> None:
        import bm25s
        import numpy as np

        from catalog.retrieval.tokens import tokenize

        self.np = np
        self.chunk_ids = np.asarray([r.chunk_id for r in rows], dtype=np.int64)
        collections = sorted({r.collection_id for r in rows})
        self.code_of = {c: i for i, c in enumerate(collections)}
        self.codes = np.asarray([self.code_of[r.collection_id] for r in rows], dtype=np.int32)
        retriever = bm25s.BM25()
        retriever.index([tokenize(r.text) or [""] for r in rows], show_progress=False)
        scores = retriever.scores
        self.data, self.indices, self.indptr = scores["data"], scores["indices"], scores["indptr"]
        self.num_docs = int(scores["num_docs"])
        self.vocab = retriever.vocab_dict
        self.masks: dict[str, object] = {}

    def search(self, query: str, collection) -> list[int]:
        from catalog.retrieval.tokens import tokenize

        np = self.np
        ids = [self.vocab[t] for t in dict.fromkeys(tokenize(query)) if t in self.vocab]
        code = self.code_of.get(str(collection))
        if not ids or code is None:
            return []
        mask = self.masks.get(str(collection))
        if mask is None:
            mask = self.masks[str(collection)] = self.codes == code
        starts, ends = self.indptr[ids], self.indptr[np.asarray(ids) + 1]
        rows = np.concatenate([self.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate([self.data[s:e] for s, e in zip(starts, ends, strict=True)])
        keep = mask[rows]
        rows, weights = rows[keep], weights[keep]
        if not len(rows):
            return []
        scores = np.bincount(rows, weights=weights, minlength=self.num_docs)
        matched = np.zeros(self.num_docs, dtype=bool)
        matched[rows] = True
        candidates = np.flatnonzero(matched)
        if len(candidates) > K:
            candidates = candidates[np.argpartition(-scores[candidates], K - 1)[:K]]
        best = sorted((-scores[r], int(self.chunk_ids[r])) for r in candidates)
        return [chunk_id for _, chunk_id in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 chunks, 200 queries")
    parser.add_argument("--chunks", type=int, help="how many chunks (default 100,000)")
    parser.add_argument("--queries", type=int, help="how many queries (default 1,000)")
    args = parser.parse_args()
    corpus.require_corpus()
    data_dir = corpus.setup_django()
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
    total = args.chunks or (10_000 if args.quick else 100_000)
    count = args.queries or (200 if args.quick else 1_000)

    from django.conf import settings

    from accounts.models import Organization
    from catalog import services
    from catalog.models import Chunk
    from catalog.retrieval.embedded import EmbeddedIndex

    print(f"machine: {corpus.machine()}")
    org = Organization.objects.create(
        name="Bench", slug=f"bench-{time.time_ns()}", is_provider=True
    )
    started = time.perf_counter()
    collection_ids = retrieval_bench.load(retrieval_bench.build_passages(total), org)
    print(f"loaded {Chunk.objects.count()} chunks in {time.perf_counter() - started:.1f} s")
    queries = retrieval_bench.make_queries(count, collection_ids, random.Random(7))
    truth = retrieval_bench.exact_top(queries, K)
    rows = list(services.retrieval._rows())
    print(f"{len(rows)} chunks, {len(queries)} queries, k={K}, filter: one of 10 collections\n")
    print("| engine | build | p50 | p99 | recall@10 |")
    print("|---|---|---|---|---|")

    # tantivy: the product's index, from the database as reindex_search does, then queried
    # through search_chunks and alone.
    settings.RETRIEVAL_BACKEND = "embedded"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 1.0
    started = time.perf_counter()
    services.rebuild_search_index()
    from_db_s = time.perf_counter() - started

    def through_service(query, collection):
        hits = services.search_chunks(query=query, collection_ids=[collection], k=K)
        assert all(h.collection_id == collection for h in hits), "collection filter leaked"
        return [h.chunk_id for h in hits]

    latencies, found = timed_queries(through_service, queries)
    report("tantivy via search_chunks (build from DB)", from_db_s, latencies, found, truth)
    scratch = Path(tempfile.mkdtemp(prefix="bench-engines-", dir=data_dir))
    started = time.perf_counter()
    alone = EmbeddedIndex(scratch / "tantivy", reload_interval_s=1.0)
    alone.rebuild(rows)
    build_s = time.perf_counter() - started
    latencies, found = timed_queries(
        lambda q, c: [chunk for _, chunk in alone.search(q, [c], K)], queries
    )
    report("tantivy index alone", build_s, latencies, found, truth)
    batches = EmbeddedIndex(scratch / "tantivy-batches", reload_interval_s=1.0)
    step = max(1, len(rows) // 100)
    started = time.perf_counter()
    for start in range(0, len(rows), step):
        batches.add(rows[start : start + step])
    build_s = time.perf_counter() - started
    searcher = batches._searcher()
    segments = searcher.num_segments if searcher is not None else 0
    latencies, found = timed_queries(
        lambda q, c: [chunk for _, chunk in batches.search(q, [c], K)], queries
    )
    report(f"tantivy, 100 commits ({segments} segments)", build_s, latencies, found, truth)

    started = time.perf_counter()
    fts = Fts5(scratch / "fts5.sqlite3", rows)
    build_s = time.perf_counter() - started
    latencies, found = timed_queries(fts.search_unindexed, queries)
    report("fts5 bm25(), collection UNINDEXED", build_s, latencies, found, truth)
    latencies, found = timed_queries(fts.search_tagged, queries)
    report("fts5 bm25(), collection as a term", None, latencies, found, truth)

    started = time.perf_counter()
    reference = Bm25sIndex(rows)
    build_s = time.perf_counter() - started
    latencies, found = timed_queries(reference.search, queries)
    report("bm25s, one index (former segment query)", build_s, latencies, found, truth)


if __name__ == "__main__":
    main()
