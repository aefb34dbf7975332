"""Benchmark the answer path with wallet holds off and on, side by side in one run.

Run (PostgreSQL and Redis on this machine, the python3.11-doc corpus installed):
  .venv/bin/python bench/bench_wallet.py --quick     # 5,000 chunks, 6 rounds of 2 x 8 s
  .venv/bin/python bench/bench_wallet.py             # 100,000 chunks, 8 rounds of 2 x 15 s

It builds bench_answers.py's data set (one prepaid agent, funded), starts two gunicorn servers
on the embedded BM25 backend, one with BILLING_WALLET_HOLDS off and one with it on, and loads
them in alternating windows (off, on, then on, off, ...), so load from anything else on the
machine falls on both alike. Each window checks the metering (every answer received metered
once). It prints answers/s, latency and CPU per answer of each mode, and the share of answers/s
kept with holds on (the target: at least 90%).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys

import _answer_fixture as fixture_data
import _catalog_corpus as corpus
import bench_answers as ab


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default=ab._server_url())
    parser.add_argument(
        "--redis-url", default=ab.os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--rounds", type=int, help="alternations of both modes (6; full 8)")
    parser.add_argument("--window", type=float, help="seconds per mode per round (8; full 15)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--client", default="auto", choices=("auto", "wrk", "python"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.chunks = 5_000 if args.quick else 100_000
    args.agreements = 200 if args.quick else 1_000
    args.rounds = args.rounds or (6 if args.quick else 8)
    args.window = args.window or (8 if args.quick else 15)
    return args


def main() -> None:
    args = parse_args()
    corpus.require_corpus()
    ab.require_services(args.database_url, args.redis_url)
    ab.WORK_DIR.mkdir(exist_ok=True)
    database_url = ab.create_database(args.database_url, ab.DATABASE)
    shutil.rmtree(ab.WORK_DIR / "index", ignore_errors=True)
    env = ab.base_env(database_url=database_url, redis_url=args.redis_url)
    ab.setup_django(env)
    print(f"machine: {corpus.machine()}")
    servers = {}
    failed = 0
    try:
        fixture = ab.prepare(args, env, database_url, None)
        requests = fixture_data.make_requests(200, fixture.agent_id, random.Random(11))
        usable = fixture_data.answerable(requests, fixture.agent_id, ["embedded"])
        bodies = [json.dumps(body, separators=(",", ":")) for body in usable]
        headers = {"Authorization": f"Bearer {fixture.raw_key}", "Content-Type": "application/json"}
        for mode in ("off", "on"):
            servers[mode] = ab.start_server(
                {
                    **env,
                    "RETRIEVAL_BACKEND": "embedded",
                    "BILLING_WALLET_HOLDS": "1" if mode == "on" else "0",
                },
                app="config.wsgi:application",
                workers=args.workers,
                worker_class="sync",
                threads=1,
                log=ab.WORK_DIR / f"gunicorn-wallet-{mode}.log",
            )

        def window(mode: str, seconds: float, inspect: bool = True):
            before = ab._settled_counts(fixture.agent_id)
            run = ab.measure(
                servers[mode], f"answers, holds {mode}", ab.ANSWERS, method="POST",
                headers=headers, bodies=bodies, concurrency=args.concurrency,
                duration_s=seconds, inspect=inspect, client=args.client,
            )  # fmt: skip
            if inspect:
                ab.verify_metering(run, fixture.agent_id, before)
            return run

        for mode in ("off", "on"):
            window(mode, 3, inspect=False)  # warm-up
        print(
            f"load: c={args.concurrency}, {args.rounds} rounds of {args.window:.0f} s per mode, "
            f"alternating; {fixture.chunks:,} chunks, {fixture.agreements:,} agreements\n"
        )
        print(
            "| round | mode | answers/s | p50 | p99 | CPU per answer (web + PostgreSQL) "
            "| metering |"
        )
        print("|---|---|---|---|---|---|---|")
        totals = {m: {"requests": 0, "seconds": 0.0, "web": 0.0, "db": 0.0} for m in servers}
        for n in range(args.rounds):
            for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
                run = window(mode, args.window)
                r = run.result
                failed += not run.check_ok
                total = totals[mode]
                total["requests"] += r.requests
                total["seconds"] += r.duration_s
                total["web"] += run.web_cpu_ms * r.requests
                total["db"] += run.db_cpu_ms * r.requests
                print(
                    f"| {n + 1} | {mode} | {r.rate:,.1f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | "
                    f"{run.web_cpu_ms:.1f} + {run.db_cpu_ms:.1f} ms | "
                    f"{'exact' if run.check_ok else 'MISMATCH'} |"
                )
        rates = {m: t["requests"] / t["seconds"] for m, t in totals.items()}
        print("\n| wallet holds | answers/s (all rounds) | CPU per answer (web + PostgreSQL) |")
        print("|---|---|---|")
        for mode, t in totals.items():
            n = max(1, t["requests"])
            print(f"| {mode} | {rates[mode]:,.1f} | {t['web'] / n:.2f} + {t['db'] / n:.2f} ms |")
        kept = rates["on"] / rates["off"]
        print(f"\nanswers/s kept with wallet holds on: {kept:.1%} (target >= 90%)")
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            ab.drop_database(args.database_url, ab.DATABASE)
            shutil.rmtree(ab.WORK_DIR / "index", ignore_errors=True)
    if failed:
        sys.exit(f"{failed} windows had metering mismatches")


if __name__ == "__main__":
    main()
