"""Read OpenAI-style server-sent events: chat completion chunks ending in ``[DONE]``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from inference_client.errors import InferenceProtocolError

DONE = "[DONE]"


def events(lines: Iterable[str]) -> Iterator[str]:
    """Yield the data of each event; ``[DONE]`` ends the stream."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                payload = "\n".join(data)
                data = []
                if payload == DONE:
                    return
                yield payload
            continue
        if line.startswith(":"):
            continue  # a comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        payload = "\n".join(data)
        if payload != DONE:
            yield payload


def parse_chunk(payload: str) -> dict[str, Any]:
    """Return one chunk as a dict, or raise when the server sent an error or garbage."""
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise InferenceProtocolError(f"stream chunk is not JSON: {payload[:80]!r}") from exc
    if not isinstance(chunk, dict):
        raise InferenceProtocolError("stream chunk is not a JSON object")
    if "error" in chunk:
        raise InferenceProtocolError(
            f"server reported an error mid-stream: {chunk['error']!r:.200}", reason="stream_error"
        )
    return chunk


def chunk_delta(chunk: dict[str, Any]) -> tuple[str, str | None]:
    """Return the content delta and finish reason of the first choice of a chunk."""
    choices = chunk.get("choices") or []
    if not isinstance(choices, list) or not choices:
        return "", None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise InferenceProtocolError("stream choice is not an object")
    delta = choice.get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    if content is not None and not isinstance(content, str):
        raise InferenceProtocolError("stream delta content is not a string")
    return content or "", choice.get("finish_reason")
