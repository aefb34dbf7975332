"""This process's inference clients, one per configuration.

A client is process state rather than a cached result: its connection pool, its concurrency
slots (INFERENCE_MAX_CONCURRENCY) and its circuit breaker must last as long as the process, so
its cache never expires entries (a client replaced while answers are in flight would open a
second pool beside it, with fresh slots and a closed breaker). Keyed by process id too, so a
client made before a fork (gunicorn, Celery prefork) is never used by the children.
"""

import os
import threading

import inference_client
from core.cache import LocalCache

_clients: LocalCache[
    tuple[int, inference_client.InferenceConfig], inference_client.InferenceClient
] = LocalCache("marketplace.inference_clients", maxsize=8, ttl_s=None)
_create_lock = threading.Lock()


def shared_client(config: inference_client.InferenceConfig) -> inference_client.InferenceClient:
    """Return this process's client for `config`, creating it once."""
    key = (os.getpid(), config)
    client = _clients.get(key)
    if client is None:
        with _create_lock:  # one pool per config: never two clients made for one key
            client = _clients.get_or_compute(key, lambda: inference_client.InferenceClient(config))
    return client
