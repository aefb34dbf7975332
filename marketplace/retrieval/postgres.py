"""PostgreSQL full-text search over chunks: the generated `search_vector` column and its GIN
index (migration 0002). Every web node queries the database, so nothing lives on local disk."""

from collections.abc import Iterable

from django.db import connection

from marketplace.retrieval.tokens import tokenize

SEARCH_SQL = """
SELECT c.id, ts_rank(c.search_vector, q) AS score
FROM marketplace_chunk c, to_tsquery('english', %s) q
WHERE c.collection_id = ANY(%s) AND c.search_vector @@ q
ORDER BY score DESC, c.id
LIMIT %s
"""


def _ranked(cursor, terms: str, ids: list, k: int) -> list[tuple[float, int]]:
    cursor.execute(SEARCH_SQL, [terms, ids, k])
    return [(float(score), int(chunk_id)) for chunk_id, score in cursor.fetchall()]


def search(query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
    """Return up to k (score, chunk_id), best first, from the given collections only.

    Passages holding every word of the query come first: that query matches few rows, so
    ranking them is cheap, and they are the ones BM25 ranks highest too. Only when fewer than
    k hold every word does the any-word query (which `ts_rank` must score over every row
    matching any word, thousands for common words) fill the rest.
    """
    words = list(dict.fromkeys(tokenize(query)))
    ids = list(collection_ids)
    if not words or not ids or k <= 0:
        return []
    with connection.cursor() as cursor:
        hits = _ranked(cursor, " & ".join(words), ids, k)
        if len(hits) < k and len(words) > 1:
            found = {chunk_id for _, chunk_id in hits}
            more = _ranked(cursor, " | ".join(words), ids, k + len(hits))
            hits += [hit for hit in more if hit[1] not in found][: k - len(hits)]
    return hits
