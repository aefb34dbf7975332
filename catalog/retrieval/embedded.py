"""The embedded search index: a Tantivy index on disk, shared by every process.

Tantivy keeps the segments, merges them in the background, applies deletes and scores with
BM25 (k1 1.2, b 0.75, each word's idf over the whole index). What is left here:

- One writer at a time. Tantivy allows one IndexWriter per directory; Celery workers (adds) and
  the tasks that forget deleted chunks may write from several processes, so each write takes an
  exclusive flock on `writer.flock` in the directory, opens a writer, commits, waits for the
  merges it started and lets the writer go. Tantivy's own lock file stays as a second guard: a
  writer that still finds it busy retries for a few seconds.
- Readers in every process. Each process opens the index once and reloads it when `meta.json`
  (rewritten by every commit) changes, checked at most every `reload_interval_s`, so a new
  upload is searchable everywhere within that time and a delete leaves search as fast.
- Exact collection filters, cheap for one collection or a thousand: a few collections are a
  clause of the query; many are kept after ranking (see FILTER_IN_QUERY_MAX).
- The tokenizer of `catalog.retrieval.tokens`, so that documents, queries, word statistics and
  the benchmark's exact scan agree. Tantivy tokenizes documents in Rust with an analyzer built
  to match it (a regex, lower-casing, the same stop words); a text where the two would differ
  (rare Unicode) is indexed with the Python tokens instead. Queries are tokenized in Python and
  built as term queries: no query parser, so no input can make a query fail.
"""

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tantivy
from tantivy import Occur, Query

from catalog.retrieval.collection_sets import CollectionSet, collection_key, collection_set
from catalog.retrieval.tokens import STOPWORDS, tokenize
from core.cache import LocalCache

logger = logging.getLogger(__name__)

ANALYZER_NAME = "provenant_words"
# Python's \w is a letter, a number or "_"; Rust's \w also takes marks and joiners.
WORD_PATTERN = r"[\p{L}\p{N}_][\p{L}\p{N}_]+"
WRITER_HEAP_BYTES = 50_000_000  # Tantivy needs at least 15 MB per indexing thread
WRITER_LOCK_WAIT_S = 10.0
META = "meta.json"
# Up to this many collections the query filters on them (a term set on `collection`); past it,
# building that set for every query costs more than the search (19 ms for 1,000 collections
# over 100,000 chunks), so search ranks first and keeps the hits of the wanted collections
# (their `collection_key`), and word statistics count by collection with an aggregation.
FILTER_IN_QUERY_MAX = 32
# Ranked hits read at most, per round and in all, when keeping only the wanted collections.
POST_FILTER_FIRST = 64
POST_FILTER_MAX = 65_536


@dataclass(frozen=True)
class IndexRow:
    chunk_id: int
    collection_id: str
    text: str


def analyzer() -> tantivy.TextAnalyzer:
    """Return the Tantivy analyzer that splits text as `tokens.tokenize` does."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS)))
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("chunk_id", indexed=True, fast=True)
    builder.add_text_field("collection", tokenizer_name="raw", fast=True)
    builder.add_integer_field("collection_key", fast=True)  # collection_key(collection)
    # Term frequencies without positions: BM25 needs no more.
    builder.add_text_field("text", tokenizer_name=ANALYZER_NAME, index_option="freq")
    return builder.build()


SCHEMA = _schema()
ANALYZER = analyzer()


def _document(row: IndexRow) -> tantivy.Document:
    document = tantivy.Document()
    document.add_integer("chunk_id", row.chunk_id)
    document.add_text("collection", row.collection_id)
    document.add_integer("collection_key", collection_key(row.collection_id))
    text = row.text
    if text.isascii():  # ASCII splits and lower-cases the same way in Rust and Python
        document.add_text("text", text)
        return document
    tokens = tokenize(text)
    if ANALYZER.analyze(text) == tokens:
        document.add_text("text", text)
    else:
        pieces = [tantivy.Token(token, position, 0, 0) for position, token in enumerate(tokens)]
        document.add_pre_tokenized_text("text", tantivy.PreTokenizedString(text, pieces))
    return document


def write_rows(writer: tantivy.IndexWriter, rows: Iterable[IndexRow]) -> None:
    """Add rows through a writer; a chunk indexed before is replaced."""
    for row in rows:
        writer.delete_documents_by_term("chunk_id", row.chunk_id)
        writer.add_document(_document(row))


def _collection_filter(collection_ids: Sequence[str]) -> Query:
    """Return a query that allows the given collections and adds nothing to the score."""
    if len(collection_ids) == 1:
        allowed = Query.term_query(SCHEMA, "collection", collection_ids[0])
    else:
        allowed = Query.term_set_query(SCHEMA, "collection", list(collection_ids))
    return Query.const_score_query(allowed, 0.0)


def _words_query(words: Sequence[str]) -> Query:
    terms = [Query.term_query(SCHEMA, "text", word, index_option="freq") for word in words]
    if len(terms) == 1:
        return terms[0]
    return Query.boolean_query([(Occur.Should, term) for term in terms])


# How many passages of a large set of collections hold a word (None: how many they hold), as of
# one commit: keyed by the commit, an entry never goes stale; the TTL lets words and sets no
# longer asked for go. An agent's answers ask the same set about the same common words.
_counts: LocalCache[tuple[object, bytes, str | None], int] = LocalCache(
    "catalog.embedded_word_counts", maxsize=200_000, ttl_s=3600.0
)

# Passages per collection (Tantivy caps an aggregation at 65,000 buckets: collections).
BY_COLLECTION = {
    "by_collection": {"terms": {"field": "collection", "size": 65_000, "segment_size": 65_000}}
}


def _ranked(searcher: tantivy.Searcher, hits: list) -> list[tuple[float, int]]:
    """Return (score, chunk_id) of Tantivy's hits."""
    if not hits:
        return []
    chunk_ids = searcher.fast_field_values("chunk_id", [address for _, address in hits])
    return [
        (float(score), int(chunk_id))  # type: ignore[arg-type]
        for (score, _), chunk_id in zip(hits, chunk_ids, strict=True)
    ]


class EmbeddedIndex:
    """Reads and writes one index directory; safe across threads and processes."""

    def __init__(self, directory: Path, *, reload_interval_s: float = 1.0):
        self.directory = Path(directory)
        self.reload_interval_s = reload_interval_s
        self._index: tantivy.Index | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = (self.directory / META).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino, stat.st_size

    def _open(self) -> tantivy.Index:
        index = tantivy.Index(SCHEMA, path=str(self.directory), reuse=True)
        index.register_tokenizer(ANALYZER_NAME, ANALYZER)
        index.config_reader(reload_policy="manual")
        return index

    def _searcher(self) -> tantivy.Searcher | None:
        """Return a searcher over the newest commit seen (None: no index yet)."""
        now = time.monotonic()
        if self._index is not None and now - self._checked_at < self.reload_interval_s:
            return self._index.searcher()
        self._checked_at = now
        stamp = self._meta_stamp()
        if stamp is None:
            return None
        if stamp != self._stamp or self._index is None:
            with self._open_lock:
                if stamp != self._stamp or self._index is None:
                    self._load()
                    self._stamp = stamp
        assert self._index is not None
        return self._index.searcher()

    def _load(self) -> None:
        for attempt in range(5):
            try:
                if self._index is None:
                    self._index = self._open()
                else:
                    self._index.reload()
                return
            except ValueError:  # a merge's garbage collection removed files under us; retry
                if attempt == 4:
                    raise
                time.sleep(0.02 * (attempt + 1))

    def exists(self) -> bool:
        """Say whether the directory holds an index (any commit, even of no chunk)."""
        return self._meta_stamp() is not None

    def refresh(self) -> None:
        """See the newest commit now, whatever the reload interval."""
        self._checked_at = float("-inf")
        self._searcher()

    def search(self, query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
        """Return up to k (score, chunk_id), best first (ties by chunk id), from the given
        collections only."""
        words = list(dict.fromkeys(tokenize(query)))
        collections = collection_set(collection_ids)
        wanted = collections.names
        if not words or not wanted or k <= 0:
            return []
        searcher = self._searcher()
        if searcher is None:
            return []
        if len(wanted) > FILTER_IN_QUERY_MAX:
            ranked = self._ranked_then_kept(searcher, words, collections, k)
        else:
            query_ = Query.boolean_query(
                [(Occur.Must, _words_query(words)), (Occur.Must, _collection_filter(wanted))]
            )
            # A few more than k, so that hits tied at the cut are ordered by chunk id.
            hits = searcher.search(query_, limit=2 * k, count=False).hits
            ranked = _ranked(searcher, hits)
        ranked.sort(key=lambda hit: (-hit[0], hit[1]))
        return ranked[:k]

    def _ranked_then_kept(
        self, searcher: tantivy.Searcher, words: list[str], wanted: CollectionSet, k: int
    ) -> list[tuple[float, int]]:
        """Return the best hits of the wanted collections, read off the ranking of every
        collection: exact once 2k are kept, or every match was read."""
        keys = wanted.keys
        query_ = _words_query(words)
        limit = POST_FILTER_FIRST
        while True:
            hits = searcher.search(query_, limit=limit, count=False).hits
            found = searcher.fast_field_values("collection_key", [a for _, a in hits])
            kept = [hit for hit, key in zip(hits, found, strict=True) if key in keys]
            if len(kept) >= 2 * k or len(hits) < limit:
                return _ranked(searcher, kept)
            if limit >= POST_FILTER_MAX:  # a rare collection among common words
                allowed = _collection_filter(wanted.names)
                both = Query.boolean_query([(Occur.Must, query_), (Occur.Must, allowed)])
                return _ranked(searcher, searcher.search(both, limit=2 * k, count=False).hits)
            limit *= 8

    def word_statistics(
        self, words: Sequence[str], collection_ids: Iterable
    ) -> tuple[int, dict[str, int]]:
        """Return how many live passages the collections hold, and how many hold each word."""
        collections = collection_set(collection_ids)
        wanted = collections.names
        counts = dict.fromkeys(words, 0)
        searcher = self._searcher() if wanted else None
        if searcher is None:
            return 0, counts
        if len(wanted) > FILTER_IN_QUERY_MAX:
            return self._counted_by_collection(searcher, counts, collections)
        allowed = _collection_filter(wanted)
        passages = searcher.search(allowed, limit=1, count=True).count or 0
        for word in counts:
            if not passages or not searcher.doc_freq("text", word):
                continue
            both = Query.boolean_query([(Occur.Must, _words_query([word])), (Occur.Must, allowed)])
            counts[word] = searcher.search(both, limit=1, count=True).count or 0
        return passages, counts

    def _counted_by_collection(
        self, searcher: tantivy.Searcher, counts: dict[str, int], wanted: CollectionSet
    ) -> tuple[int, dict[str, int]]:
        """Count per collection (an aggregation over the passages holding the word) and add up
        the wanted ones: this costs what the word's passages do, whatever the collections."""
        collections = wanted.name_set
        commit = self._stamp

        def count(query: Query) -> int:
            result = searcher.aggregate(query, BY_COLLECTION)
            buckets = result["by_collection"]["buckets"]
            return sum(b["doc_count"] for b in buckets if b["key"] in collections)

        keys = {word: (commit, wanted.digest, word) for word in [None, *counts]}
        found = _counts.get_many(keys.values())
        fresh = {}
        if keys[None] not in found:
            fresh[keys[None]] = count(Query.all_query())
        passages = found.get(keys[None], fresh.get(keys[None], 0))
        for word, key in keys.items():
            if word is not None and key not in found:
                held = passages and searcher.doc_freq("text", word)
                fresh[key] = count(_words_query([word])) if held else 0
        _counts.set_many(fresh)
        found.update(fresh)
        return passages, {word: found[keys[word]] for word in counts}

    def indexed_chunk_ids(self) -> set[int]:
        """Return the ids of every live chunk in the index, as of now."""
        self.refresh()
        searcher = self._searcher()
        if searcher is None or not searcher.num_docs:
            return set()
        hits = searcher.search(Query.all_query(), limit=searcher.num_docs, count=False).hits
        values = searcher.fast_field_values("chunk_id", [address for _, address in hits])
        return {int(value) for value in values}  # type: ignore[arg-type]

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def _writer(self, *, threads: int = 1) -> Iterator[tantivy.IndexWriter]:
        """Hold the directory's writer lock with a fresh writer; commit when the block ends."""
        with self.writer_if_free(threads=threads, wait=True) as writer:
            assert writer is not None
            yield writer

    @contextmanager
    def writer_if_free(
        self, *, threads: int = 1, wait: bool = False
    ) -> Iterator[tantivy.IndexWriter | None]:
        """Hold the directory's writer lock with a fresh writer, or give None at once if another
        thread or process holds it (unless `wait`). Commits when the block ends (the block may
        commit as it goes too); rolls back what is not committed if the block raises."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self._write_lock.acquire(blocking=wait):
            yield None
            return
        try:
            with open(self.directory / "writer.flock", "a+") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield None
                    return
                try:
                    with self._open_lock:
                        if self._index is None:
                            self._index = self._open()  # creates the index on the first write
                    writer = self._open_writer(self._index, threads)
                    try:
                        yield writer
                        writer.commit()
                    except BaseException:
                        writer.rollback()
                        raise
                    finally:
                        writer.wait_merging_threads()  # then lets the writer (and its lock) go
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()
        self.refresh()

    def _open_writer(self, index: tantivy.Index, threads: int) -> tantivy.IndexWriter:
        deadline = time.monotonic() + WRITER_LOCK_WAIT_S
        warned = False
        while True:
            try:
                return index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=threads)
            except ValueError as exc:  # LockBusy: a writer outside the flock (or one dying)
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                if not warned:
                    logger.warning("search index writer busy, retrying: %s", exc)
                    warned = True
                time.sleep(0.05)

    def add(self, rows: Sequence[IndexRow]) -> int:
        """Index rows (a chunk indexed before is replaced); return how many."""
        if not rows:
            return 0
        with self._writer() as writer:
            write_rows(writer, rows)
        return len(rows)

    def remove(self, chunk_ids: Iterable[int]) -> None:
        """Take chunks out of search; every process stops finding them at its next reload."""
        ids = sorted({int(c) for c in chunk_ids})
        if not ids:
            return
        self.refresh()
        searcher = self._searcher()
        present = Query.term_set_query(SCHEMA, "chunk_id", ids)
        if searcher is None or not searcher.search(present, limit=1, count=True).count:
            return
        with self._writer() as writer:
            for chunk_id in ids:
                writer.delete_documents_by_term("chunk_id", chunk_id)

    def rebuild(self, rows: Iterable[IndexRow]) -> int:
        """Replace the whole index with `rows`; return how many were indexed."""
        count = 0
        with self._writer(threads=2) as writer:
            writer.delete_all_documents()
            for row in rows:
                writer.add_document(_document(row))
                count += 1
        return count


_indexes: dict[Path, EmbeddedIndex] = {}
_indexes_pid = os.getpid()
_indexes_lock = threading.Lock()


def index_at(directory: Path, *, reload_interval_s: float | None = None) -> EmbeddedIndex:
    """Return this process's reader/writer of the index in `directory`."""
    global _indexes_pid
    directory = Path(directory)
    with _indexes_lock:
        if os.getpid() != _indexes_pid:  # a forked child opens the index afresh
            _indexes.clear()
            _indexes_pid = os.getpid()
        if directory not in _indexes:
            _indexes[directory] = EmbeddedIndex(directory)
        index = _indexes[directory]
    if reload_interval_s is not None:
        index.reload_interval_s = reload_interval_s
    return index
