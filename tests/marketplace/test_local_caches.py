"""The hot path's process-local caches keep their TTLs and bounds (docs/caching.md).

Each cache is swapped for one on an injected clock, so expiry is tested without sleeping.
"""

import os
import threading
import uuid

import pytest

import inference_client
from catalog import errors
from catalog.retrieval import postgres
from catalog.services import retrieval
from core.cache import LocalCache
from marketplace.services import inference
from tests.marketplace.factories import CollectionFactory


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class FakeCursor:
    """Answers the two statements postgres.py caches, and records what it was asked."""

    def __init__(self, sizes: dict, lexicon: dict) -> None:
        self.sizes, self.lexicon, self.asked = sizes, lexicon, []
        self._rows: list = []

    def execute(self, sql, params=None):
        if sql == postgres.SIZES_SQL:
            self.asked.append("sizes")
            self._rows = list(self.sizes.items())
        else:
            assert sql == postgres.LEXEMES_SQL
            self.asked.append(list(params[0]))
            self._rows = [(w, self.lexicon.get(w, [])) for w in params[0]]

    def fetchall(self):
        return self._rows


def _on_clock(monkeypatch, module, attribute: str) -> Clock:
    clock = Clock()
    real = getattr(module, attribute)
    swapped = LocalCache(f"test.{real.name}", maxsize=real.maxsize, ttl_s=real.ttl_s, timer=clock)
    monkeypatch.setattr(module, attribute, swapped)
    return clock


def test_collection_sizes_are_read_every_five_minutes_and_after_ten_seconds_for_a_new_one(
    monkeypatch,
):
    clock = _on_clock(monkeypatch, postgres, "_sizes")
    cursor = FakeCursor({"a": 30, "b": 10}, {})

    assert postgres._share(cursor, ["a"]) == 0.75
    clock.now += 5
    assert postgres._share(cursor, ["c"]) == 0.0  # unknown, but read less than 10 s ago
    clock.now += 294
    assert postgres._share(cursor, ["b"]) == 0.25
    assert cursor.asked == ["sizes"]

    cursor.sizes["c"] = 60
    assert postgres._share(cursor, ["c"]) == 0.6  # unknown and read over 10 s ago: read again
    clock.now += 299
    assert postgres._share(cursor, ["a"]) == 0.3
    clock.now += 1
    cursor.sizes["a"] = 130
    assert postgres._share(cursor, ["a"]) == 0.65  # five minutes after the last read
    assert cursor.asked == ["sizes", "sizes", "sizes"]


def test_a_words_lexemes_are_asked_once_a_day(monkeypatch):
    clock = _on_clock(monkeypatch, postgres, "_lexemes")
    cursor = FakeCursor({}, {"tides": ["tide"], "moon": ["moon"], "the": []})

    assert postgres._terms(cursor, ["tides", "the"]) == ["'tide'"]
    assert postgres._terms(cursor, ["moon", "tides", "the"]) == ["'moon'", "'tide'"]
    clock.now += 86_399
    assert postgres._terms(cursor, ["tides"]) == ["'tide'"]
    clock.now += 1
    assert postgres._terms(cursor, ["tides", "moon"]) == ["'tide'", "'moon'"]
    assert cursor.asked == [["tides", "the"], ["moon"], ["tides", "moon"]]


@pytest.mark.django_db
def test_a_collections_provider_is_kept_a_minute_without_a_query(
    monkeypatch, django_assert_num_queries
):
    clock = _on_clock(monkeypatch, retrieval, "_providers")
    collection = CollectionFactory(organization__name="Northwind Press")
    provider = collection.organization

    with django_assert_num_queries(1):
        assert retrieval._providers_of({collection.id}) == {
            collection.id: (provider.id, "Northwind Press")
        }
    provider.name = "Northwind Media"
    provider.save(update_fields=["name"])
    clock.now += 59
    with django_assert_num_queries(0):
        assert retrieval._providers_of({collection.id})[collection.id][1] == "Northwind Press"
    clock.now += 1
    with django_assert_num_queries(1):
        assert retrieval._providers_of({collection.id})[collection.id][1] == "Northwind Media"


class _CountingSet(frozenset):
    iterations = 0

    def __iter__(self):
        type(self).iterations += 1
        return super().__iter__()


def test_a_clean_set_of_collection_ids_is_checked_once_and_others_are_converted():
    ids = _CountingSet({uuid.uuid4(), uuid.uuid4()})

    assert retrieval._clean_collection_ids(ids) is ids
    assert retrieval._clean_collection_ids(ids) is ids  # trusted: not looked through again
    assert _CountingSet.iterations == 1
    assert retrieval._clean_collection_ids([str(c) for c in ids]) == ids
    with pytest.raises(errors.ValidationFailed):
        retrieval._clean_collection_ids(frozenset({"not-a-uuid"}))


def test_one_inference_client_per_process_and_config_even_when_threads_race(monkeypatch):
    made = []

    class CountingClient(inference_client.InferenceClient):
        def __init__(self, config):
            made.append(config)
            super().__init__(config)

    monkeypatch.setattr(inference_client, "InferenceClient", CountingClient)
    config = inference_client.InferenceConfig(max_tokens=123)
    start = threading.Barrier(8)
    clients = []

    def ask():
        start.wait()
        clients.append(inference.shared_client(config))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(client) for client in clients}) == 1
    assert made == [config]
    assert inference.shared_client(inference_client.InferenceConfig(max_tokens=123)) is clients[0]
    other = inference.shared_client(inference_client.InferenceConfig(max_tokens=124))
    assert other is not clients[0]
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked child would see it
    assert inference.shared_client(config) is not clients[0]
    assert len(made) == 3
