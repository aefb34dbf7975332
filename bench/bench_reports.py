"""Benchmark billing's reports over a month of usage (PostgreSQL).

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/provenant \
  .venv/bin/python bench/bench_reports.py [--events N] [--sample N]

It builds the ledger of `bench_statements.py` in a throw-away test database (1,000,000 usage
events by default: answers of 10 sources from 100 agents over the offers of 200 providers,
across one month and a day on either side, rated the way rating writes them), then times, for
a sample of providers and agents, each report over that month as the REST API serves it:
a provider's earnings by day, document and agent, an agent's costs by day and provider, and
the platform's revenue by day and kind. It checks that each provider's earnings by day add up
to its statement's payable credits.
"""

import argparse
import os
import platform
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_statements as built
from django.db import connection
from django.test.utils import setup_databases, teardown_databases

from accounts import services as accounts
from accounts.models import User
from billing import services as billing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20, help="providers and agents timed")
    args = parser.parse_args()
    events = args.events - args.events % built.SOURCES
    old = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            sys.exit("bench_reports needs PostgreSQL (DATABASE_URL=postgres://...)")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
        )
        start, end = billing.period_bounds(built.PERIOD)
        t0 = time.perf_counter()
        providers, agents = built.seed()
        made = built.generate(events, start, end)
        transactions = built.write_ledger(made["take_bps"])
        with connection.cursor() as cursor:
            for _, create in made["rebuild"]:
                cursor.execute(create)
            cursor.execute("SET session_replication_role = DEFAULT")
            for table in built.BIG_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(
            f"built {made['usage_events']:,} usage events and {transactions:,} ledger "
            f"transactions in {time.perf_counter() - t0:.0f} s"
        )
        since = start.date()
        until = end.date() - timedelta(days=1)
        window = {"since": since, "until": until}
        print(f"reports of {since} to {until} (load average {os.getloadavg()[0]:.1f}):")
        sample = providers[: args.sample]
        for group in billing.EARNINGS_GROUPS:
            built._timed(
                f"a provider's earnings by {group}",
                [
                    lambda p=p, g=group: billing.provider_earnings(
                        actor=built._actor(p, accounts.BILLING), group=g, **window
                    )
                    for p in sample
                ],
            )
        for group in billing.COST_GROUPS:
            built._timed(
                f"an agent's costs by {group}",
                [
                    lambda a=a, g=group: billing.agent_costs(
                        actor=built._actor(a, accounts.BILLING), group=g, **window
                    )
                    for a in agents[: args.sample]
                ],
            )
        staff = User.objects.create_user(email="ops@bench.example", password="x", is_staff=True)
        operator = accounts.actor_for_user(user_id=staff.pk)
        for group in billing.FLOW_GROUPS:
            built._timed(
                f"the platform's revenue by {group}",
                [lambda g=group: billing.platform_revenue(actor=operator, group=g, **window)],
            )
        _check(sample, since, until)
    finally:
        teardown_databases(old, verbosity=0)


def _check(providers, since: date, until: date) -> None:
    for provider in providers:
        report = billing.provider_earnings(
            actor=built._actor(provider, accounts.BILLING), since=since, until=until
        )
        statement = billing.statement_for(organization_id=provider.id, period=built.PERIOD)
        credits = sum(x.credit_micros for x in statement.lines if x.account == "provider_payable")
        assert sum(r.earned_micros for r in report.rows) == credits, provider.name
    print(f"  earnings by day = the statement's payable credits, for {len(providers)} providers")


if __name__ == "__main__":
    main()
