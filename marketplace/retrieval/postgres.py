"""PostgreSQL full-text search over chunks: the generated `search_vector` column and its GIN
index (migration 0002). Every web node queries the database, so nothing lives on local disk."""

from collections.abc import Iterable
from itertools import combinations

from django.db import connection

from marketplace.retrieval.tokens import tokenize

SEARCH_SQL = """
SELECT c.id, ts_rank(c.search_vector, q) AS score
FROM marketplace_chunk c, CAST(%s AS tsquery) q
WHERE c.collection_id = ANY(%s) AND c.search_vector @@ q
ORDER BY score DESC, c.id
LIMIT %s
"""


def _ranked(cursor, terms: str, ids: list, k: int) -> list[tuple[float, int]]:
    cursor.execute(SEARCH_SQL, [terms, ids, k])
    return [(float(score), int(chunk_id)) for chunk_id, score in cursor.fetchall()]


# In one round trip: the passages holding every word, and the query's words as the column's
# lexemes (stemmed, without PostgreSQL's English stop words) to build the wider tiers from.
FIRST_SQL = """
(SELECT NULL::bigint AS id, NULL::real AS score, lexeme
 FROM unnest(to_tsvector('english', %(words)s)))
UNION ALL
(SELECT c.id, ts_rank(c.search_vector, q) AS score, NULL
 FROM marketplace_chunk c, plainto_tsquery('english', %(words)s) q
 WHERE c.collection_id = ANY(%(ids)s) AND c.search_vector @@ q
 ORDER BY score DESC, c.id
 LIMIT %(k)s)
"""
MAX_WORDS_FOR_HALF_TIER = 6


def _tiers(words: list[str]) -> list[str]:
    """Return the tsqueries to try in turn: every word, at least half of them, any word."""
    if not words:
        return []
    tiers = [" & ".join(words)]
    half = (len(words) + 1) // 2
    if 1 < half < len(words) <= MAX_WORDS_FOR_HALF_TIER:  # C(6, 3) = 20 groups at most
        groups = combinations(words, half)
        tiers.append(" | ".join(f"({' & '.join(group)})" for group in groups))
    if len(words) > 1:
        tiers.append(" | ".join(words))
    return tiers


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def search(query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
    """Return up to k (score, chunk_id), best first, from the given collections only.

    Passages holding every word of the query come first, then those holding at least half of
    them, then any word, each tier ranked by `ts_rank` and tried only while fewer than k have
    been found. The narrow tiers match few rows, so ranking them is cheap, and they hold the
    passages BM25 ranks highest too; the any-word query (which must score every row matching
    any word, thousands for common words) runs only when they fall short.
    """
    words = list(dict.fromkeys(tokenize(query)))
    ids = list(collection_ids)
    if not words or not ids or k <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(FIRST_SQL, {"words": " ".join(words), "ids": ids, "k": k})
        rows = cursor.fetchall()
        lexemes = [_quoted(lexeme) for chunk_id, _, lexeme in rows if chunk_id is None]
        hits = [(float(score), int(chunk_id)) for chunk_id, score, _ in rows if chunk_id]
        found = {chunk_id for _, chunk_id in hits}
        for terms in _tiers(lexemes)[1:]:  # the first tier, every word, is done
            if len(hits) >= k:
                break
            for hit in _ranked(cursor, terms, ids, k + len(hits)):
                if hit[1] not in found and len(hits) < k:
                    found.add(hit[1])
                    hits.append(hit)
    return hits
