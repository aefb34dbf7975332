"""PostgreSQL search over chunks, ranked by BM25: every web node queries the database, so
nothing lives on local disk.

A trigger (migration 0006) keeps two columns per passage: `search_tokens`, a tsvector of the
tokens `tokens.tokenize` finds (no stemming: the lexemes are the embedded index's words), each
with positions 1..n for its n occurrences, and `search_length`, the passage's token count. A
GIN index on the vector finds passages; the score is bm25s' ("lucene") BM25 with statistics
over every searchable passage, as the embedded index and the benchmark's exact scan have them:
a word's term frequency is `ts_rank_cd` of the word alone with every weight 1 (one per
occurrence), its idf comes from how many passages hold it (counted through the GIN index,
kept per process), and the passage length from `search_length`.

Scoring every passage that holds any word of a question reads thousands of rows for common
words. Yet a passage scores less than the sum of the idfs of the words it holds (each word's
BM25 share is below 1), so once k passages score above some s, only passages whose words'
idfs add up to s or more can still enter the top k. The search runs in rounds: first the
passages holding every word, then, with the k-th best score so far s, the passages holding a
set of words worth s / GAIN, written as a tsquery of the smallest such sets ((a & b) | c ...),
until the k-th score settles it or every word alone has been asked. Rare words make small
sets, so a round reads only passages with the rare words, or with several common ones.
GAIN < 1 assumes a word's share rarely exceeds it (one occurrence in a passage of average
length scores 0.4): rounds stop sooner, at the price of a passage now and then that repeats
a common word many times in a short text.
"""

import math
import re
import uuid
from collections.abc import Iterable

from django.db import connection

from catalog.retrieval.tokens import STOPWORDS, TOKEN, tokenize
from core.cache import LocalCache

# bm25s' defaults (what the embedded index and the benchmark's exact scan use).
K1 = 1.5
B = 0.75
GAIN = 0.7
# A question's first distinct words scored (hostile questions can hold thousands), and the
# rarest of them from which the rounds' sets of words are formed (C(8, 4) = 70 sets at most).
MAX_TERMS = 32
SET_TERMS = 8
MAX_LEXEME_BYTES = 2046  # PostgreSQL's limit: longer tokens are not in the vector

# The whole searchable corpus (passages and their total length), and how many of its passages
# hold each word: counted through the GIN index, kept per process for ten minutes (a corpus's
# idfs move slowly; a count of a common word reads tens of thousands of rows).
CORPUS_SQL = (
    "SELECT count(*), coalesce(sum(search_length), 0) FROM catalog_chunk WHERE NOT held_out"
)
# One count per word, each planned on its own constant (the GIN index for a rare word, a scan
# for a word most passages hold): a count against a tsquery computed per row reads every row.
FREQUENCY_SQL = (
    "(SELECT count(*) FROM catalog_chunk WHERE NOT held_out "
    "AND search_tokens @@ CAST(%s AS tsquery))"
)
_corpus: LocalCache[str, tuple[int, float]] = LocalCache(
    "catalog.postgres_bm25_corpus", maxsize=1, ttl_s=600.0
)
_frequencies: LocalCache[str, int] = LocalCache(
    "catalog.postgres_bm25_frequencies", maxsize=200_000, ttl_s=600.0
)
# Words no passage held when counted: kept only a second (as the embedded index's reload), so
# a question does not count them again on every answer, yet a new upload that brings them is
# searchable everywhere within that second.
_absent: LocalCache[str, bool] = LocalCache(
    "catalog.postgres_bm25_absent", maxsize=200_000, ttl_s=1.0
)

WHOLE_WORD = re.compile(TOKEN.pattern + r"\Z")


def _quoted(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _is_term(word: str) -> bool:
    """Say whether the word can be a lexeme of `search_tokens` (a token as tokenize gives it)."""
    return (
        bool(WHOLE_WORD.match(word))
        and word == word.lower()
        and word not in STOPWORDS
        and len(word.encode()) <= MAX_LEXEME_BYTES
    )


def _corpus_statistics(cursor) -> tuple[int, float]:
    """Return how many passages are searchable and their average length in tokens."""
    found = _corpus.get("corpus")
    if found is None:
        cursor.execute(CORPUS_SQL)
        passages, length = cursor.fetchone()
        found = (int(passages), float(length) / max(1, int(passages)))
        if found[0]:  # an empty corpus is not kept: the first upload must count at once
            _corpus.set("corpus", found)
    return found


def _document_frequencies(cursor, terms: list[str]) -> dict[str, int]:
    known = _frequencies.get_many(terms)
    known.update(dict.fromkeys(_absent.get_many([t for t in terms if t not in known]), 0))
    missing = [t for t in terms if t not in known]
    if missing:
        cursor.execute(
            "SELECT " + ", ".join([FREQUENCY_SQL] * len(missing)), [_quoted(t) for t in missing]
        )
        found = {term: int(count) for term, count in zip(missing, cursor.fetchone(), strict=True)}
        _frequencies.set_many({term: count for term, count in found.items() if count})
        _absent.set_many({term: True for term, count in found.items() if not count})
        known.update(found)
    return known


def _idf(passages: int, holding: int) -> float:
    """Return bm25s' ("lucene") inverse document frequency."""
    return math.log(1 + (passages - holding + 0.5) / (holding + 0.5))


def _smallest_sets(ranked: list[tuple[str, float]], worth: float) -> list[tuple[str, ...]]:
    """Return the sets of words whose idfs add up to `worth` or more, none with a word to
    spare; `ranked` is (word, idf), rarest first."""
    sets: list[tuple[str, ...]] = []
    rest = [sum(idf for _, idf in ranked[i:]) for i in range(len(ranked) + 1)]

    def extend(start: int, chosen: tuple[str, ...], total: float, least: float) -> None:
        if total >= worth:
            if total - least < worth:  # no word to spare: the last added is the least
                sets.append(chosen)
            return
        if total + rest[start] < worth:
            return
        for i in range(start, len(ranked)):
            word, idf = ranked[i]
            extend(i + 1, (*chosen, word), total + idf, idf)

    extend(0, (), 0.0, 0.0)
    return sets


def _tsquery(sets: list[tuple[str, ...]]) -> str:
    return " | ".join("(" + " & ".join(_quoted(w) for w in group) + ")" for group in sets)


def _round_sql(terms: int) -> str:
    """Return the statement that scores the passages of one round, best first."""
    # tf / (tf + K) written as 1 - K / (tf + K), so that each word's tf is computed once.
    share = (
        "%s * (1 - ({k}) / (ts_rank_cd('{{1,1,1,1}}', c.search_tokens, CAST(%s AS tsquery)) "
        "+ ({k})))"
    ).format(k="%s + %s * c.search_length")
    # Only placeholders are repeated into the text: every value is a parameter.
    return (
        f"SELECT c.id, {' + '.join([share] * terms)} AS score FROM catalog_chunk c "  # noqa: S608
        "WHERE c.collection_id = ANY(CAST(%s AS uuid[])) "
        "AND c.search_tokens @@ CAST(%s AS tsquery) AND NOT c.held_out "
        "ORDER BY score DESC, c.id LIMIT %s"
    )


# The collection ids of a search as one array literal, written once per set of ids (an agent's
# thousand collections come back answer after answer), not adapted id by id in every round.
_id_arrays: LocalCache[frozenset, str] = LocalCache(
    "catalog.postgres_collection_arrays", maxsize=64, ttl_s=60.0
)


def _id_array(collection_ids: Iterable) -> str:
    wanted = frozenset(collection_ids)
    array = _id_arrays.get(wanted)
    if array is None:
        array = "{" + ",".join(str(uuid.UUID(str(c))) for c in wanted) + "}"
        _id_arrays.set(wanted, array)
    return array


def search(query: str, collection_ids: Iterable, k: int) -> list[tuple[float, int]]:
    """Return up to k (score, chunk_id), best first, from the given collections only."""
    words = [w for w in dict.fromkeys(tokenize(query)) if _is_term(w)][:MAX_TERMS]
    if not words or k <= 0:
        return []
    ids = _id_array(collection_ids)
    if ids == "{}":
        return []
    with connection.cursor() as cursor:
        passages, average_length = _corpus_statistics(cursor)
        frequencies = _document_frequencies(cursor, words)
        # Kept statistics may predate uploads: the corpus holds at least what a word's count saw.
        passages = max(passages, *frequencies.values())
        idfs = {w: _idf(passages, frequencies[w]) for w in words if frequencies.get(w)}
        if not idfs:
            return []
        average_length = average_length or 1.0  # kept before the corpus had any passage
        alpha, beta = K1 * (1 - B), K1 * B / average_length
        shares: list[object] = []
        for word, idf in idfs.items():
            shares += [idf, alpha, beta, _quoted(word), alpha, beta]
        statement = _round_sql(len(idfs))
        ranked = sorted(idfs.items(), key=lambda item: (-item[1], item[0]))[:SET_TERMS]
        least = ranked[-1][1]
        worth = sum(idf for _, idf in ranked)  # the first round: passages with every word
        best: dict[int, float] = {}
        asked: list[tuple[str, ...]] = []
        kth = 0.0
        while True:
            sets = _smallest_sets(ranked, worth)
            if sets != asked:  # a lower worth can leave the sets as they were
                asked = sets
                cursor.execute(statement, [*shares, ids, _tsquery(sets), k])
                best.update((int(c), float(score)) for c, score in cursor.fetchall())
                top = sorted(best.values(), reverse=True)[:k]
                kth = top[-1] if len(top) == k else 0.0
            # Passages not asked yet hold words worth less than `worth` in all (the margin:
            # `worth` was set to kth / GAIN, and back again need not give kth to the last bit).
            if worth <= least or kth >= GAIN * worth * (1 - 1e-9):
                break
            worth = max(least, kth / GAIN if kth else worth / 2)
    hits = sorted(
        ((score, chunk_id) for chunk_id, score in best.items()), key=lambda h: (-h[0], h[1])
    )
    return hits[:k]


# How many passages of some collections hold a word, counted through the GIN index and kept
# per process for a minute per set of collections (as is the collections' passage count,
# under the empty word). Words are the vector's lexemes: a word tokenize would not give as
# it stands (a stop word, one letter, punctuation) is held by no passage, as in the embedded
# index.
PASSAGES_SQL = "SELECT count(*) FROM catalog_chunk WHERE collection_id = ANY(%s) AND NOT held_out"
WORD_COUNTS_SQL = """
SELECT t.w, (
    SELECT count(*) FROM catalog_chunk c
    WHERE c.collection_id = ANY(%s) AND c.search_tokens @@ CAST(t.q AS tsquery)
        AND NOT c.held_out
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
        terms = [w for w in words if _is_term(w)]
        known = _word_counts.get_many([(wanted, w) for w in terms])
        counts.update({word: count for (_, word), count in known.items()})
        missing = [w for w in terms if (wanted, w) not in known]
        if missing:
            cursor.execute(WORD_COUNTS_SQL, [ids, missing, [_quoted(w) for w in missing]])
            found = {word: int(count) for word, count in cursor.fetchall()}
            _word_counts.set_many({(wanted, w): c for w, c in found.items()})
            counts.update(found)
    return passages, counts
