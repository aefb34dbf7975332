"""Pooled HTTP connections with a per-process cap on requests in flight."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from inference_client.errors import InferenceUnavailable

# httpcore's pool re-scans every connection for every connection on each request and
# response (quadratic); with 64 keep-alive connections that scan costs more than the request.
# Shards of 8 connections keep it small while still allowing max_concurrency in flight.
SHARD_SIZE = 8


class ConnectionPool:
    """Keep-alive connections split over small httpx transports; one slot per request."""

    def __init__(self, *, max_concurrency: int, shard_size: int = SHARD_SIZE) -> None:
        sizes = [shard_size] * (max_concurrency // shard_size)
        if max_concurrency % shard_size:
            sizes.append(max_concurrency % shard_size)
        self.transports = [
            httpx.HTTPTransport(
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                retries=0,  # retries are ours: they respect the deadline and the first token
            )
            for size in sizes
        ]
        # A LIFO of free slots, each naming its shard: the most recently used (warm)
        # connections are reused first, and a slot always has a connection free in its shard.
        self._free: queue.LifoQueue[int] = queue.LifoQueue()
        for index, size in reversed(list(enumerate(sizes))):
            for _ in range(size):
                self._free.put(index)

    @contextmanager
    def slot(self, deadline: float) -> Iterator[httpx.HTTPTransport]:
        """Hold a slot until the block ends; wait for one at most until the deadline."""
        try:
            index = self._free.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise InferenceUnavailable(
                "every inference slot stayed busy until the deadline", reason="saturated"
            ) from None
        try:
            yield self.transports[index]
        finally:
            self._free.put(index)

    def close(self) -> None:
        """Close every connection."""
        for transport in self.transports:
            transport.close()
