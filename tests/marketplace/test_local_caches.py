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

    def __init__(self, corpus: tuple[int, int], frequencies: dict) -> None:
        self.corpus, self.frequencies, self.asked = corpus, frequencies, []
        self._row: tuple = ()

    def execute(self, sql, params=None):
        if sql == postgres.CORPUS_SQL:
            self.asked.append("corpus")
            self._row = self.corpus
        else:
            assert sql == "SELECT " + ", ".join([postgres.FREQUENCY_SQL] * len(params))
            words = [p.strip("'") for p in params]
            self.asked.append(words)
            self._row = tuple(self.frequencies.get(w, 0) for w in words)

    def fetchone(self):
        return self._row


def _on_clock(monkeypatch, module, attribute: str) -> Clock:
    clock = Clock()
    real = getattr(module, attribute)
    swapped = LocalCache(f"test.{real.name}", maxsize=real.maxsize, ttl_s=real.ttl_s, timer=clock)
    monkeypatch.setattr(module, attribute, swapped)
    return clock


def test_the_corpus_statistics_are_read_every_ten_minutes(monkeypatch):
    clock = _on_clock(monkeypatch, postgres, "_corpus")
    cursor = FakeCursor((40, 1000), {})

    assert postgres._corpus_statistics(cursor) == (40, 25.0)
    cursor.corpus = (50, 1500)
    clock.now += 599
    assert postgres._corpus_statistics(cursor) == (40, 25.0)
    clock.now += 1
    assert postgres._corpus_statistics(cursor) == (50, 30.0)
    assert cursor.asked == ["corpus", "corpus"]


def test_a_words_passage_count_is_made_once_in_ten_minutes(monkeypatch):
    clock = _on_clock(monkeypatch, postgres, "_frequencies")
    cursor = FakeCursor((0, 0), {"tides": 7, "moon": 3})

    assert postgres._document_frequencies(cursor, ["tides", "quokka"]) == {"tides": 7, "quokka": 0}
    assert postgres._document_frequencies(cursor, ["moon", "tides"]) == {"moon": 3, "tides": 7}
    clock.now += 599
    cursor.frequencies["tides"] = 9
    assert postgres._document_frequencies(cursor, ["tides"]) == {"tides": 7}
    clock.now += 1
    assert postgres._document_frequencies(cursor, ["tides", "moon"]) == {"tides": 9, "moon": 3}
    assert cursor.asked == [["tides", "quokka"], ["moon"], ["tides", "moon"]]


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
