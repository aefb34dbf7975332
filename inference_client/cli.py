"""Command line: ``python -m inference_client ask "question" --source a.txt --source b.md``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from inference_client.client import InferenceClient
from inference_client.config import InferenceConfig
from inference_client.errors import InferenceError
from inference_client.types import Answer, AnswerComplete, Source, TextDelta


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = InferenceConfig.from_env()
        overrides = {
            name: value
            for name, value in (
                ("backend", args.backend),
                ("base_url", args.base_url),
                ("model", args.model),
                ("timeout_s", args.timeout_s),
            )
            if value is not None
        }
        if args.base_url and not args.backend:
            overrides["backend"] = "openai"
        config = config.with_overrides(**overrides) if overrides else config
        if args.command == "health":
            with InferenceClient(config) as client:
                health = client.health()
            print(json.dumps(dataclasses.asdict(health), indent=2))
            return 0 if health.ok else 1
        sources = [_load_source(Path(path)) for path in args.source]
        with InferenceClient(config) as client:
            if args.stream and not args.json:
                answer, streamed = None, False
                for event in client.stream_answer(args.question, sources):
                    if isinstance(event, TextDelta):
                        print(event.text, end="", flush=True)
                        streamed = True
                    elif isinstance(event, AnswerComplete):
                        answer = event.answer
                assert answer is not None
                print("" if streamed else answer.text)
                print(_details(answer))
                return 0
            answer = client.answer(args.question, sources, max_tokens=args.max_tokens)
    except (InferenceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dataclasses.asdict(answer), indent=2, ensure_ascii=False))
    else:
        print(answer.text)
        print(_details(answer))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference_client")
    parser.add_argument("--backend", choices=["extractive", "openai"])
    parser.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://gpu:8000/v1")
    parser.add_argument("--model")
    parser.add_argument("--timeout-s", type=float)
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer a question from source files")
    ask.add_argument("question")
    ask.add_argument("--source", action="append", default=[], help="a text or markdown file")
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    commands.add_parser("health", help="check that the configured backend can serve")
    return parser


def _load_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    title = path.stem
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return Source(id=str(path), text=text, title=title, url=path.resolve().as_uri())


def _details(answer: Answer) -> str:
    lines = ["", "Citations:"]
    for citation in answer.citations:
        quote = " ".join(citation.cited_text.split())
        lines.append(f"  [{citation.number}] {citation.title}: {quote[:160]}")
    for dropped in answer.dropped_citations:
        lines.append(f"  dropped [{dropped.number}]: {dropped.reason}")
    lines.append("Attribution:")
    for weight in answer.attribution.sources:
        lines.append(f"  {weight.weight * 100:6.2f}%  {weight.source_id}")
    lines.append(f"  {answer.attribution.unattributed * 100:6.2f}%  (unattributed)")
    usage = answer.usage
    served = usage.backend
    if answer.metadata.fallback_reason:
        served += f" (fallback: {answer.metadata.fallback_reason})"
    lines.append(
        f"Served by {served}, model {usage.model}, {usage.prompt_tokens}+"
        f"{usage.completion_tokens} tokens, {usage.latency_ms:.1f} ms"
    )
    for item in answer.sponsored:
        lines.append(f"{item.label}: {item.title} - {item.text} {item.url}".rstrip())
    return "\n".join(lines)
