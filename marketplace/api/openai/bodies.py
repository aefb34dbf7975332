"""Chat completion bodies and stream chunks built from a metered answer."""

import logging
from collections.abc import Iterator

from core.api.errors import error_body
from marketplace import errors
from marketplace.api.answer_bodies import answer_body
from marketplace.api.idempotent_runs import IdempotentRun
from marketplace.api.openai.errors import _data, _stream_error
from marketplace.api.openai.requests import FINISH_REASONS, MODEL_ID
from marketplace.services import answers

logger = logging.getLogger("provenant.api")

# -- output -----------------------------------------------------------------------------------


DONE = b"data: [DONE]\n\n"


def _annotations(result: answers.AnswerResult) -> list[dict]:
    return [
        {
            "type": "url_citation",
            "url_citation": {
                "start_index": c.answer_start,
                "end_index": c.answer_end,
                "url": c.url,
                "title": c.title,
            },
        }
        for c in result.citations
    ]


def _usage(result: answers.AnswerResult) -> dict:
    prompt = result.usage.prompt_tokens if result.usage else 0
    completion = result.usage.completion_tokens if result.usage else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_body(result: answers.AnswerResult) -> dict:
    """Return a `chat.completion` for an answer, with Provenant's answer JSON in `provenant`."""
    finish = result.metadata.finish_reason if result.metadata else "stop"
    return {
        "id": result.id,
        "object": "chat.completion",
        "created": int(result.created_at.timestamp()),
        "model": MODEL_ID,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": result.text,
                    "refusal": None,
                    "annotations": _annotations(result),
                },
                "logprobs": None,
                "finish_reason": finish if finish in FINISH_REASONS else "stop",
            }
        ],
        "usage": _usage(result),
        "provenant": answer_body(result),
    }


class Chunks:
    """Build the `chat.completion.chunk` events of one completion."""

    def __init__(self, *, completion_id: str, created: int, include_usage: bool):
        self.base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "system_fingerprint": None,
        }
        self.include_usage = include_usage

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body = {**self.base, "choices": [choice], **extra}
        if self.include_usage:
            body["usage"] = None
        return _data(body)

    def opening(self) -> bytes:
        return self.chunk({"role": "assistant", "content": ""})

    def closing(self, completion: dict) -> Iterator[bytes]:
        """Yield the finishing chunk (annotations and `provenant`), the usage chunk, [DONE]."""
        choice = completion["choices"][0]
        yield self.chunk(
            {"annotations": choice["message"]["annotations"]},
            choice["finish_reason"],
            provenant=completion["provenant"],
        )
        if self.include_usage:
            yield _data({**self.base, "choices": [], "usage": completion["usage"]})
        yield DONE

    def replay(self, completion: dict) -> Iterator[bytes]:
        yield self.opening()
        yield self.chunk({"content": completion["choices"][0]["message"]["content"]})
        yield from self.closing(completion)


def _stream(
    run: IdempotentRun,
    plan: answers.AnswerPlan,
    chunks: Chunks,
    max_tokens,
    sponsored: answers.SponsoredRequest | None = None,
):
    finished, failure = False, None
    try:
        yield chunks.opening()
        for event in answers.stream_answer(plan, max_tokens=max_tokens, sponsored=sponsored):
            if isinstance(event, answers.StreamDelta):
                if event.text:
                    yield chunks.chunk({"content": event.text})
                continue
            completion = completion_body(event.result)
            run.complete(200, completion)
            finished = True
            yield from chunks.closing(completion)
    except errors.DomainError as exc:
        failure = _stream_error(error_body(exc.code, exc.message, exc.details), exc.status)
    except Exception:
        logger.exception("Streaming chat completion %s failed", plan.request_id)
        message = "Something went wrong on our side. It has been logged."
        failure = _stream_error(error_body("server_error", message), 500)
    finally:
        if not finished:
            run.release()  # before the error reaches the client, so its retry runs again
    if failure is not None:
        yield failure
