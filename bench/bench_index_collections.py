"""The embedded index with many collections: an agent licensed on 1,000 of 1,100.

Run: .venv/bin/python bench/bench_index_collections.py [--quick]

100,000 chunks (the corpus of bench_retrieval.py) spread over 1,100 collections; 200 queries of
3 words drawn from random chunks; search (k = 15, as search_chunks asks) and word statistics
(the passages of the collections and of each query word) for 1,000 collections and for one.
Each is measured with the collection filter in the query (a term set on `collection`) and with
the path the index takes past FILTER_IN_QUERY_MAX collections (rank, then keep the wanted
collections' hits; count by collection with an aggregation), on the same index in one run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _catalog_corpus as corpus
import bench_retrieval as retrieval_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 chunks, 50 queries")
    args = parser.parse_args()
    corpus.require_corpus()
    sys.path.insert(0, str(corpus.ROOT))
    from catalog.retrieval import embedded
    from catalog.retrieval.tokens import tokenize

    total, count = (20_000, 50) if args.quick else (100_000, 200)
    print(f"machine: {corpus.machine()}")
    collections = [str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range(1100)]
    rows = []
    for _, text, windows in retrieval_bench.build_passages(total):
        for a, b in windows:
            rows.append(embedded.IndexRow(len(rows) + 1, collections[len(rows) % 1100], text[a:b]))
    index = embedded.EmbeddedIndex(Path(tempfile.mkdtemp()) / "index")
    started = time.perf_counter()
    index.rebuild(rows)
    print(
        f"{len(rows)} chunks, 1,100 collections, indexed in {time.perf_counter() - started:.1f} s"
    )
    rng = random.Random(3)
    queries = [" ".join(rng.sample(tokenize(rng.choice(rows).text), 3)) for _ in range(count)]
    print("| collections | filter | search p50 | search p99 | word statistics p50 | p99 |")
    print("|---|---|---|---|---|---|")
    for wanted in (collections[:1000], collections[5:6]):
        for label, limit in (("in the query", 10**9), ("as the index chooses", None)):
            embedded.FILTER_IN_QUERY_MAX = limit or 32
            searches, counts = [], []
            for query in queries:
                started = time.perf_counter()
                index.search(query, wanted, 15)
                searches.append(time.perf_counter() - started)
                started = time.perf_counter()
                index.word_statistics(tokenize(query), wanted)
                counts.append(time.perf_counter() - started)
            s, c = [x * 1000 for x in searches], [x * 1000 for x in counts]
            print(
                f"| {len(wanted):,} | {label} | {statistics.median(s):.2f} ms "
                f"| {corpus.percentile(s, 0.99):.2f} ms | {statistics.median(c):.2f} ms "
                f"| {corpus.percentile(c, 0.99):.2f} ms |"
            )


if __name__ == "__main__":
    main()
