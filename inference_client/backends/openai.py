"""Talk to any OpenAI-compatible chat completions server (vLLM, SGLang, llama.cpp, Ollama)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NoReturn

import httpx

from inference_client.backends.base import Completion, CompletionRequest
from inference_client.backends.pool import ConnectionPool
from inference_client.backends.sse import chunk_delta, events, parse_chunk
from inference_client.config import InferenceConfig
from inference_client.errors import InferenceProtocolError, InferenceUnavailable
from inference_client.prompt import build_messages
from inference_client.text import estimate_tokens
from inference_client.types import Health

_MAX_ERROR_BODY_BYTES = 4096


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class OpenAIBackend:
    """Chat completions over one pooled HTTP client, capped, timed out, retried."""

    name = "openai"

    def __init__(self, config: InferenceConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self._base_url = config.base_url.rstrip("/")
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if config.api_key:
            self._headers["authorization"] = f"Bearer {config.api_key}"
        self._pool = ConnectionPool(max_concurrency=config.max_concurrency)
        self._http = httpx.Client(
            transport=self._pool.transports[0],
            timeout=self._timeout(config.timeout_s),
            trust_env=False,
        )
        self._completions_url = httpx.URL(f"{self._base_url}/chat/completions")
        self._rng = rng or random.Random()
        self._model = config.model
        self._model_lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        """Return the whole completion, retrying transient failures within the deadline."""
        deadline = time.monotonic() + self.config.timeout_s
        payload = self._payload(request, stream=False)
        attempt = 0
        while True:
            attempt += 1
            try:
                body = self._post(payload, deadline)
            except _Retryable as exc:
                self._pause_or_fail(exc, attempt, deadline)
                continue
            except InferenceProtocolError as exc:
                exc.attempts = attempt
                raise
            except InferenceUnavailable as exc:
                exc.attempts = attempt
                raise
            completion = _completion_from_json(body, request, attempt)
            # Some servers (llama.cpp, older Ollama) omit the model name in answers.
            return completion if completion.model else replace(completion, model=self._model)

    def stream(self, request: CompletionRequest) -> Iterator[str | Completion]:
        """Yield content deltas over SSE, then the completion; retry only before any token."""
        deadline = time.monotonic() + self.config.timeout_s
        payload = self._payload(request, stream=True)
        attempt = 0
        while True:
            attempt += 1
            started = False
            try:
                parts: list[str] = []
                usage: dict[str, Any] = {}
                model = self._model
                finish_reason = "stop"
                for chunk in self._stream_chunks(payload, deadline):
                    content, finish = chunk_delta(chunk)
                    model = chunk.get("model") or model
                    if isinstance(chunk.get("usage"), dict):
                        usage = chunk["usage"]
                    if finish:
                        finish_reason = finish
                    if content:
                        started = True
                        parts.append(content)
                        yield content
                text = "".join(parts)
                yield _completion(text, model, usage, request, finish_reason, attempt)
                return
            except _Retryable as exc:
                if started:
                    raise InferenceUnavailable(
                        f"stream interrupted after the first token: {exc.reason}",
                        reason="stream_interrupted",
                        attempts=attempt,
                    ) from exc
                self._pause_or_fail(exc, attempt, deadline)
            except (InferenceUnavailable, InferenceProtocolError) as exc:
                exc.attempts = attempt
                raise

    def health(self) -> Health:
        """Return whether ``/models`` answers and lists the configured model."""
        started = time.perf_counter()
        try:
            models = self._list_models(timeout_s=min(self.config.timeout_s, 5.0))
        except (httpx.HTTPError, InferenceProtocolError) as exc:
            return Health(
                ok=False,
                backend=self.name,
                models=(),
                latency_ms=(time.perf_counter() - started) * 1000,
                detail=f"{type(exc).__name__}: {exc}",
            )
        latency_ms = (time.perf_counter() - started) * 1000
        if self.config.model and self.config.model not in models:
            detail = f"model {self.config.model!r} is not served; the server has {list(models)}"
            return Health(False, self.name, models, latency_ms, detail)
        if not models:
            return Health(False, self.name, models, latency_ms, "the server serves no model")
        return Health(True, self.name, models, latency_ms)

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.close()

    def _timeout(self, remaining_s: float) -> httpx.Timeout:
        config = self.config
        remaining_s = max(remaining_s, 0.001)
        return httpx.Timeout(
            connect=min(config.connect_timeout_s, remaining_s),
            read=min(config.effective_read_timeout_s, remaining_s),
            write=min(config.connect_timeout_s, remaining_s),
            pool=remaining_s,
        )

    def _payload(self, request: CompletionRequest, *, stream: bool) -> bytes:
        payload: dict[str, Any] = {
            "model": self._resolve_model(),
            "messages": build_messages(request.question, request.sources),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": stream,
        }
        if stream:
            payload["stream_options"] = {"include_usage": True}
        if request.response_format is not None:
            payload["response_format"] = dict(request.response_format)
        return json.dumps(payload).encode()

    def _resolve_model(self) -> str:
        """Return the configured model, or the one the server serves when none is configured."""
        if self._model:
            return self._model
        with self._model_lock:
            if not self._model:
                try:
                    models = self._list_models(timeout_s=min(self.config.timeout_s, 5.0))
                except httpx.HTTPError as exc:
                    raise InferenceUnavailable(
                        f"cannot list the server's models: {exc}", reason="connection_error"
                    ) from exc
                if not models:
                    raise InferenceProtocolError("the server serves no model", reason="no_model")
                self._model = models[0]
        return self._model

    def _list_models(self, *, timeout_s: float) -> tuple[str, ...]:
        response = self._http.get(
            f"{self._base_url}/models", headers=self._headers, timeout=self._timeout(timeout_s)
        )
        response.raise_for_status()
        try:
            data = response.json()["data"]
            return tuple(str(item["id"]) for item in data)
        except (ValueError, KeyError, TypeError) as exc:
            raise InferenceProtocolError("/models did not return a model list") from exc

    def _post(self, payload: bytes, deadline: float) -> bytes:
        """Send one request under the concurrency cap; return the body of a 2xx answer."""
        with self._pool.slot(deadline) as transport, _translated_errors():
            response = self._send(transport, payload, self._headers, deadline)
            try:
                _check_status(response)
                return _read_body(response, deadline)
            finally:
                response.close()

    def _stream_chunks(self, payload: bytes, deadline: float) -> Iterator[dict[str, Any]]:
        with self._pool.slot(deadline) as transport, _translated_errors():
            headers = {**self._headers, "accept": "text/event-stream"}
            response = self._send(transport, payload, headers, deadline)
            try:
                _check_status(response)
                for data in events(_lines_until(response, deadline)):
                    yield parse_chunk(data)
            finally:
                response.close()

    def _send(
        self,
        transport: httpx.HTTPTransport,
        payload: bytes,
        headers: dict[str, str],
        deadline: float,
    ) -> httpx.Response:
        """Send a completion request straight to the pooled transport; return it unread.

        The hot path skips the client's auth, cookie and redirect handling, which a JSON API
        call does not need and which cost about a third of the per-request CPU.
        """
        remaining = max(deadline - time.monotonic(), 0.001)
        config = self.config
        timeout = {
            "connect": min(config.connect_timeout_s, remaining),
            "read": min(config.effective_read_timeout_s, remaining),
            "write": min(config.connect_timeout_s, remaining),
            "pool": remaining,
        }
        request = httpx.Request(
            "POST",
            self._completions_url,
            headers=headers,
            content=payload,
            extensions={"timeout": timeout},
        )
        return transport.handle_request(request)

    def _pause_or_fail(self, exc: _Retryable, attempt: int, deadline: float) -> None:
        """Sleep a jittered backoff before the next attempt, or raise when out of attempts."""
        remaining = deadline - time.monotonic()
        if attempt > self.config.max_retries or remaining <= 0:
            _give_up(exc, attempt)
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        delay = self._rng.uniform(0, ceiling)  # full jitter: spread retries of many clients
        if exc.retry_after_s is not None:
            delay = max(delay, min(exc.retry_after_s, self.config.backoff_max_s))
        if delay >= remaining:
            _give_up(exc, attempt)
        time.sleep(delay)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn httpx errors into retryable failures or final ones; never leak httpx types."""
    try:
        yield
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        # Not retried: the server is up but slow, and asking again only adds to its load.
        raise InferenceUnavailable("the server did not answer in time", reason="timeout") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise _Retryable("connection_error") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise _Retryable("connection_error") from exc
    except httpx.HTTPError as exc:
        raise InferenceUnavailable(f"HTTP failure: {exc}", reason="http_error") from exc


def _give_up(exc: _Retryable, attempts: int) -> NoReturn:
    raise InferenceUnavailable(
        f"gave up after {attempts} attempt(s): {exc.reason}", reason=exc.reason, attempts=attempts
    ) from exc


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = response.read()[:_MAX_ERROR_BODY_BYTES].decode("utf-8", "replace")
    if status == 429 or status >= 500:
        raise _Retryable(f"http_{status}", _retry_after_s(response.headers.get("retry-after")))
    raise InferenceUnavailable(
        f"the server refused the request with HTTP {status}: {detail[:200]}",
        reason=f"http_{status}",
    )


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _read_body(response: httpx.Response, deadline: float) -> bytes:
    chunks = []
    # Requests ask for no compression, so the raw body is the body; decode only if a server
    # compresses anyway.
    encoded = "content-encoding" in response.headers
    for chunk in response.iter_bytes() if encoded else response.iter_raw():
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise InferenceUnavailable("the answer took longer than the timeout", reason="timeout")
    return b"".join(chunks)


def _lines_until(response: httpx.Response, deadline: float) -> Iterator[str]:
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            raise InferenceUnavailable("the stream took longer than the timeout", reason="timeout")
        yield line


def _completion_from_json(body: bytes, request: CompletionRequest, attempts: int) -> Completion:
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InferenceProtocolError(
            f"not a chat completion: {body[:120]!r}", attempts=attempts
        ) from exc
    if not isinstance(text, str):
        raise InferenceProtocolError("the completion has no text content", attempts=attempts)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return _completion(
        text, str(data.get("model") or ""), usage, request, choice.get("finish_reason"), attempts
    )


def _completion(
    text: str,
    model: str,
    usage: dict[str, Any],
    request: CompletionRequest,
    finish_reason: str | None,
    attempts: int,
) -> Completion:
    prompt_tokens = usage.get("prompt_tokens")
    completion_tokens = usage.get("completion_tokens")
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        estimated = False
    else:
        # Servers without usage reporting still get metered, on an estimate that says so.
        estimated = True
        prompt_tokens = estimate_tokens(request.question) + sum(
            estimate_tokens(s.text) for s in request.sources
        )
        completion_tokens = estimate_tokens(text)
    return Completion(
        text=text,
        model=model,
        prompt_tokens=int(prompt_tokens),
        completion_tokens=int(completion_tokens),
        finish_reason=finish_reason or "stop",
        attempts=attempts,
        tokens_estimated=estimated,
    )
