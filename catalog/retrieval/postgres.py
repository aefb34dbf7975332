"""PostgreSQL full-text search over chunks: the generated `search_vector` column and its GIN
index (migration 0002). Every web node queries the database, so nothing lives on local disk.

Ranking every row that matches any word of a query is what makes full-text search slow on a
large corpus (`ts_rank` reads each match's `tsvector`, thousands of rows for common words).
When the collections searched hold a large share of the corpus, the query runs in tiers: the
passages holding every word, then those holding at least half of the words, then any word,
each ranked by `ts_rank` and run only while the ones before have not found k, so the wide
tiers cost nothing when narrow ones suffice; passages with every word are also the ones BM25
ranks highest. When the collections hold a small share, the any-word query alone is cheaper:
the planner reads their rows by the collection index, and every extra tier would read them
again. (One `UNION ALL` statement under a `LIMIT` runs tiers as lazily, but carries the
collection ids once per tier; planning three copies of a thousand-id array cost more than the
round trips it saves.)
"""

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from django.db import connection

from catalog.retrieval.tokens import tokenize
from core.cache import LocalCache

# Half-tier groups are combinations of the words: C(6, 3) = 20 at most.
MAX_WORDS_FOR_HALF_TIER = 6
# The lexemes of each word as the column has them (PostgreSQL's English configuration: stemmed,
# stop words dropped), asked once per word and kept per process. They change only with the
# database's text search configuration; a day bounds how long a process keeps lexemes from
# before such a change, at one query per word and day.
LEXEMES_SQL = (
    "SELECT w, array(SELECT lexeme FROM unnest(to_tsvector('english', w))) "
    "FROM unnest(%s::text[]) AS w"
)
_lexemes: LocalCache[str, tuple[str, ...]] = LocalCache(
    "catalog.postgres_lexemes", maxsize=200_000, ttl_s=86_400.0
)

# Tiers pay off when the collections searched hold more than this share of the chunks.
TIERED_SHARE = 0.25
# Chunks per collection, read for five minutes, and again sooner (at most every ten seconds)
# when a collection searched is not among them yet.
SIZES_SQL = "SELECT collection_id, count(*) FROM catalog_chunk GROUP BY collection_id"
SIZES_RECHECK_S = 10.0


@dataclass(frozen=True)
class _Sizes:
    per_collection: dict
    total: int
    read_at: float


_sizes: LocalCache[str, _Sizes] = LocalCache(
    "catalog.postgres_collection_sizes", maxsize=1, ttl_s=300.0
)

# A tier matches with its own query and ranks with the any-word one, so that the scores of all
# tiers are on one scale (ts_rank against a stricter query gives other numbers).
TIER_SQL = """
SELECT c.id, ts_rank(c.search_vector, r) AS score
FROM catalog_chunk c, CAST(%s AS tsquery) q, CAST(%s AS tsquery) r
WHERE c.collection_id = ANY(%s) AND c.search_vector @@ q AND NOT c.held_out
ORDER BY score DESC, c.id
LIMIT %s
"""


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _terms(cursor, words: list[str]) -> list[str]:
    """Return each word's tsquery term ('a', or ('a' & 'b') for a word the parser splits)."""
    return list(dict.fromkeys(_term_of(cursor, words).values()))


def _term_of(cursor, words: list[str]) -> dict[str, str]:
    """Return the tsquery term of each word that has one (stop words have none)."""
    known = _lexemes.get_many(words)
    missing = [w for w in words if w not in known]
    if missing:
        cursor.execute(LEXEMES_SQL, [missing])
        found = {word: tuple(lexemes) for word, lexemes in cursor.fetchall()}
        _lexemes.set_many(found)
        known.update(found)
    terms = {}
    for word in words:
        lexemes = known.get(word, ())
        if lexemes:
            joined = " & ".join(_quoted(lexeme) for lexeme in lexemes)
            terms[word] = joined if len(lexemes) == 1 else f"({joined})"
    return terms


def _tiers(terms: list[str]) -> list[str]:
    """Return the tsqueries to try in turn: every term, at least half of them, any term."""
    if not terms:
        return []
    tiers = [" & ".join(terms)]
    half = (len(terms) + 1) // 2
    if 1 < half < len(terms) <= MAX_WORDS_FOR_HALF_TIER:
        groups = combinations(terms, half)
        tiers.append(" | ".join(f"({' & '.join(group)})" for group in groups))
    if len(terms) > 1:
        tiers.append(" | ".join(terms))
    return tiers


def _share(cursor, ids: list) -> float:
    """Return the share of all chunks the collections hold."""
    sizes = _collection_sizes(cursor, ids)
    if not sizes.total:
        return 0.0
    return sum(sizes.per_collection.get(c, 0) for c in ids) / sizes.total


def _collection_sizes(cursor, ids: list) -> _Sizes:
    sizes = _sizes.get("sizes")
    now = _sizes.now()
    if sizes is None or (
        now > sizes.read_at + SIZES_RECHECK_S and any(c not in sizes.per_collection for c in ids)
    ):
        cursor.execute(SIZES_SQL)
        per_collection = dict(cursor.fetchall())
        sizes = _Sizes(per_collection, sum(per_collection.values()), now)
        _sizes.set("sizes", sizes)
    return sizes


# How many passages of some collections hold a word: one query for the words not known yet,
# each counted through the GIN index, kept per process for a minute per set of collections
# (as is the collections' passage count, under the empty word).
PASSAGES_SQL = "SELECT count(*) FROM catalog_chunk WHERE collection_id = ANY(%s)"
WORD_COUNTS_SQL = """
SELECT t.w, (
    SELECT count(*) FROM catalog_chunk c
    WHERE c.collection_id = ANY(%s) AND c.search_vector @@ CAST(t.q AS tsquery)
)
FROM unnest(%s::text[], %s::text[]) AS t(w, q)
"""
_word_counts: LocalCache[tuple[frozenset, str], int] = LocalCache(
    "catalog.postgres_word_counts", maxsize=200_000, ttl_s=60.0
)


def word_statistics(words: list[str], collection_ids: Iterable) -> tuple[int, dict[str, int]]:
    """Return how many passages the collections hold, and how many hold each word."""
    ids = list(collection_ids)
    wanted = frozenset(ids)
    counts = dict.fromkeys(words, 0)
    if not ids:
        return 0, counts
    with connection.cursor() as cursor:
        passages = _word_counts.get((wanted, ""))
        if passages is None:
            cursor.execute(PASSAGES_SQL, [ids])
            passages = int(cursor.fetchone()[0])
            _word_counts.set((wanted, ""), passages)
        known = _word_counts.get_many([(wanted, w) for w in words if w])
        counts.update({word: count for (_, word), count in known.items()})
        missing = [w for w in words if w and (wanted, w) not in known]
        queries = _term_of(cursor, missing) if missing else {}
        if queries:
            cursor.execute(WORD_COUNTS_SQL, [ids, list(queries), list(queries.values())])
            found = {word: int(count) for word, count in cursor.fetchall()}
            _word_counts.set_many({(wanted, w): c for w, c in found.items()})
            counts.update(found)
    return passages, counts


def search(query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
    """Return up to k (score, chunk_id), best first, from the given collections only."""
    words = list(dict.fromkeys(tokenize(query)))
    ids = list(collection_ids)
    if not words or not ids or k <= 0:
        return []
    with connection.cursor() as cursor:
        tiers = _tiers(_terms(cursor, words))
        if not tiers:
            return []
        if _share(cursor, ids) < TIERED_SHARE:
            tiers = tiers[-1:]  # any word: one pass over the few rows these collections hold
        hits: list[tuple[float, int]] = []
        found: set[int] = set()
        for tier in tiers:  # each tier only while the ones before fall short of k
            cursor.execute(TIER_SQL, [tier, tiers[-1], ids, k + len(hits)])
            for chunk_id, score in cursor.fetchall():
                if chunk_id not in found and len(hits) < k:
                    found.add(chunk_id)
                    hits.append((float(score), int(chunk_id)))
            if len(hits) >= k:
                break
    hits.sort(key=lambda hit: (-hit[0], hit[1]))  # best first across tiers, on one scale
    return hits
