"""Benchmark licensing: warm entitlement checks and batched, exactly-once usage metering.

Run against PostgreSQL and Redis (the figures in docs/performance.md):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/provenant \
  REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_licensing.py [--quick]
Without DATABASE_URL it runs on SQLite. It works in a throw-away test database.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import Organization  # noqa: E402
from catalog.models import Collection  # noqa: E402
from licensing import services  # noqa: E402
from licensing.models import UsageEvent  # noqa: E402
from licensing.services.cache import clear_local  # noqa: E402


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def seed(agreements: int):
    provider = Organization.objects.create(name="Bench provider", slug="bench-p", is_provider=True)
    agent = Organization.objects.create(name="Bench agent", slug="bench-a", is_agent=True)
    collections = Collection.objects.bulk_create(
        [Collection(organization=provider, name=f"c{n}") for n in range(agreements)]
    )
    as_provider, as_agent = (
        accounts.actor_for_api_key(
            api_key_id=uuid.uuid4(), organization_id=org.id, scopes=[accounts.LICENSING]
        )
        for org in (provider, agent)
    )
    for n, collection in enumerate(collections):
        offer = services.create_offer(
            actor=as_provider,
            name=f"offer {n}",
            terms=services.OfferTerms(
                collection_ids=(collection.id,),
                usage_types=("ai-input",),
                payment_type="use",
                price_micros=1000 + n,
                price_unit="retrieved_source",
            ),
        )
        services.publish_offer(actor=as_provider, offer_id=offer.id)
        services.accept_offer(actor=as_agent, offer_id=offer.id)
    return provider, agent


def bench_entitlements(agent, checks: int):
    clear_local()
    started = time.perf_counter()
    cold = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    cold_ms = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(checks):
        t0 = time.perf_counter()
        ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
        timings.append((time.perf_counter() - t0) * 1000)
    assert len(ent.terms) == len(cold.terms)
    return len(cold.terms), cold_ms, timings


def bench_metering(agent, *, answers: int, sources: int, batch_answers: int):
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    terms = ent.terms
    run = uuid.uuid4().hex[:8]
    records = []
    for a in range(answers):
        chosen = [terms[(a * sources + i) % len(terms)] for i in range(sources)]
        records.append(
            services.UseRecord(
                request_id=f"{run}-{a}",
                agent_id=agent.id,
                usage_type="ai-input",
                sources=tuple(
                    services.SourceUse(
                        collection_id=t.collection_id,
                        provider_id=t.provider_id,
                        offer_version_id=t.offer_version_id,
                        agreement_id=t.agreement_id,
                        chunk_id=a * sources + i,
                        tokens=200,
                        cited=True,
                        attribution_weight_ppm=1_000_000 // sources,
                    )
                    for i, t in enumerate(chosen)
                ),
            )
        )
    batches = [records[i : i + batch_answers] for i in range(0, len(records), batch_answers)]
    before = UsageEvent.objects.count()
    started = time.perf_counter()
    for batch in batches:
        services.record_uses(batch)
    first_s = time.perf_counter() - started
    after_first = UsageEvent.objects.count()
    started = time.perf_counter()
    duplicates = 0
    for batch in batches:
        duplicates += len(services.record_uses(batch).duplicates)
    second_s = time.perf_counter() - started
    after_second = UsageEvent.objects.count()
    return {
        "events": after_first - before,
        "first_s": first_s,
        "second_s": second_s,
        "duplicates": duplicates,
        "doubled": after_second - after_first,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    agreements = 200 if args.quick else 1000
    answers = 2000 if args.quick else 20_000
    old = setup_databases(verbosity=0, interactive=False)
    try:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, database {connection.vendor}, cache "
            f"{'redis' if os.environ.get('REDIS_URL') else 'local memory'}"
        )
        t0 = time.perf_counter()
        _provider, agent = seed(agreements)
        print(f"seeded {agreements} offers and agreements in {time.perf_counter() - t0:.1f} s")
        count, cold_ms, warm = bench_entitlements(agent, 20_000 if not args.quick else 2000)
        print(
            f"entitlements ({count} agreements): cold {cold_ms:.1f} ms; warm p50 "
            f"{statistics.median(warm) * 1000:.0f} us, p99 {percentile(warm, 0.99) * 1000:.0f} us"
            f" (target p99 <= 1 ms)"
        )
        result = bench_metering(agent, answers=answers, sources=10, batch_answers=1000)
        rate = result["events"] / result["first_s"]
        print(
            f"metering: {result['events']} events from {answers} answers in "
            f"{result['first_s']:.2f} s = {rate:,.0f} events/s (target >= 20,000); "
            f"same batches again: {result['duplicates']} duplicates skipped in "
            f"{result['second_s']:.2f} s, {result['doubled']} events added"
        )
        assert result["events"] == answers * 10 and result["doubled"] == 0
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
