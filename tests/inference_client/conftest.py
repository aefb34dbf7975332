"""A real OpenAI-compatible HTTP server on 127.0.0.1 for the inference client tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from inference_client import Source

ANSWER_TEXT = "Paris is the capital of France [1]. The Seine flows through Paris [2]."


@dataclass
class Reply:
    """One scripted response: a JSON completion, an SSE stream, an error status or raw bytes."""

    kind: str = "json"  # json | sse | status | raw | sse_cut
    content: str = ANSWER_TEXT
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0  # a slow model: the pause before each streamed event


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops simultaneous connects, which the client would see as
    # connect timeouts; concurrency tests open many connections at once.
    request_queue_size = 128


class FakeOpenAIServer:
    """Serve chat completions and /v1/models; replies come from a script, then the default."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.models = ["test-model"]
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """Return the OpenAI-style base URL, ending in /v1."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies for the next chat completion requests, in order."""
        self.script.extend(replies)

    def next_reply(self) -> Reply:
        """Return the next scripted reply, or the default."""
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def enter(self) -> None:
        """Count a request in flight."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        """Count a request done."""
        with self._lock:
            self.in_flight -= 1

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def completion_json(content: str, model: str = "test-model") -> bytes:
    """Return a chat completion body with fixed usage."""
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138},
        }
    ).encode()


def sse_events(content: str, model: str = "test-model") -> list[bytes]:
    """Return SSE events streaming the content word by word, usage last, then [DONE]."""
    words = content.split(" ")
    chunks: list[dict[str, Any]] = [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
        }
    ]
    for index, word in enumerate(words):
        piece = word if index == 0 else " " + word
        chunks.append(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
        )
    chunks.append(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    chunks.append(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138},
        }
    )
    events = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
    return [b": keep-alive\n\n", *events, b"data: [DONE]\n\n"]


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_GET(self) -> None:
            if self.path != "/v1/models":
                self._send(404, b'{"error": "not found"}')
                return
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in server.models]
            self._send(200, json.dumps({"object": "list", "data": data}).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length))
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"error": "not found"}')
                return
            server.requests.append(body)
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            reply = server.next_reply()
            server.enter()
            try:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self._reply(reply, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                server.leave()

        def _reply(self, reply: Reply, body: dict[str, Any]) -> None:
            if reply.kind == "status":
                self._send(reply.status, reply.body or b'{"error": "busy"}', reply.headers)
            elif reply.kind == "raw":
                self._send(reply.status, reply.body, reply.headers)
            elif reply.kind in {"sse", "sse_cut"}:
                self._stream(
                    sse_events(reply.content),
                    cut=reply.kind == "sse_cut",
                    pace_s=reply.chunk_delay_s,
                )
            elif body.get("stream"):
                self._stream(sse_events(reply.content), cut=False, pace_s=reply.chunk_delay_s)
            else:
                self._send(200, completion_json(reply.content))

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, events: list[bytes], *, cut: bool, pace_s: float = 0.0) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            # A cut stream sends a few events, then drops the connection mid-body.
            for event in events[:4] if cut else events:
                if pace_s:
                    time.sleep(pace_s)
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            if cut:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")

    return Handler


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """Run a fake OpenAI-compatible server for one test."""
    server = FakeOpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def refused_url() -> str:
    """Return a base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


GEOGRAPHY = (
    Source(
        id="doc-paris",
        text="Paris is the capital of France. The city has about two million residents.",
        title="Paris",
        url="https://example.org/paris",
        owner_id="org-1",
        license_id="lic-1",
    ),
    Source(
        id="doc-seine",
        text="The Seine flows through Paris. The river is 777 kilometres long.",
        title="Seine",
        url="https://example.org/seine",
        owner_id="org-2",
        license_id="lic-2",
    ),
    Source(
        id="doc-bananas",
        text="Bananas are rich in potassium. They grow in tropical climates.",
        title="Bananas",
        owner_id="org-3",
        license_id="lic-3",
    ),
)


@pytest.fixture
def geography_sources() -> list[Source]:
    """Return three sources: two about Paris, one that has nothing to do with it."""
    return list(GEOGRAPHY)
