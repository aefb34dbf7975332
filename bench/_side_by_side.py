"""One setting off and on, side by side: what bench_wallet.py and bench_sponsored.py share.

Both build bench_answers.py's data set (one funded prepaid agent, its API key) in a database
of their own, keep the questions it answers on the embedded BM25 backend, and load gunicorn
with them in alternating windows (off, on, then on, off, ...), so load from anything else on
the machine falls on both alike; each window checks the metering (every answer received
metered once). They print answers/s, latency and CPU per answer of each mode, and the share
of answers/s kept with the setting on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import _answer_fixture as fixture_data
import _catalog_corpus as corpus
import bench_answers as ab


def side_by_side_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default=ab._server_url())
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--rounds", type=int, help="alternations of both modes (6; full 8)")
    parser.add_argument("--window", type=float, help="seconds per mode per round (8; full 15)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--client", default="auto", choices=("auto", "wrk", "python"))
    parser.add_argument("--keep", action="store_true")
    return parser


def side_by_side_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the arguments and fill in the data set's size and the windows, quick or full."""
    args = parser.parse_args()
    args.chunks = 5_000 if args.quick else 100_000
    args.agreements = 200 if args.quick else 1_000
    args.rounds = args.rounds or (6 if args.quick else 8)
    args.window = args.window or (8 if args.quick else 15)
    return args


@dataclass
class ModeTotal:
    requests: int = 0
    seconds: float = 0.0
    web_ms: float = 0.0  # CPU of every answer, added up
    db_ms: float = 0.0
    served: int = 0  # sponsored items

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class SideBySide:
    """bench_answers.py's data set (one funded prepaid agent, its key) and the questions it
    answers on BM25, loaded off and on in alternating windows."""

    args: argparse.Namespace
    env: dict
    fixture: Any  # bench_answers.Fixture
    usable: list[dict]

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.fixture.raw_key}",
            "Content-Type": "application/json",
        }

    def window(self, server, label: str, bodies: list[str], seconds: float, inspect: bool):
        """Load `server` with answers for `seconds`; check the metering when `inspect`."""
        before = ab._settled_counts(self.fixture.agent_id)
        run = ab.measure(
            server, label, ab.ANSWERS, method="POST", headers=self.headers, bodies=bodies,
            concurrency=self.args.concurrency, duration_s=seconds, inspect=inspect,
            client=self.args.client,
        )  # fmt: skip
        if inspect:
            ab.verify_metering(run, self.fixture.agent_id, before)
        return run

    def compare(
        self, window: Callable[..., tuple[Any, int]], *, detail: str, columns: tuple[str, str],
        kept_with: str, served: bool = False,
    ) -> tuple[dict[str, ModeTotal], int]:  # fmt: skip
        """Warm both modes up, run the rounds (off, on, then on, off, ...) and print a row per
        window, then each mode's totals and the answers/s kept; return the totals and how many
        windows failed (metering not exact, or items served with the setting off).

        `window(mode, seconds, inspect=True)` returns the run and the items it served."""
        args = self.args
        for mode in ("off", "on"):
            window(mode, 3, inspect=False)  # warm-up: snapshots, caches
        print(
            f"load: c={args.concurrency}, {args.rounds} rounds of {args.window:.0f} s per mode, "
            f"alternating; {self.fixture.chunks:,} chunks, {self.fixture.agreements:,} "
            f"agreements{detail}\n"
        )
        items = "| items served " if served else ""
        print(
            f"| round | {columns[0]} | answers/s | p50 | p99 "
            f"| CPU per answer (web + PostgreSQL) {items}| metering |"
        )
        print("|---" * (7 + served) + "|")
        totals = {mode: ModeTotal() for mode in ("off", "on")}
        failed = 0
        for n in range(args.rounds):
            for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
                run, count = window(mode, args.window)
                r = run.result
                failed += not run.check_ok or (mode == "off" and count > 0)
                total = totals[mode]
                total.requests += r.requests
                total.seconds += r.duration_s
                total.web_ms += run.web_cpu_ms * r.requests
                total.db_ms += run.db_cpu_ms * r.requests
                total.served += count
                print(
                    f"| {n + 1} | {mode} | {r.rate:,.1f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | "
                    f"{run.web_cpu_ms:.1f} + {run.db_cpu_ms:.1f} ms | "
                    + (f"{count:,} | " if served else "")
                    + f"{'exact' if run.check_ok else 'MISMATCH'} |"
                )
        fill = " fill |" if served else ""
        print(
            f"\n| {columns[1]} | answers/s (all rounds) | CPU per answer (web + PostgreSQL) |{fill}"
        )
        print("|---" * (3 + served) + "|")
        for mode, t in totals.items():
            n = max(1, t.requests)
            print(
                f"| {mode} | {t.rate:,.1f} | {t.web_ms / n:.2f} + {t.db_ms / n:.2f} ms |"
                + (f" {t.served / n:.0%} |" if served else "")
            )
        kept = totals["on"].rate / totals["off"].rate
        print(f"\nanswers/s kept with {kept_with}: {kept:.1%} (target >= 90%)")
        return totals, failed


@contextlib.contextmanager
def side_by_side(args: argparse.Namespace, **env: str) -> Iterator[SideBySide]:
    """Build bench_answers.py's data set in a database of its own, with `env` on top of its
    environment, and pick the questions it answers; drop both afterwards unless --keep."""
    corpus.require_corpus()
    ab.require_services(args.database_url, args.redis_url)
    ab.WORK_DIR.mkdir(exist_ok=True)
    database_url = ab.create_database(args.database_url, ab.DATABASE)
    shutil.rmtree(ab.WORK_DIR / "index", ignore_errors=True)
    full_env = {**ab.base_env(database_url=database_url, redis_url=args.redis_url), **env}
    ab.setup_django(full_env)
    print(f"machine: {corpus.machine()}")
    try:
        fixture = ab.prepare(args, full_env, database_url, None)
        requests = fixture_data.make_requests(200, fixture.agent_id, random.Random(11))
        usable = fixture_data.answerable(requests, fixture.agent_id, ["embedded"])
        yield SideBySide(args=args, env=full_env, fixture=fixture, usable=usable)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            ab.drop_database(args.database_url, ab.DATABASE)
            shutil.rmtree(ab.WORK_DIR / "index", ignore_errors=True)
