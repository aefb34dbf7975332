"""Benchmark rating: metered usage events into ledger transactions, exactly once.

Run against PostgreSQL (the figures in docs/performance.md):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/provenant \
  .venv/bin/python bench/bench_rating.py [--quick] [--events N]
Without DATABASE_URL it runs on SQLite. It works in a throw-away test database.

It meters answers of 10 sources each from several agents over per-use and revenue-share
offers of many providers (one agent in five declares its answers' revenue), then times
`billing.rate_usage` over all of them, a second pass over the same events (re-rating: nothing
may be written), and `billing.check_ledger`.
"""

import argparse
import os
import platform
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
from billing import services as billing  # noqa: E402
from billing.models import Entry, Transaction  # noqa: E402
from catalog.models import Collection  # noqa: E402
from licensing import services as licensing  # noqa: E402
from licensing.models import UsageEvent  # noqa: E402

SOURCES = 10


def _actor(org, scope):
    return accounts.actor_for_api_key(
        api_key_id=uuid.uuid4(), organization_id=org.id, scopes=[scope]
    )


def seed(providers: int, agents: int):
    """Each provider publishes a per-use and a revenue-share offer; every agent accepts all."""
    agent_orgs = [
        Organization.objects.create(name=f"Agent {n}", slug=f"bench-a{n}", is_agent=True)
        for n in range(agents)
    ]
    offers = []
    for n in range(providers):
        provider = Organization.objects.create(
            name=f"Provider {n}", slug=f"bench-p{n}", is_provider=True
        )
        actor = _actor(provider, accounts.LICENSING)
        for kind in ("use", "revenue_share"):
            collection = Collection.objects.create(organization=provider, name=f"{kind} {n}")
            terms = (
                {"payment_type": "use", "price_micros": 1000 + n, "price_unit": "retrieved_source"}
                if kind == "use"
                else {"payment_type": "revenue_share", "revenue_share_bps": 2000}
            )
            offer = licensing.create_offer(
                actor=actor,
                name=f"{kind} {n}",
                terms=licensing.OfferTerms(
                    collection_ids=(collection.id,), usage_types=("ai-input",), **terms
                ),
            )
            offers.append(licensing.publish_offer(actor=actor, offer_id=offer.id))
    agreements = {
        agent.id: [
            licensing.accept_offer(actor=_actor(agent, accounts.LICENSING), offer_id=o.id)
            for o in offers
        ]
        for agent in agent_orgs
    }
    return agent_orgs, agreements


def meter(agent_orgs, agreements, answers: int) -> int:
    run = uuid.uuid4().hex[:8]
    records = []
    for a in range(answers):
        agent = agent_orgs[a % len(agent_orgs)]
        held = agreements[agent.id]
        chosen = [held[(a * SOURCES + i) % len(held)] for i in range(SOURCES)]
        records.append(
            licensing.UseRecord(
                request_id=f"{run}-{a}",
                agent_id=agent.id,
                usage_type="ai-input",
                revenue_micros=20_000 if a % 5 == 0 else None,
                sources=tuple(
                    licensing.SourceUse(
                        collection_id=g.offer.terms.collection_ids[0],
                        provider_id=g.offer.provider_id,
                        offer_version_id=g.offer.version_id,
                        agreement_id=g.id,
                        chunk_id=a * SOURCES + i,
                        tokens=200,
                        cited=True,
                        attribution_weight_ppm=1_000_000 // SOURCES,
                    )
                    for i, g in enumerate(chosen)
                ),
            )
        )
    for start in range(0, len(records), 1000):
        licensing.record_uses(records[start : start + 1000])
    return UsageEvent.objects.count()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument(
        "--python", action="store_true", help="rate in Python on PostgreSQL too (not in SQL)"
    )
    args = parser.parse_args()
    events = args.events or (20_000 if args.quick else 200_000)
    old = setup_databases(verbosity=0, interactive=False)
    try:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, database {connection.vendor}, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        t0 = time.perf_counter()
        agent_orgs, agreements = seed(providers=50, agents=10)
        for agent in agent_orgs[:5]:  # half the agents draw on a wallet first
            billing.grant_credit(
                organization_id=agent.id, amount_micros=50_000_000, idempotency_key=str(agent.id)
            )
        metered = meter(agent_orgs, agreements, events // SOURCES)
        print(
            f"seeded 100 offers, {sum(map(len, agreements.values()))} agreements and metered "
            f"{metered:,} usage events in {time.perf_counter() - t0:.1f} s"
        )
        started = time.perf_counter()
        run = billing.rate_usage(set_based=not args.python)
        first_s = time.perf_counter() - started
        entries = Entry.objects.count()
        print(
            f"rating: {run.events:,} events read, {run.written:,} transactions "
            f"({entries:,} entries) in {first_s:.2f} s = {run.events / first_s:,.0f} events/s "
            f"(target >= 20,000; load average {os.getloadavg()[0]:.1f})"
        )
        started = time.perf_counter()
        again = billing.rate_usage(from_id=0)
        second_s = time.perf_counter() - started
        print(
            f"re-rating all: {again.events:,} events, {again.already_rated:,} already rated, "
            f"{again.written} written, in {second_s:.2f} s; entries "
            f"{entries:,} -> {Entry.objects.count():,}"
        )
        started = time.perf_counter()
        report = billing.check_ledger()
        print(
            f"billing_check: {'OK' if report.ok else report.problems} over "
            f"{Transaction.objects.count():,} transactions in {time.perf_counter() - started:.2f} s"
        )
        assert report.ok and again.written == 0 and Entry.objects.count() == entries
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
