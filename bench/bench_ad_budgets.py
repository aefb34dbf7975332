"""Benchmark budgets under concurrency: 8 processes x 10,000 auctions with Redis holds against
budgets that run out mid-test; every campaign that ran out spent its budget to the micro.

Run (Redis on this machine):
  REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_ad_budgets.py \
      --out var/ad-budgets.json
  .venv/bin/python bench/bench_ad_budgets.py --quick     # 8 x 2,000 auctions

bench_auction.py's snapshot (10,000 units) is built once; the processes are forked from it and
share one Redis. Every campaign gets a total budget of 1 to 50 USD (a third of them a daily
budget of half that), small enough that the winners' budgets run out mid-test and the next
units in line take their place. Each process runs `run_and_reserve` (auction, holds,
a re-run when a hold is refused), then settles each CPM hold (an impression) and, for CPC,
settles the hold with the unit's CTR as the chance of a click and releases it otherwise. A
process marks a campaign out of budget before its next auctions once a hold was refused.

Checked at the end, exactly: each campaign's spend in Redis equals what the processes settled
(their own tallies, added up), no campaign spent more than its budgets, every campaign that
had a hold refused spent min(total, daily) to the micro, and no hold is left open.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
from bench_auction import PARAMS, build_snapshot, machine, summary
from redis import Redis

from ads.services import auction
from ads.services.auction.candidates import Reason

START = time.time()  # one clock for every process: the run is on one UTC day


def budgets_for(campaigns: np.ndarray, seed: int) -> dict[int, tuple[int, int]]:
    rng = np.random.default_rng(seed)
    totals = rng.integers(1_000_000, 50_000_001, len(campaigns))
    halved = rng.random(len(campaigns)) < 1 / 3
    dailies = np.where(halved, totals // 2, totals)
    return {
        int(c): (int(t), int(d))
        for c, t, d in zip(campaigns.tolist(), totals.tolist(), dailies.tolist(), strict=True)
    }


def run_process(worker: int, args, snapshot, prefix: str, results) -> None:
    """Run this process's auctions; put its tallies on the queue."""
    store = auction.RedisBudgetStore(
        Redis.from_url(args.redis_url), prefix=prefix, clock=lambda: START
    )
    engine = auction.SecondPriceEngine()
    rng = np.random.default_rng(1_000 + worker)
    base = snapshot.candidates
    campaign_ids = base.campaign_id
    out: set[int] = set()
    out_mask = np.zeros(len(base), dtype=bool)
    settled: Counter[int] = Counter()
    wall, cpu = [], []
    served = refused_holds = rounds_over_one = 0
    first_refusal = None
    for n in range(args.auctions):
        question, sources = snapshot.questions[int(rng.integers(len(snapshot.questions)))]
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        u = auction.relevance(snapshot.index, question, sources)
        candidates = base.with_relevance(u)
        if out:
            reasons = base.reasons.copy()
            reasons[out_mask & (reasons == Reason.ELIGIBLE)] = Reason.OUT_OF_BUDGET
            candidates = candidates.with_reasons(reasons)
        held = auction.run_and_reserve(candidates, PARAMS, store=store, engine=engine)
        wall.append(time.perf_counter_ns() - t0)
        cpu.append(time.thread_time_ns() - c0)
        result = held.result
        rounds_over_one += held.rounds > 1
        newly_out = (result.reasons == Reason.OUT_OF_BUDGET) & ~out_mask
        if newly_out.any():
            refused_holds += len(np.unique(campaign_ids[newly_out]))
            first_refusal = n if first_refusal is None else first_refusal
            out.update(np.unique(campaign_ids[newly_out]).tolist())
            out_mask = np.isin(campaign_ids, list(out))
        for index, hold in zip(result.winners.tolist(), held.reservations, strict=True):
            served += 1
            clicked = rng.random() < base.est_ctr[index]
            if base.bid_type[index] == auction.BidType.CPM or clicked:
                store.settle(hold, spent_micros=hold.amount_micros)
                settled[int(hold.campaign_id)] += hold.amount_micros
            else:
                store.release(hold)
    results.put(
        {
            "worker": worker,
            "settled": dict(settled),
            "served": served,
            "refused": refused_holds,
            "refused_campaigns": sorted(out),
            "rerun": rounds_over_one,
            "first_refusal": first_refusal,
            "wall": wall,
            "cpu": cpu,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--auctions", type=int, default=10_000, help="per process")
    parser.add_argument("--quick", action="store_true", help="2,000 auctions per process")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--out", type=Path, help="write the results as JSON to this path")
    args = parser.parse_args()
    if not args.redis_url:
        sys.exit("needs Redis: set REDIS_URL or --redis-url")
    if args.quick:
        args.auctions = 2_000
    print(f"machine: {machine()}")
    snapshot = build_snapshot()
    campaigns = np.unique(snapshot.candidates.campaign_id)
    limits = budgets_for(campaigns, seed=5)
    client = Redis.from_url(args.redis_url)
    prefix = f"bench:ad-budgets:{uuid.uuid4().hex[:8]}"
    store = auction.RedisBudgetStore(client, prefix=prefix, clock=lambda: START)
    for campaign, (total, daily) in limits.items():
        store.set_limits(campaign, total_micros=total, daily_micros=daily)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=run_process, args=(w, args, snapshot, prefix, results))
        for w in range(args.processes)
    ]
    started = time.perf_counter()
    try:
        for w in workers:
            w.start()
        reports = [results.get(timeout=3_600) for _ in workers]
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        tallied: Counter[int] = Counter()
        for report in reports:
            tallied.update(report["settled"])
        refused = sum(r["refused"] for r in reports)
        refused_campaigns = {c for r in reports for c in r["refused_campaigns"]}
        over = mismatched = not_exact = open_holds = exhausted = 0
        for campaign, (total, daily) in limits.items():
            left = store.remaining(campaign)
            cap = min(total, daily)
            over += left.spent_micros > cap
            mismatched += left.spent_micros != tallied.get(campaign, 0)
            open_holds += left.reserved_micros != 0
            if left.micros == 0:
                exhausted += 1
                not_exact += left.spent_micros != cap
        spent = sum(store.remaining(c).spent_micros for c in limits)
        # A refused campaign can end with budget left: CPC holds in flight when it was refused
        # were released later (no click). Those are counted, not failed.
        refused_with_left = sum(store.remaining(c).micros > 0 for c in refused_campaigns)
        budget_of_exhausted = sum(
            min(t, d) for c, (t, d) in limits.items() if store.remaining(c).micros == 0
        )
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    total_auctions = args.processes * args.auctions
    served = sum(r["served"] for r in reports)
    firsts = [r["first_refusal"] for r in reports if r["first_refusal"] is not None]
    wall = summary([x for r in reports for x in r["wall"]])
    cpu = summary([x for r in reports for x in r["cpu"]])
    print(
        f"\n{args.processes} processes x {args.auctions:,} auctions = {total_auctions:,} in "
        f"{elapsed:.1f} s ({total_auctions / elapsed:,.0f} auctions/s); {served:,} units served"
    )
    print(
        f"campaigns: {len(limits):,}; out of budget by the end: {exhausted:,} "
        f"(holds refused {refused:,} times; a process's first refusal after its auction "
        f"{min(firsts) if firsts else '-'} to {max(firsts) if firsts else '-'}); auctions re-run "
        "after a refusal: "
        f"{sum(r['rerun'] for r in reports):,}; refused campaigns with budget freed later by "
        f"released CPC holds: {refused_with_left}"
    )
    print(
        f"spent {spent:,} micros in all; the exhausted campaigns' budgets: "
        f"{budget_of_exhausted:,} micros"
    )
    print(
        f"checks: over budget {over}, Redis != processes' tallies {mismatched}, exhausted but not "
        f"spent to the micro {not_exact}, holds left open {open_holds}"
    )
    print(
        f"auction + holds per auction, 8 processes on {os.cpu_count()} cores: "
        f"p50 {wall['p50_ms']:.2f} ms, p99 {wall['p99_ms']:.2f} ms wall; "
        f"CPU p50 {cpu['p50_ms']:.2f} ms, p99 {cpu['p99_ms']:.2f} ms"
    )
    print(f"machine at the end: {machine()}")
    failed = over + mismatched + not_exact + open_holds
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "processes": args.processes,
                    "auctions_per_process": args.auctions,
                    "seconds": elapsed,
                    "served": served,
                    "campaigns": len(limits),
                    "exhausted": exhausted,
                    "spent_micros": spent,
                    "over_budget": over,
                    "tally_mismatches": mismatched,
                    "exhausted_not_exact": not_exact,
                    "open_holds": open_holds,
                    "latency_wall": wall,
                    "latency_cpu": cpu,
                },
                indent=2,
            )
        )
    if failed:
        sys.exit(f"{failed} budget checks failed")


if __name__ == "__main__":
    main()
