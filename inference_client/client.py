"""The inference client: grounded answers with citations, attribution and fallback."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from inference_client.attribution import attribute
from inference_client.backends.base import Backend, Completion, CompletionRequest
from inference_client.backends.extractive import ExtractiveBackend
from inference_client.breaker import CircuitBreaker
from inference_client.citations import cite
from inference_client.config import InferenceConfig
from inference_client.errors import InferenceProtocolError, InferenceUnavailable, InvalidRequest
from inference_client.rarity import TermWeights
from inference_client.types import (
    Answer,
    AnswerComplete,
    AnswerMetadata,
    CorpusStatistics,
    Health,
    Source,
    Sponsored,
    StreamEvent,
    TextDelta,
    Usage,
)

# Client errors (4xx other than 429) and local saturation say nothing about the server's health.
_NOT_BREAKER_FAILURES = frozenset({"saturated"})


class InferenceClient:
    """Answer questions from licensed sources with citations and attribution weights."""

    def __init__(
        self,
        config: InferenceConfig | None = None,
        *,
        backend: Backend | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``clock`` (seconds, monotonic) times the circuit breaker's cooldown."""
        self.config = config or InferenceConfig()
        self._extractive = ExtractiveBackend()
        self._backend: Backend = backend or self._make_backend(self.config)
        self.breaker = CircuitBreaker(
            failure_threshold=self.config.breaker_failure_threshold,
            cooldown_s=self.config.breaker_cooldown_s,
            clock=clock,
        )

    @staticmethod
    def _make_backend(config: InferenceConfig) -> Backend:
        if config.backend == "openai":
            # Imported here so the embedded default never loads the HTTP stack.
            from inference_client.backends.openai import OpenAIBackend

            return OpenAIBackend(config)
        return ExtractiveBackend()

    @property
    def backend_name(self) -> str:
        """Return the name of the configured backend."""
        return self._backend.name

    def answer(
        self,
        question: str,
        sources: Sequence[Source],
        *,
        sponsored: Sequence[Sponsored] = (),
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        statistics: CorpusStatistics | None = None,
    ) -> Answer:
        """Return a grounded answer to the question, citing the sources by [n].

        ``statistics`` are the word statistics of the index the sources come from: the
        embedded writer and attribution weigh words by them (by nothing, without them).
        """
        started = time.perf_counter()
        request = self._request(
            question, sources, sponsored, max_tokens, response_format, statistics
        )
        completion, served_by, fallback_reason = self._complete(request)
        return self._finish(request, completion, served_by, fallback_reason, sponsored, started)

    def stream_answer(
        self,
        question: str,
        sources: Sequence[Source],
        *,
        sponsored: Sequence[Sponsored] = (),
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        statistics: CorpusStatistics | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """Yield text deltas as the backend produces them, then the finished answer."""
        started = time.perf_counter()
        request = self._request(
            question, sources, sponsored, max_tokens, response_format, statistics
        )
        backend, fallback_reason = self._backend, None
        if backend.name != "extractive" and not self.breaker.allow():
            backend, fallback_reason = self._fallback_or_raise("circuit_open", None)
        yielded = False
        try:
            for item in backend.stream(request):
                if isinstance(item, Completion):
                    if backend is self._backend:
                        self.breaker.record_success()
                    yield AnswerComplete(
                        self._finish(
                            request, item, backend.name, fallback_reason, sponsored, started
                        )
                    )
                    return
                yielded = True
                yield TextDelta(item)
        except (InferenceUnavailable, InferenceProtocolError) as exc:
            if backend is not self._backend:
                raise
            self._record_failure(exc.reason)
            if yielded:
                raise  # text already reached the caller: a fallback would contradict it
            fallback, reason = self._fallback_or_raise(exc.reason, exc)
            completion = fallback.complete(request)
            yield TextDelta(completion.text)
            yield AnswerComplete(
                self._finish(request, completion, fallback.name, reason, sponsored, started)
            )

    def health(self) -> Health:
        """Return whether the configured backend can serve answers now."""
        return self._backend.health()

    def close(self) -> None:
        """Release the backend's connections."""
        self._backend.close()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self,
        question: str,
        sources: Sequence[Source],
        sponsored: Sequence[Sponsored],
        max_tokens: int | None,
        response_format: Mapping[str, Any] | None,
        statistics: CorpusStatistics | None = None,
    ) -> CompletionRequest:
        if not isinstance(question, str) or not question.strip():
            raise InvalidRequest("the question is empty")
        sources = tuple(sources)
        for source in sources:
            if not isinstance(source, Source):
                raise InvalidRequest(f"sources must be Source values, not {type(source).__name__}")
        ids = [source.id for source in sources]
        if len(set(ids)) != len(ids):
            raise InvalidRequest("source ids must be unique within one request")
        for item in sponsored:
            if not isinstance(item, Sponsored):
                raise InvalidRequest("sponsored items must be Sponsored values")
        if max_tokens is not None and max_tokens < 1:
            raise InvalidRequest("max_tokens must be at least 1")
        return CompletionRequest(
            question=question,
            sources=sources,
            max_tokens=max_tokens or self.config.max_tokens,
            temperature=self.config.temperature,
            response_format=response_format,
            statistics=statistics,
        )

    def _complete(self, request: CompletionRequest) -> tuple[Completion, str, str | None]:
        backend = self._backend
        if backend.name == "extractive":
            return backend.complete(request), backend.name, None
        if not self.breaker.allow():
            fallback, reason = self._fallback_or_raise("circuit_open", None)
            return replace(fallback.complete(request), attempts=0), fallback.name, reason
        try:
            completion = backend.complete(request)
        except (InferenceUnavailable, InferenceProtocolError) as exc:
            self._record_failure(exc.reason)
            fallback, reason = self._fallback_or_raise(exc.reason, exc)
            # attempts keeps counting the requests made to the configured backend.
            completion = replace(fallback.complete(request), attempts=exc.attempts)
            return completion, fallback.name, reason
        self.breaker.record_success()
        return completion, backend.name, None

    def _record_failure(self, reason: str) -> None:
        client_side = reason.startswith("http_4") and reason != "http_429"
        if client_side or reason in _NOT_BREAKER_FAILURES:
            return
        self.breaker.record_failure()

    def _fallback_or_raise(
        self, reason: str, exc: InferenceUnavailable | InferenceProtocolError | None
    ) -> tuple[Backend, str]:
        if not self.config.fallback_to_extractive:
            if exc is not None:
                raise exc
            raise InferenceUnavailable(
                "the inference server is failing; the circuit is open", reason=reason
            )
        return self._extractive, reason

    def _finish(
        self,
        request: CompletionRequest,
        completion: Completion,
        served_by: str,
        fallback_reason: str | None,
        sponsored: Sequence[Sponsored],
        started: float,
    ) -> Answer:
        if completion.citations is None:
            text, citations, dropped = cite(completion.text, sources=request.sources)
        else:
            text, citations, dropped = completion.text, completion.citations, ()
        return Answer(
            text=text,
            citations=citations,
            attribution=attribute(
                text=text,
                sources=request.sources,
                citations=citations,
                weights=TermWeights(request.statistics),
            ),
            usage=Usage(
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                latency_ms=(time.perf_counter() - started) * 1000,
                backend=served_by,
                model=completion.model,
                tokens_estimated=completion.tokens_estimated,
            ),
            metadata=AnswerMetadata(
                requested_backend=self.config.backend,
                served_by=served_by,
                fallback_reason=fallback_reason,
                finish_reason=completion.finish_reason,
                attempts=completion.attempts,
            ),
            dropped_citations=dropped,
            # Sponsored units pass through untouched: the model never sees them.
            sponsored=tuple(sponsored),
        )


_shared: dict[tuple[int, InferenceConfig], InferenceClient] = {}
_shared_lock = threading.Lock()


def shared_client(config: InferenceConfig | None = None) -> InferenceClient:
    """Return this process's client for the config (one connection pool per process).

    Keyed by process id so that a client created before a fork (gunicorn, Celery prefork)
    is never shared with the children's sockets.
    """
    config = config or InferenceConfig.from_env()
    key = (os.getpid(), config)
    client = _shared.get(key)
    if client is None:
        with _shared_lock:
            client = _shared.get(key)
            if client is None:
                client = _shared[key] = InferenceClient(config)
    return client
