"""Benchmark the ads auction over 10,000 active units: in process, with the Redis hold, and a
naive Python loop over the same units, side by side in one run.

Run (Redis on this machine; without it the Redis column is skipped):
  REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_auction.py --out var/auction.json
  .venv/bin/python bench/bench_auction.py --quick       # 2,000 auctions instead of 10,000

A synthetic snapshot (seeded): 10,000 units of 1,000 advertisers on 300 topics of made-up words
(title, body, hints, keywords), 70% CPM and 30% CPC bids, a few units paced, not approved or
blocked. Each auction asks a question of one topic with five retrieved passages (100 words,
half of them on topic). Per auction it times, separately:
  relevance      u of every unit to the question and passages (one sparse product)
  engine         run_auction over the 10,000 candidates (numpy, no loop over units)
  auction        relevance + engine: the in-process cost per question (target p99 <= 2 ms)
  with hold      auction + the winners' budget holds in Redis (target p99 <= 3 ms)
  naive loop     the same rule as a Python loop over plain objects (same u), and its ratio
Wall-clock percentiles include whatever else the machine runs; the CPU columns (this thread's
CPU time) do not, and are the figures to compare across loaded machines.
The naive loop's winners and prices must equal the engine's in every auction, or it exits 1.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from ads.services import auction  # noqa: E402
from ads.services.auction.candidates import EVENTS_PER_MILLE, Reason  # noqa: E402
from ads.services.auction.engine import CEIL_TOLERANCE  # noqa: E402

SYLLABLE_TEXT = (
    "ka lo mi ra te su no vi pa de ri zo ma lu be fo gi ha ne to ul ar en is or am ex "
    "ob ti ve ca du me sa ro li na pe"
)
SYLLABLES = tuple(SYLLABLE_TEXT.split())
TOPICS = 300
WORDS_PER_TOPIC = 40
PARAMS = auction.AuctionParams(
    slots=1,
    relevance_floor=0.08,
    reserve_micros=100.0,
    beta=1.0,
    floor_cpm_micros=100_000,
    floor_cpc_micros=10_000,
)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return (
        f"{os.cpu_count()} cores, {pages / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}; load average {load}"
    )


@dataclass(frozen=True)
class Snapshot:
    units: list[auction.UnitText]
    index: auction.UnitIndex
    candidates: auction.Candidates
    questions: list[tuple[str, list[str]]]


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        parts = rng.choice(len(SYLLABLES), size=int(rng.integers(2, 4)))
        words.add("".join(SYLLABLES[p] for p in parts))
    return sorted(words)


def build_snapshot(units: int = 10_000, questions: int = 200, seed: int = 7) -> Snapshot:
    """Return a seeded synthetic snapshot of `units` active units and some questions."""
    rng = np.random.default_rng(seed)
    vocabulary = _vocabulary(rng, 12_000)
    general = vocabulary[:2_000]
    topic_words = [
        [vocabulary[i] for i in rng.choice(range(2_000, len(vocabulary)), WORDS_PER_TOPIC)]
        for _ in range(TOPICS)
    ]

    def text(topic: int, words: int, on_topic: float) -> str:
        own = rng.random(words) < on_topic
        picked = [
            topic_words[topic][int(rng.integers(WORDS_PER_TOPIC))]
            if mine
            else general[min(int(rng.zipf(1.3)) - 1, len(general) - 1)]
            for mine in own
        ]
        return " ".join(picked)

    texts = []
    for unit_id in range(1, units + 1):
        topic = int(rng.integers(TOPICS))
        texts.append(
            auction.UnitText(
                unit_id=unit_id,
                title=text(topic, 6, 0.8),
                body=text(topic, 30, 0.6),
                hints=text(topic, 10, 0.9),
                keywords=tuple(text(topic, 1, 1.0) for _ in range(4)),
            )
        )
    cpc = rng.random(units) < 0.3
    bids = np.where(
        cpc, rng.integers(50_000, 2_000_000, units), rng.integers(500_000, 10_000_000, units)
    )
    reasons = rng.choice(
        [Reason.ELIGIBLE, Reason.NOT_APPROVED, Reason.BLOCKED], size=units, p=[0.95, 0.03, 0.02]
    )
    pacing = np.where(rng.random(units) < 0.05, 0.0, rng.uniform(0.2, 1.0, units))
    advertiser = rng.integers(1, 1_001, units)
    candidates = auction.Candidates(
        unit_id=np.arange(1, units + 1),
        campaign_id=advertiser * 10 + rng.integers(0, 3, units),
        advertiser_id=advertiser,
        bid_type=np.where(cpc, auction.BidType.CPC, auction.BidType.CPM),
        max_bid_micros=bids,
        est_ctr=np.where(cpc, rng.uniform(0.005, 0.05, units), 0.0),
        pacing=pacing,
        relevance=np.zeros(units),
        reasons=reasons,
    )
    asked = []
    for _ in range(questions):
        topic = int(rng.integers(TOPICS))
        asked.append((text(topic, 7, 0.7), [text(topic, 100, 0.5) for _ in range(5)]))
    return Snapshot(texts, auction.build_unit_index(texts), candidates, asked)


@dataclass
class PlainUnit:
    """One unit as a plain object, for the naive loop."""

    unit_id: int
    campaign_id: int
    advertiser_id: int
    bid_type: int
    max_bid_micros: int
    est_ctr: float
    pacing: float
    reason: int


def plain_units(candidates: auction.Candidates) -> list[PlainUnit]:
    c = candidates
    return [
        PlainUnit(*row)
        for row in zip(
            c.unit_id.tolist(),
            c.campaign_id.tolist(),
            c.advertiser_id.tolist(),
            c.bid_type.tolist(),
            c.max_bid_micros.tolist(),
            c.est_ctr.tolist(),
            c.pacing.tolist(),
            c.reasons.tolist(),
            strict=True,
        )
    ]


def naive_auction(
    units: list[PlainUnit], relevance: list[float], params: auction.AuctionParams
) -> tuple[list[tuple[int, int]], list[int]]:
    """Return [(unit id, price per event)] in slot order and each unit's reason: the rule as a
    loop over plain objects, one unit at a time (what an ORM loop over the units would do)."""
    reasons = []
    qualified = []
    for unit, u in zip(units, relevance, strict=True):
        rate = unit.est_ctr if unit.bid_type == auction.BidType.CPC else 1.0 / EVENTS_PER_MILLE
        weight = unit.pacing * rate * (u**params.beta if params.beta != 1.0 else u)
        score = unit.max_bid_micros * weight
        floor = (
            params.floor_cpc_micros
            if unit.bid_type == auction.BidType.CPC
            else params.floor_cpm_micros
        )
        if unit.reason != Reason.ELIGIBLE:
            reason = unit.reason
        elif unit.pacing <= 0.0:
            reason = Reason.PACED
        elif u < params.relevance_floor:
            reason = Reason.BELOW_FLOOR
        elif unit.max_bid_micros < floor:
            reason = Reason.BELOW_PRICE_FLOOR
        elif score < params.reserve_micros or score <= 0.0:
            reason = Reason.BELOW_RESERVE
        else:
            reason = Reason.OUTBID
            qualified.append((score, unit.unit_id, len(reasons), weight, floor, unit))
        reasons.append(int(reason))
    qualified.sort(key=lambda q: (-q[0], q[1]))
    ranked = []
    seen = set()
    for entry in qualified:
        if entry[5].advertiser_id not in seen:
            seen.add(entry[5].advertiser_id)
            ranked.append(entry)
    winners = []
    for slot, (_, _, position, weight, floor, unit) in enumerate(ranked[: params.slots]):
        following = ranked[slot + 1][0] if slot + 1 < len(ranked) else 0.0
        least = max(following, params.reserve_micros) / weight
        price = min(max(math.ceil(least * (1.0 - CEIL_TOLERANCE)), floor), unit.max_bid_micros)
        winners.append((unit.unit_id, price))
        reasons[position] = int(Reason.WON)
    return winners, reasons


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
    }


def _redis_store(url: str | None, snapshot: Snapshot):
    if not url:
        return None, None
    from redis import Redis

    client = Redis.from_url(url)
    prefix = f"bench:ads:{uuid.uuid4().hex[:8]}"
    store = auction.RedisBudgetStore(client, prefix=prefix)
    for campaign in np.unique(snapshot.candidates.campaign_id).tolist():
        store.set_limits(campaign, total_micros=10**15, daily_micros=10**15)
    return store, lambda: [client.delete(k) for k in client.scan_iter(f"{prefix}:*")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--auctions", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 auctions")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--naive-every", type=int, default=10, help="run the loop every Nth")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this path")
    args = parser.parse_args()
    auctions = 2_000 if args.quick else args.auctions
    params = auction.AuctionParams(**{**PARAMS.__dict__, "slots": args.slots})
    print(f"machine: {machine()}")
    started = time.perf_counter()
    snapshot = build_snapshot(args.units)
    print(
        f"snapshot: {len(snapshot.index):,} units, {len(snapshot.index.vocabulary):,} words, "
        f"{snapshot.index.postings.nnz:,} postings, built in {time.perf_counter() - started:.1f} s"
    )
    plain = plain_units(snapshot.candidates)
    store, cleanup = _redis_store(args.redis_url, snapshot)
    engine = auction.SecondPriceEngine()
    steps = ("relevance", "engine", "auction", "with hold", "naive loop")
    wall: dict[str, list[int]] = {k: [] for k in steps}
    cpu: dict[str, list[int]] = {k: [] for k in steps}
    mismatches = 0
    served = 0
    gc.collect()
    gc.freeze()

    def now() -> tuple[int, int]:
        return time.perf_counter_ns(), time.thread_time_ns()

    def record(step: str, start: tuple[int, int], end: tuple[int, int]) -> None:
        wall[step].append(end[0] - start[0])
        cpu[step].append(end[1] - start[1])

    try:
        for n in range(auctions + 200):
            question, sources = snapshot.questions[n % len(snapshot.questions)]
            warm = n >= 200
            t0 = now()
            u = auction.relevance(snapshot.index, question, sources)
            t1 = now()
            result = auction.run_auction(
                snapshot.candidates.with_relevance(u), params, engine=engine
            )
            t2 = now()
            served += len(result.winners) * warm
            if warm:
                record("relevance", t0, t1)
                record("engine", t1, t2)
                record("auction", t0, t2)
            if store is not None:
                t3 = now()
                u2 = auction.relevance(snapshot.index, question, sources)
                held = auction.run_and_reserve(
                    snapshot.candidates.with_relevance(u2), params, store=store, engine=engine
                )
                t4 = now()
                for reservation in held.reservations:
                    store.release(reservation)
                if warm:
                    record("with hold", t3, t4)
            if n % args.naive_every == 0:
                u_list = u.tolist()
                t5 = now()
                winners, reasons = naive_auction(plain, u_list, params)
                t6 = now()
                expected = list(
                    zip(result.unit_ids.tolist(), result.price_micros.tolist(), strict=True)
                )
                if winners != expected or reasons != result.reasons.tolist():
                    mismatches += 1
                if warm:
                    record("naive loop", t5, t6)
    finally:
        if cleanup is not None:
            cleanup()
    results = {
        name: {"wall": summary(wall[name]), "cpu": summary(cpu[name])}
        for name in steps
        if wall[name]
    }
    ratio = results["naive loop"]["cpu"]["p50_ms"] / results["engine"]["cpu"]["p50_ms"]
    print(
        f"\n{auctions:,} auctions ({args.slots} slot(s)), {served:,} winners; naive loop on "
        f"every {args.naive_every}th: {len(wall['naive loop']):,} auctions\n"
    )
    print("| step | p50 | p99 | max | CPU p50 | CPU p99 |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        w, c = r["wall"], r["cpu"]
        print(
            f"| {name} | {w['p50_ms']:.3f} ms | {w['p99_ms']:.3f} ms | {w['max_ms']:.2f} ms "
            f"| {c['p50_ms']:.3f} ms | {c['p99_ms']:.3f} ms |"
        )
    print(
        f"\nnaive loop / engine (CPU p50): {ratio:.0f}x; the naive loop disagreed with the "
        f"engine in {mismatches} auctions\nmachine at the end: {machine()}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "units": args.units,
                    "auctions": auctions,
                    "slots": args.slots,
                    "results": results,
                    "naive_over_engine_p50": ratio,
                    "mismatches": mismatches,
                },
                indent=2,
            )
        )
    if mismatches:
        sys.exit(f"the naive loop and the engine disagreed in {mismatches} auctions")


if __name__ == "__main__":
    main()
