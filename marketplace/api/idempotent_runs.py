"""Idempotent runs of agent requests: one response per Idempotency-Key, replayed to retries,
whether it is JSON or a stream of server-sent events."""

import json
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from core.api.errors import error_body
from marketplace import errors
from marketplace.services import answers, idempotency

IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retry with the same key returns the first response, metered once.",
)


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def sse_response(events: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they are written
    return response


Result = TypeVar("Result")


class IdempotentRun:
    """Run a request once per `Idempotency-Key`, replaying the stored response to retries."""

    def __init__(self, request, *, organization_id, endpoint: str, payload, prefix: str = "ans"):
        self.organization_id = organization_id
        self.endpoint = endpoint
        self.key = request.headers.get("Idempotency-Key")
        self.replay = None
        self.stored = False
        if self.key is None:
            self.request_id = answers.new_request_id(prefix)
            return
        self.key = idempotency.clean_key(self.key)
        digest = idempotency.fingerprint(payload)
        self.request_id = idempotency.request_id_for(
            organization_id=organization_id,
            endpoint=endpoint,
            key=self.key,
            digest=digest,
            prefix=prefix,
        )
        self.replay = idempotency.claim(
            organization_id=organization_id,
            endpoint=endpoint,
            key=self.key,
            digest=digest,
            request_id=self.request_id,
        )

    def complete(self, status: int, body: dict) -> None:
        if self.key is not None:
            idempotency.complete(
                organization_id=self.organization_id,
                endpoint=self.endpoint,
                key=self.key,
                status=status,
                body=body,
            )

    def deliver(self, to_body: Callable[[Result], dict]) -> Callable[[Result], dict]:
        """Return a function making the response body of a result and storing it for retries,
        in the caller's database transaction: the one that meters the result
        (`answers.deliver_answer`), so that the two commit together or not at all."""

        def store(result: Result) -> dict:
            body = to_body(result)
            self.complete(200, body)
            self.stored = True
            return body

        return store

    def release(self) -> None:
        if self.key is not None:
            idempotency.release(
                organization_id=self.organization_id,
                endpoint=self.endpoint,
                key=self.key,
                request_id=self.request_id,
            )

    def run(self, produce: Callable[[str], dict]) -> Response:
        """Return the stored response, or produce, store and return a new one."""
        if self.replay is not None:
            return Response(
                self.replay.body,
                status=self.replay.status,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            body = produce(self.request_id)
        except BaseException:
            self.release()
            raise
        if not self.stored:
            self.complete(200, body)
        return Response(body)

    def stream(
        self, events: Iterator[tuple[str, dict]], *, replay: Callable[[dict], Iterator[bytes]]
    ) -> StreamingHttpResponse:
        """Stream server-sent events; the final event's body is what retries replay."""
        if self.replay is not None:
            response = sse_response(replay(self.replay.body))
            response["Idempotent-Replayed"] = "true"
            return response

        def generate() -> Iterator[bytes]:
            finished = False
            try:
                for name, data in events:
                    if name == "final":
                        self.complete(200, data)
                        finished = True
                        continue
                    yield _sse(name, data)
            except errors.DomainError as exc:
                yield _sse("error", error_body(exc.code, exc.message, exc.details))
            finally:
                if not finished:
                    self.release()

        return sse_response(generate())
