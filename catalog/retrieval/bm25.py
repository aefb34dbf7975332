"""The embedded BM25 index: segments of bm25s indexes on disk, shared by every process.

Layout under the index directory:

    manifest.json            generation, live segments, tombstones file (replaced atomically)
    lock                     writers take an exclusive flock; readers never lock
    segments/<name>/         a bm25s index, chunk_ids.npy, collection_codes.npy, collections.json
    tombstones-<gen>.npy     chunk ids removed since their segment was written

Writers add a small segment per indexing batch and tombstone removed chunks; past
`max_segments` segments (or many tombstones) they rebuild one segment from the database.
Readers stat the manifest at most every `reload_interval_s` and load the new generation, so
every web process sees new content without a restart. Every segment's scores are weighed by
the word statistics of the whole live index (each word's idf over every segment, tombstones
left out), so a new upload is scored on the same statistics as the rest at once; compaction
also brings each passage's length normalisation back to one average.
"""

import fcntl
import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from catalog.retrieval.tokens import tokenize
from core.cache import LocalCache

MANIFEST = "manifest.json"
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
# Return the rows of these chunk ids (None: of every chunk), read from the database.
Rebuild = Callable[[set[int] | None], Iterable["IndexRow"]]


@dataclass(frozen=True)
class IndexRow:
    chunk_id: int
    collection_id: str
    text: str


class Segment:
    """One immutable bm25s index over some chunks, with each row's chunk id and collection."""

    def __init__(self, path: Path, tombstones: np.ndarray):
        self.name = path.name
        self.retriever = bm25s.BM25.load(str(path), mmap=False, show_progress=False)
        self.chunk_ids = np.load(path / "chunk_ids.npy")
        self.codes = np.load(path / "collection_codes.npy")
        self.collections = json.loads((path / "collections.json").read_text())
        self.code_of = {c: i for i, c in enumerate(self.collections)}
        self.alive = ~np.isin(self.chunk_ids, tombstones) if len(tombstones) else None
        self.live_rows = len(self.chunk_ids) if self.alive is None else int(self.alive.sum())
        scores = self.retriever.scores
        self.data, self.indices, self.indptr = scores["data"], scores["indices"], scores["indptr"]
        self.num_docs = int(scores["num_docs"])
        self.vocab = self.retriever.vocab_dict
        # A segment never changes, so its masks never go stale: the TTL only lets the masks of
        # collection sets no longer asked for go (each is one byte per row of the segment).
        self._masks: LocalCache[frozenset, np.ndarray | None] = LocalCache(
            "catalog.bm25_segment_masks", maxsize=256, ttl_s=3600.0
        )

    def mask_for(self, collection_ids: frozenset) -> np.ndarray | None:
        """Return the rows allowed for these collections (None: no row is)."""
        return self._masks.get_or_compute(collection_ids, lambda: self._mask(collection_ids))

    def _mask(self, collection_ids: frozenset) -> np.ndarray | None:
        names = (str(c) for c in collection_ids)
        codes = [self.code_of[c] for c in names if c in self.code_of]
        if not codes:
            return None
        mask = np.isin(self.codes, np.asarray(codes, dtype=self.codes.dtype))
        if self.alive is not None:
            mask &= self.alive
        return mask

    def passages_with(self, words: Sequence[str], mask: np.ndarray) -> list[int]:
        """Return how many allowed rows hold each word."""
        counts = []
        for word in words:
            i = self.vocab.get(word)
            if i is None:
                counts.append(0)
                continue
            rows = self.indices[self.indptr[i] : self.indptr[i + 1]]
            counts.append(int(np.count_nonzero(mask[rows])))
        return counts

    def holding(self, token: str) -> tuple[int, int]:
        """Return how many rows held the token when the segment was built, and how many live."""
        i = self.vocab.get(token)
        if i is None:
            return 0, 0
        rows = self.indices[self.indptr[i] : self.indptr[i + 1]]
        live = len(rows) if self.alive is None else int(np.count_nonzero(self.alive[rows]))
        return len(rows), live

    def top(
        self,
        tokens: Sequence[str],
        collection_ids: frozenset,
        k: int,
        scale: dict[str, float] | None = None,
    ):
        """Return [(score, chunk_id)] of the best k allowed rows that match at least one token.

        `scale` multiplies each token's scores (the whole index's idf over this segment's).
        """
        present = [t for t in tokens if t in self.vocab]
        ids = [self.vocab[t] for t in present]
        if not ids:
            return []
        mask = self.mask_for(collection_ids)
        if mask is None:
            return []
        starts, ends = self.indptr[ids], self.indptr[np.asarray(ids) + 1]
        rows = np.concatenate([self.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate([self.data[s:e] for s, e in zip(starts, ends, strict=True)])
        if scale:
            factors = np.asarray([scale.get(t, 1.0) for t in present], dtype=weights.dtype)
            weights = weights * np.repeat(factors, ends - starts)
        keep = mask[rows]
        rows, weights = rows[keep], weights[keep]
        if not len(rows):
            return []
        scores = np.bincount(rows, weights=weights, minlength=self.num_docs)
        matched = np.zeros(self.num_docs, dtype=bool)
        matched[rows] = True
        candidates = np.flatnonzero(matched)  # sorted and distinct, cheaper than np.unique
        if len(candidates) > k:
            best = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[best]
        return [(float(scores[r]), int(self.chunk_ids[r])) for r in candidates]


class BM25Index:
    """Reads and writes one index directory; safe across threads and processes."""

    def __init__(self, directory: Path, *, reload_interval_s: float = 1.0, max_segments: int = 8):
        self.directory = Path(directory)
        self.reload_interval_s = reload_interval_s
        self.max_segments = max_segments
        self._state: tuple[int, list[Segment]] = (-1, [])
        self._checked_at = 0.0
        self._stamp: tuple[int, int] | None = None
        self._load_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def _manifest(self) -> dict:
        path = self.directory / MANIFEST
        if not path.exists():
            return {"generation": 0, "segments": [], "tombstones": None}
        return json.loads(path.read_text())

    def _refresh(self) -> list[Segment]:
        now = time.monotonic()
        if now - self._checked_at < self.reload_interval_s and self._state[0] >= 0:
            return self._state[1]
        try:
            stat = (self.directory / MANIFEST).stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
        except FileNotFoundError:
            stamp = (0, 0)
        self._checked_at = now
        if stamp == self._stamp:
            return self._state[1]
        with self._load_lock:
            if stamp != self._stamp:
                for attempt in range(3):
                    try:
                        self._state = self._load()
                        break
                    except FileNotFoundError:  # a compaction removed files under us; retry
                        if attempt == 2:
                            raise
                self._stamp = stamp
        return self._state[1]

    def _load(self) -> tuple[int, list[Segment]]:
        manifest = self._manifest()
        tombstones = np.zeros(0, dtype=np.int64)
        if manifest.get("tombstones"):
            tombstones = np.load(self.directory / manifest["tombstones"])
        segments = [
            Segment(self.directory / "segments" / name, tombstones) for name in manifest["segments"]
        ]
        return manifest["generation"], segments

    @property
    def generation(self) -> int:
        self._refresh()
        return self._state[0]

    def search(self, query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
        """Return up to k (score, chunk_id), best first, from the given collections only."""
        tokens = list(dict.fromkeys(tokenize(query)))
        # Keyed by the ids as given (UUIDs or strings); turned into strings only on a cache miss.
        wanted = frozenset(collection_ids)
        if not tokens or not wanted or k <= 0:
            return []
        hits: list[tuple[float, int]] = []
        segments = self._refresh()
        scales = _idf_scales(segments, tokens)
        for segment, scale in zip(segments, scales, strict=True):
            hits.extend(segment.top(tokens, wanted, k, scale))
        hits.sort(key=lambda hit: (-hit[0], hit[1]))
        return hits[:k]

    def word_statistics(
        self, words: Sequence[str], collection_ids: Iterable
    ) -> tuple[int, dict[str, int]]:
        """Return how many live passages the collections hold, and how many hold each word."""
        wanted = frozenset(collection_ids)
        counts = dict.fromkeys(words, 0)
        passages = 0
        for segment in self._refresh():
            mask = segment.mask_for(wanted) if wanted else None
            if mask is None:
                continue
            passages += int(np.count_nonzero(mask))
            for word, count in zip(words, segment.passages_with(words, mask), strict=True):
                counts[word] += count
        return passages, counts

    def indexed_chunk_ids(self) -> set[int]:
        segments = self._refresh_now()
        ids: set[int] = set()
        for segment in segments:
            alive = segment.chunk_ids if segment.alive is None else segment.chunk_ids[segment.alive]
            ids.update(int(i) for i in alive)
        return ids

    def _refresh_now(self) -> list[Segment]:
        self._checked_at = 0.0
        return self._refresh()

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def _writer(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._manifest()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write_manifest(self, manifest: dict) -> None:
        tmp = self.directory / f".{MANIFEST}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, self.directory / MANIFEST)

    def _write_segment(self, rows: Sequence[IndexRow]) -> str:
        name = f"seg-{time.time_ns():020d}-{uuid.uuid4().hex[:6]}"
        path = self.directory / "segments" / name
        tmp = self.directory / "segments" / f".{name}"
        tmp.mkdir(parents=True)
        collections = sorted({row.collection_id for row in rows})
        code_of = {c: i for i, c in enumerate(collections)}
        retriever = bm25s.BM25()
        retriever.index([tokenize(row.text) or [""] for row in rows], show_progress=False)
        retriever.save(str(tmp), show_progress=False)
        np.save(tmp / "chunk_ids.npy", np.asarray([r.chunk_id for r in rows], dtype=np.int64))
        codes = np.asarray([code_of[r.collection_id] for r in rows], dtype=np.int32)
        np.save(tmp / "collection_codes.npy", codes)
        (tmp / "collections.json").write_text(json.dumps(collections))
        os.replace(tmp, path)
        return name

    def _live_ids(self, manifest: dict) -> tuple[np.ndarray, np.ndarray]:
        tombstones = np.zeros(0, dtype=np.int64)
        if manifest.get("tombstones"):
            tombstones = np.load(self.directory / manifest["tombstones"])
        ids = [
            np.load(self.directory / "segments" / n / "chunk_ids.npy") for n in manifest["segments"]
        ]
        indexed = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        return indexed, tombstones

    def add(self, rows: Sequence[IndexRow], *, rebuild: Rebuild) -> int:
        """Index rows not indexed yet; merge the small segments past the segment limit."""
        with self._writer() as manifest:
            indexed, tombstones = self._live_ids(manifest)
            known = set(indexed.tolist()) - set(tombstones.tolist())
            fresh = [row for row in rows if row.chunk_id not in known]
            if not fresh:
                return 0
            segments = list(manifest["segments"])
            if len(segments) + 1 > self.max_segments:
                self._merge_small(manifest, fresh, rebuild)
                return len(fresh)
            name = self._write_segment(fresh)
            manifest = {**manifest, "generation": manifest["generation"] + 1}
            manifest["segments"] = [*segments, name]
            self._write_manifest(manifest)
            return len(fresh)

    def _merge_small(self, manifest: dict, fresh: Sequence[IndexRow], rebuild: Rebuild) -> None:
        """Rewrite every segment but the largest, plus `fresh`, as one (tiered merging)."""
        sizes = {
            name: len(np.load(self.directory / "segments" / name / "chunk_ids.npy", mmap_mode="r"))
            for name in manifest["segments"]
        }
        largest = max(sizes, key=sizes.__getitem__)
        small = [name for name in manifest["segments"] if name != largest]
        if sum(sizes[n] for n in small) + len(fresh) >= sizes[largest] // 2:
            self._compact(manifest, lambda: rebuild(None))
            return
        ids = set()
        for name in small:
            ids.update(np.load(self.directory / "segments" / name / "chunk_ids.npy").tolist())
        merged = [*rebuild(ids), *fresh]
        name = self._write_segment(merged)
        self._write_manifest(
            {**manifest, "generation": manifest["generation"] + 1, "segments": [largest, name]}
        )
        for old in small:
            shutil.rmtree(self.directory / "segments" / old, ignore_errors=True)

    def remove(self, chunk_ids: Iterable[int], *, rebuild: Rebuild):
        """Hide chunks from search at once; compact when tombstones pile up."""
        chunk_ids = np.asarray(sorted(set(chunk_ids)), dtype=np.int64)
        if not len(chunk_ids):
            return
        with self._writer() as manifest:
            indexed, tombstones = self._live_ids(manifest)
            chunk_ids = chunk_ids[np.isin(chunk_ids, indexed)]
            merged = np.union1d(tombstones, chunk_ids)
            if len(merged) == len(tombstones):
                return
            if len(indexed) and len(merged) > max(1000, len(indexed) // 5):
                self._compact(manifest, lambda: rebuild(None))
                return
            generation = manifest["generation"] + 1
            name = f"tombstones-{generation}.npy"
            np.save(self.directory / name, merged)
            old = manifest.get("tombstones")
            self._write_manifest({**manifest, "generation": generation, "tombstones": name})
            if old:
                (self.directory / old).unlink(missing_ok=True)

    def rebuild(self, rows: Iterable[IndexRow]) -> int:
        """Replace the whole index with one segment over `rows`."""
        with self._writer() as manifest:
            return self._compact(manifest, lambda: rows)

    def _compact(self, manifest: dict, rebuild: Callable[[], Iterable[IndexRow]]) -> int:
        rows = list(rebuild())
        segments = [self._write_segment(rows)] if rows else []
        self._write_manifest(
            {"generation": manifest["generation"] + 1, "segments": segments, "tombstones": None}
        )
        for name in manifest["segments"]:
            shutil.rmtree(self.directory / "segments" / name, ignore_errors=True)
        if manifest.get("tombstones"):
            (self.directory / manifest["tombstones"]).unlink(missing_ok=True)
        return len(rows)


def _idf(passages: int, holding: int) -> float:
    """Return bm25s' ("lucene") inverse document frequency."""
    return math.log(1 + (passages - holding + 0.5) / (holding + 0.5))


def _idf_scales(segments: Sequence[Segment], tokens: Sequence[str]) -> list[dict[str, float]]:
    """Return, per segment, what turns each token's idf over the segment's own rows (baked into
    its scores) into its idf over the whole live index. One segment without tombstones: 1.0."""
    if len(segments) == 1 and segments[0].alive is None:
        return [{}]
    passages = sum(segment.live_rows for segment in segments)
    holding = {t: [segment.holding(t) for segment in segments] for t in tokens}
    scales: list[dict[str, float]] = []
    for position, segment in enumerate(segments):
        scale = {}
        for token, counts in holding.items():
            built = counts[position][0]
            if built:
                whole = _idf(passages, sum(live for _, live in counts))
                scale[token] = whole / _idf(segment.num_docs, built)
        scales.append(scale)
    return scales


_indexes: dict[Path, BM25Index] = {}
_indexes_lock = threading.Lock()


def index_at(directory: Path, **kwargs) -> BM25Index:
    """Return this process's reader/writer of the index in `directory`."""
    directory = Path(directory)
    with _indexes_lock:
        if directory not in _indexes:
            _indexes[directory] = BM25Index(directory, **kwargs)
        index = _indexes[directory]
    index.reload_interval_s = kwargs.get("reload_interval_s", index.reload_interval_s)
    index.max_segments = kwargs.get("max_segments", index.max_segments)
    return index
