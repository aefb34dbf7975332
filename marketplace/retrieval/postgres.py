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


def tsquery_for(query: str) -> str:
    """Return an OR query of the words (BM25 semantics: any word may match); '' if none."""
    return " | ".join(dict.fromkeys(tokenize(query)))


def search(query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
    """Return up to k (score, chunk_id), best first, from the given collections only."""
    terms = tsquery_for(query)
    ids = list(collection_ids)
    if not terms or not ids or k <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(SEARCH_SQL, [terms, ids, k])
        return [(float(score), int(chunk_id)) for chunk_id, score in cursor.fetchall()]
