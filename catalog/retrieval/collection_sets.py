"""A set of collections as the embedded index uses it: sorted names, 64-bit keys, a digest."""

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from core.cache import LocalCache


@functools.lru_cache(maxsize=100_000)
def collection_key(collection_id: str) -> int:
    """Return the collection's 64-bit key: numbers are what Tantivy reads back from a hit."""
    digest = hashlib.blake2b(collection_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class CollectionSet:
    names: list[str]  # sorted
    name_set: frozenset[str]
    keys: frozenset[int]  # collection_key of each
    digest: bytes  # stands for the set in cache keys: hashing and comparing it is cheap


# An agent's entitlements arrive as the same frozenset of a thousand ids answer after answer;
# turning them into names, keys and a digest once per set (not per search and per word count)
# spares each answer thousands of conversions and set comparisons. A frozenset never changes,
# so an entry never goes stale; the TTL is the entitlement cache's.
_sets: LocalCache[frozenset[object], CollectionSet] = LocalCache(
    "catalog.embedded_collection_sets", maxsize=64, ttl_s=60.0
)


def collection_set(collection_ids: Iterable) -> CollectionSet:
    given = collection_ids if isinstance(collection_ids, frozenset) else frozenset(collection_ids)
    found = _sets.get(given)
    if found is None:
        names = sorted({str(c) for c in given})
        digest = hashlib.blake2b("\n".join(names).encode(), digest_size=16).digest()
        found = CollectionSet(
            names, frozenset(names), frozenset(collection_key(c) for c in names), digest
        )
        _sets.set(given, found)
    return found
