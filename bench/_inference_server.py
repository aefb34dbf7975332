"""Serve a minimal, fast OpenAI-compatible chat completions endpoint for benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket

ANSWER_TEXT = (
    "Provenant pays providers by attribution weight [1]. Sponsored units are labelled [2]."
)

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER_TEXT},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138},
    }
).encode()

_MODELS = json.dumps(
    {"object": "list", "data": [{"id": "bench-model", "object": "model", "owned_by": "bench"}]}
).encode()


def _sse_body() -> bytes:
    """Return the SSE stream for the canned answer, one chunk per word, usage last."""
    chunks = []
    words = ANSWER_TEXT.split(" ")
    for index, word in enumerate(words):
        piece = word if index == 0 else " " + word
        chunks.append(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "model": "bench-model",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
        )
    chunks.append(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "model": "bench-model",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    chunks.append(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "model": "bench-model",
            "choices": [],
            "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138},
        }
    )
    lines = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


_JSON_RESPONSE = _response(b"200 OK", b"application/json", _COMPLETION)
_SSE_RESPONSE = _response(b"200 OK", b"text/event-stream", _sse_body())
_MODELS_RESPONSE = _response(b"200 OK", b"application/json", _MODELS)
_NOT_FOUND = _response(b"404 Not Found", b"application/json", b'{"error":"not found"}')


class _Protocol(asyncio.Protocol):
    """Parse pipelined HTTP/1.1 requests just enough to answer them; keep connections alive."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end]
            length = 0
            lowered = head.lower()
            marker = lowered.find(b"content-length:")
            if marker >= 0:
                line_end = lowered.find(b"\r\n", marker)
                line_end = len(lowered) if line_end < 0 else line_end
                length = int(lowered[marker + 15 : line_end].strip())
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            body = self.buffer[head_end + 4 : total]
            self.buffer = self.buffer[total:]
            assert self.transport is not None
            self.transport.write(self._answer(head, body))

    @staticmethod
    def _answer(head: bytes, body: bytes) -> bytes:
        if head.startswith(b"POST /v1/chat/completions"):
            if b'"stream": true' in body or b'"stream":true' in body:
                return _SSE_RESPONSE
            return _JSON_RESPONSE
        if head.startswith(b"GET /v1/models"):
            return _MODELS_RESPONSE
        return _NOT_FOUND


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(bound, flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Run the server; print the bound port on the first line of stdout."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
