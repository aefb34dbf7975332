"""Word statistics of the search index: how many passages hold a word, in some collections.

The answer writer and attribution weigh words by their rarity in the whole index searched
(the agent's licensed collections), never in the few passages of one answer, where a provider
could change how rare a word looks by adding it to its own text. A passage counts as soon as
it is searchable, so a new upload is weighed on the same statistics as the rest at once.
"""

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from catalog.retrieval import postgres
from catalog.services.retrieval import _clean_collection_ids, embedded_index, search_backend


@dataclass(frozen=True)
class WordStatistics:
    """How many passages some collections hold, and a way to count those holding words."""

    collection_ids: frozenset[uuid.UUID]
    passages: int

    def passages_with(self, words: Collection[str]) -> dict[str, int]:
        """Return how many passages of the collections hold each (lower-cased) word."""
        return _count(list(dict.fromkeys(w.lower() for w in words)), self.collection_ids)[1]


def word_statistics(*, collection_ids: Iterable[uuid.UUID | str]) -> WordStatistics:
    """Return the word statistics of these collections' searchable passages."""
    wanted = _clean_collection_ids(collection_ids)
    passages, _ = _count([], wanted)
    return WordStatistics(collection_ids=wanted, passages=passages)


def _count(words: list[str], collection_ids: frozenset[uuid.UUID]) -> tuple[int, dict[str, int]]:
    if not collection_ids:
        return 0, dict.fromkeys(words, 0)
    if search_backend() == "postgres":
        return postgres.word_statistics(words, collection_ids)
    return embedded_index().word_statistics(words, collection_ids)
