"""Benchmark inference_client: extractive latency and HTTP client overhead.

Run: .venv/bin/python bench/bench_inference.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, against this checkout

from inference_client import InferenceClient, InferenceConfig, Source  # noqa: E402
from inference_client.text import sentences  # noqa: E402

SERVER = ROOT / "bench" / "_inference_server.py"
_STOP = frozenset(
    ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be",
     "by", "this", "are", "from", "at", "or", "an", "which", "has", "its", "were", "their", "can",
     "also", "been", "more", "than", "into", "after", "most", "other", "over", "such", "these"]
)  # fmt: skip
_STOP_WORDS = sorted(_STOP)


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which the given fraction of values fall (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def synthetic_sources(rng: random.Random, *, count: int, words: int) -> list[Source]:
    """Return sources of plausible prose: sentences of 10-25 words over a 3,000-word vocabulary."""
    vocabulary = [f"w{rng.randrange(3000)}{chr(97 + rng.randrange(26))}" for _ in range(3000)]
    sources = []
    for index in range(count):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < words:
            length = rng.randint(10, 25)
            sentence = [
                rng.choice(_STOP_WORDS) if rng.random() < 0.4 else rng.choice(vocabulary)
                for _ in range(length)
            ]
            parts.append(" ".join(sentence).capitalize() + ".")
        sources.append(Source(id=f"s{index}", text=" ".join(parts), title=f"Source {index}"))
    return sources


def question_for(rng: random.Random, sources: list[Source]) -> str:
    """Return a question that shares a few words with two of the sources."""
    picked = []
    for source in rng.sample(sources, 2):
        words = [w for w in source.text.rstrip(".").split() if w.lower() not in _STOP]
        picked += rng.sample(words, 3)
    return "What is " + " ".join(picked) + "?"


def bench_extractive(iterations: int) -> dict[str, float]:
    """Time InferenceClient.answer on the extractive backend, 10 sources of ~300 words."""
    rng = random.Random(7)
    client = InferenceClient(InferenceConfig(backend="extractive"))
    # Distinct source sets so the sentence cache never helps ("cold"), then one set reused.
    cases = [synthetic_sources(rng, count=10, words=300) for _ in range(iterations)]
    questions = [question_for(rng, sources) for sources in cases]
    cold = []
    for sources, question in zip(cases, questions, strict=True):
        started = time.perf_counter()
        client.answer(question, sources)
        cold.append((time.perf_counter() - started) * 1000)
    warm = []
    for question in questions:
        started = time.perf_counter()
        client.answer(question, cases[0])
        warm.append((time.perf_counter() - started) * 1000)
    words = statistics.mean(len(s.text.split()) for s in cases[0])
    return {
        "words_per_source": words,
        "cold_p50_ms": percentile(cold, 0.50),
        "cold_p99_ms": percentile(cold, 0.99),
        "warm_p50_ms": percentile(warm, 0.50),
        "warm_p99_ms": percentile(warm, 0.99),
    }


def start_server() -> tuple[subprocess.Popen[str], int]:
    """Start the benchmark server in its own process; return it and its port."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def raw_request(port: int) -> bytes:
    """Return the bytes of the chat completion request the client sends."""
    body = b'{"model": "bench-model", "messages": [], "stream": false}'
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    ) % (port, len(body), body)


def _read_response(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)


def bench_server_alone(port: int, requests: int) -> list[float]:
    """Return per-request latencies (ms) of a bare socket client: the server's share."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = raw_request(port)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        sock.sendall(request)
        _read_response(sock)
        latencies.append((time.perf_counter() - started) * 1000)
    sock.close()
    return latencies


async def _server_throughput(port: int, concurrency: int, seconds: float) -> float:
    request = raw_request(port)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def bench_client_latency(client: InferenceClient, sources: list[Source], n: int) -> list[float]:
    """Return per-answer latencies (ms) of the full client path at concurrency 1."""
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        client.answer("How are providers paid?", sources)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def bench_client_throughput(
    call: Callable[[], object], *, concurrency: int, requests: int
) -> float:
    """Return completed calls per second with `concurrency` threads sharing one client."""
    remaining = [requests]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            call()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return requests / (time.perf_counter() - started)


def bench_http(quick: bool) -> dict[str, float]:
    """Measure the openai backend's overhead against the local benchmark server."""
    # Start from the heap a fresh web process has: the extractive run above filled the
    # sentence cache with thousands of distinct sources, and collecting that heap is a
    # separate cost (see docs/performance.md), not the HTTP client's.
    sentences.cache_clear()
    gc.collect()
    process, port = start_server()
    try:
        sources = [
            Source(id="pay", text="Provenant pays providers by attribution weight, monthly."),
            Source(id="ads", text="Sponsored units are labelled and never cited as sources."),
        ]
        config = InferenceConfig(
            backend="openai",
            base_url=f"http://127.0.0.1:{port}/v1",
            model="bench-model",
            max_concurrency=64,
        )
        latency_n = 500 if quick else 3000
        throughput_n = 2000 if quick else 10000
        bench_server_alone(port, 200)  # warm up
        server = bench_server_alone(port, latency_n)
        server_rps = asyncio.run(_server_throughput(port, 64, 1.0 if quick else 3.0))
        with InferenceClient(config) as client:
            bench_client_latency(client, sources, 200)  # warm up the pool
            latencies = bench_client_latency(client, sources, latency_n)
            stream_latencies = []
            for _ in range(latency_n // 5):
                started = time.perf_counter()
                for _event in client.stream_answer("How are providers paid?", sources):
                    pass
                stream_latencies.append((time.perf_counter() - started) * 1000)
            rps = bench_client_throughput(
                lambda: client.answer("How are providers paid?", sources),
                concurrency=64,
                requests=throughput_n,
            )
    finally:
        process.terminate()
        process.wait()
    return {
        "server_alone_p50_ms": percentile(server, 0.50),
        "server_alone_p99_ms": percentile(server, 0.99),
        "server_alone_rps_c64": server_rps,
        "client_p50_ms": percentile(latencies, 0.50),
        "client_p99_ms": percentile(latencies, 0.99),
        "added_p50_ms": percentile(latencies, 0.50) - percentile(server, 0.50),
        "added_p99_ms": percentile(latencies, 0.99) - percentile(server, 0.99),
        "stream_p50_ms": percentile(stream_latencies, 0.50),
        "stream_p99_ms": percentile(stream_latencies, 0.99),
        "client_rps_c64": rps,
    }


def machine() -> str:
    """Return a one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    extractive = bench_extractive(200 if args.quick else 1000)
    print(
        "extractive, 10 sources x {words_per_source:.0f} words: "
        "cold p50 {cold_p50_ms:.2f} ms, p99 {cold_p99_ms:.2f} ms (target p99 <= 20 ms); "
        "warm p50 {warm_p50_ms:.2f} ms, p99 {warm_p99_ms:.2f} ms".format(**extractive)
    )
    http = bench_http(args.quick)
    print(
        "server alone: p50 {server_alone_p50_ms:.3f} ms, p99 {server_alone_p99_ms:.3f} ms, "
        "{server_alone_rps_c64:.0f} req/s at concurrency 64".format(**http)
    )
    print(
        "client, concurrency 1: p50 {client_p50_ms:.3f} ms, p99 {client_p99_ms:.3f} ms; "
        "added p50 {added_p50_ms:.3f} ms, added p99 {added_p99_ms:.3f} ms (target <= 2 ms)".format(
            **http
        )
    )
    print(
        "client, streaming: p50 {stream_p50_ms:.3f} ms, p99 {stream_p99_ms:.3f} ms".format(**http)
    )
    print(
        "client, concurrency 64: {client_rps_c64:.0f} answers/s (target >= 1,000/s)".format(**http)
    )


if __name__ == "__main__":
    main()
