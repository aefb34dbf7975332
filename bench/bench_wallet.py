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

import json
import sys

import _side_by_side as sbs
import bench_answers as ab


def main() -> None:
    args = sbs.side_by_side_args(sbs.side_by_side_parser(__doc__.splitlines()[0]))
    servers = {}
    with sbs.side_by_side(args) as side:
        try:
            bodies = [json.dumps(body, separators=(",", ":")) for body in side.usable]
            for mode in ("off", "on"):
                servers[mode] = ab.start_server(
                    {
                        **side.env,
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
                label = f"answers, holds {mode}"
                return side.window(servers[mode], label, bodies, seconds, inspect), 0

            _, failed = side.compare(
                window, detail="", columns=("mode", "wallet holds"), kept_with="wallet holds on"
            )
        finally:
            for server in servers.values():
                server.stop()
    if failed:
        sys.exit(f"{failed} windows had metering mismatches")


if __name__ == "__main__":
    main()
