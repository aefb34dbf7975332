"""A circuit breaker that stops calling a failing backend for a while."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Open after consecutive failures; after a cooldown let one trial request through."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        """Return ``closed``, ``open`` or ``half_open``."""
        with self._lock:
            if self._opened_at is None:
                return CLOSED
            if self._clock() - self._opened_at >= self._cooldown_s:
                return HALF_OPEN
            return OPEN

    def allow(self) -> bool:
        """Return whether a request may go to the backend now."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at < self._cooldown_s or self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def record_success(self) -> None:
        """Close the circuit: the backend answered."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """Count a failure; open (or re-open) the circuit at the threshold or on a failed trial."""
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self._threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False
