"""Benchmark month-end statements over 10 million usage events (PostgreSQL).

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/provenant \
  .venv/bin/python bench/bench_statements.py [--quick] [--events N] [--rate] [--check]

It works in a throw-away test database. Organizations, offers and agreements are made through
the services; then `--events` usage events (10,000,000; `--quick` 1,000,000) are generated in
SQL with generate_series: answers of 10 sources each from 100 agents over the per-use offers of
200 providers (every fifth also has a revenue-share offer; one answer in five declares its
revenue), dated across one month and a day on either side of it. Their ledger rows are written
in SQL the way rating writes them (one transaction per event that charges: the agent's
receivable debited, the provider's payable and the platform's take credited, kind and time
on every entry), or with `--rate` by `billing.rate_usage` itself. Bulk loading is done as a
restore is: triggers (foreign keys, ledger checks) off for the session and secondary indexes
built once the rows are in; the load is timed on its own.

Then it times, for the month: every provider's statement (`billing.statement_for`, what
`GET /api/v1/billing/statements` serves), every agent's, the whole platform's
(`billing.platform_statement`), and every organization's at once
(`billing.month_end_statements`, one pass). `--check` runs `billing_check` at the end.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import Organization  # noqa: E402
from billing import services as billing  # noqa: E402
from billing.models import Purpose, RatingCursor  # noqa: E402
from catalog.models import Collection  # noqa: E402
from licensing import services as licensing  # noqa: E402

PROVIDERS, AGENTS, SOURCES = 200, 100, 10
PERIOD = "2026-10"
BIG_TABLES = (
    "licensing_answerrecord",
    "licensing_usageevent",
    "billing_transaction",
    "billing_entry",
)


def _actor(org, scope):
    return accounts.actor_for_api_key(
        api_key_id=uuid.uuid4(), organization_id=org.id, scopes=[scope]
    )


def seed():
    """Return (providers, agents); every agent accepts every offer (through the services)."""
    providers, offers = [], []
    for n in range(PROVIDERS):
        provider = Organization.objects.create(
            name=f"Provider {n}", slug=f"stmt-p{n}", is_provider=True
        )
        providers.append(provider)
        actor = _actor(provider, accounts.LICENSING)
        kinds = ("use", "revenue_share") if n % 5 == 0 else ("use",)
        for kind in kinds:
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
    agents = [
        Organization.objects.create(name=f"Agent {n}", slug=f"stmt-a{n}", is_agent=True)
        for n in range(AGENTS)
    ]
    with connection.cursor() as cursor:  # 100 x 240 agreements: one statement, not 24,000 calls
        cursor.execute(
            """
            INSERT INTO licensing_licenseagreement (id, agent_id, offer_id, offer_version_id,
                origin, status, status_reason, starts_at, created_at, spent_micros)
            SELECT md5(a.id::text || o.id::text)::uuid, a.id, o.id, o.current_version_id,
                'accepted', 'active', '', now() - interval '90 days', now(), 0
            FROM accounts_organization a CROSS JOIN licensing_licenseoffer o
            WHERE a.is_agent
            """
        )
    return providers, agents


def _index_definitions(cursor, tables):
    """Return what to rebuild: (drop statement, create statement) of each secondary index."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u'
        """,
        [list(tables)],
    )
    constraints = cursor.fetchall()
    built = [
        (f'ALTER TABLE {t} DROP CONSTRAINT "{n}"', f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}')
        for t, n, d in constraints
    ]
    names = {n for _, n, _ in constraints}
    cursor.execute(
        """
        SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s) AND i.indexname NOT LIKE '%%pkey'
        """,
        [list(tables)],
    )
    built += [(f'DROP INDEX "{n}"', d) for _, n, d in cursor.fetchall() if n not in names]
    return built


def generate(events: int, start: datetime, end: datetime) -> dict:
    """Write `events` usage events (and their answers) dated across [start - 1 day,
    end + 1 day), and their ledger rows; return counts."""
    answers = events // SOURCES
    first = start - timedelta(days=1)
    step_us = int((end - start + timedelta(days=2)).total_seconds() * 1e6 // answers)
    take_bps = settings.BILLING_TAKE_RATE_BPS
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no triggers: a restore
        cursor.execute("SET maintenance_work_mem = '1GB'")
        rebuild = _index_definitions(cursor, BIG_TABLES)
        for drop, _ in rebuild:
            cursor.execute(drop)
        cursor.execute(
            """
            CREATE TEMP TABLE bench_agent AS
            SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts_organization
            WHERE is_agent;
            CREATE TEMP TABLE bench_offer AS
            SELECT row_number() OVER (ORDER BY o.created_at, o.id) - 1 AS n, o.id,
                o.provider_id, v.id AS version_id, v.payment_type, v.price_unit,
                v.price_micros, v.revenue_share_bps,
                (SELECT c.collection_id FROM licensing_offerversion_collections c
                 WHERE c.offerversion_id = v.id LIMIT 1) AS collection_id
            FROM licensing_licenseoffer o JOIN licensing_offerversion v
                ON v.id = o.current_version_id;
            """
        )
        cursor.execute("SELECT count(*) FROM bench_offer")
        (offer_count,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO licensing_answerrecord (id, request_id, agent_id, usage_type, kind,
                sources_count, total_micros, currency, revenue_micros, created_at)
            SELECT md5('answer-' || g)::uuid, 'stmt-' || g, a.id, 'ai-input', 'answer', %s, 0,
                'USD', CASE WHEN g %% 5 = 0 THEN 20000 END,
                %s::timestamptz + g * (%s * interval '1 microsecond')
            FROM generate_series(0, %s - 1) AS g JOIN bench_agent a ON a.n = g %% %s
            """,
            [SOURCES, first, step_us, answers, AGENTS],
        )
        cursor.execute(
            """
            INSERT INTO licensing_usageevent (id, answer_id, agent_id, provider_id,
                collection_id, chunk_id, agreement_id, offer_version_id, usage_type,
                payment_type, price_unit, units, unit_price_micros, amount_micros, currency,
                attribution_weight_ppm, cited, idempotency_key, created_at)
            SELECT g * %s + i + 1, md5('answer-' || g)::uuid, a.id, o.provider_id,
                o.collection_id, g * %s + i, md5(a.id::text || o.id::text)::uuid, o.version_id,
                'ai-input', o.payment_type, o.price_unit, 1, o.price_micros,
                CASE WHEN o.payment_type = 'use' THEN o.price_micros ELSE 0 END, 'USD',
                1000000 / %s, true, 'stmt-' || g || ':' || i,
                %s::timestamptz + g * (%s * interval '1 microsecond')
            FROM generate_series(0, %s - 1) AS g
            CROSS JOIN generate_series(0, %s - 1) AS i
            JOIN bench_agent a ON a.n = g %% %s
            JOIN bench_offer o ON o.n = (g * 7 + i * 13) %% %s
            """,
            [
                SOURCES,
                SOURCES,
                SOURCES,
                first,
                step_us,
                answers,
                SOURCES,
                AGENTS,
                offer_count,
            ],
        )
        usage_events = cursor.rowcount
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('licensing_usageevent', 'id'), {events})"
        )
    return {
        "answers": answers,
        "usage_events": usage_events,
        "rebuild": rebuild,
        "take_bps": take_bps,
    }


def write_ledger(take_bps: dict) -> int:
    """Write the ledger rows of every event that charges, as rating does (all to receivables:
    the agents here hold no wallet); return the transactions written."""
    agent_ids = list(Organization.objects.filter(is_agent=True).values_list("id", flat=True))
    provider_ids = list(Organization.objects.filter(is_provider=True).values_list("id", flat=True))
    keys = [billing.org_account(a, Purpose.AGENT_RECEIVABLE, "USD") for a in agent_ids]
    keys += [billing.org_account(a, Purpose.AGENT_WALLET, "USD") for a in agent_ids]
    keys += [billing.org_account(p, Purpose.PROVIDER_PAYABLE, "USD") for p in provider_ids]
    keys.append(billing.platform_account(Purpose.PLATFORM_REVENUE, "USD"))
    billing.account_ids(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_charge AS
            SELECT e.id, e.created_at, e.payment_type AS kind, e.agreement_id,
                r.id AS receivable_id, p.id AS payable_id, pl.id AS platform_id, c.amount,
                div(c.amount * CASE e.payment_type WHEN 'use' THEN %s ELSE %s END + 5000,
                    10000) AS take
            FROM licensing_usageevent e
            JOIN licensing_answerrecord ans ON ans.id = e.answer_id
            JOIN licensing_offerversion v ON v.id = e.offer_version_id
            CROSS JOIN LATERAL (SELECT CASE WHEN e.payment_type = 'use' THEN e.amount_micros
                ELSE GREATEST(CASE WHEN ans.revenue_micros > 0 THEN div(ans.revenue_micros::numeric
                    * v.revenue_share_bps * e.attribution_weight_ppm + 5000000000, 10000000000)
                    ELSE 0 END, v.revenue_share_min_micros) END AS amount) c
            JOIN billing_account r ON r.organization_id = e.agent_id
                AND r.purpose = 'agent_receivable'
            JOIN billing_account p ON p.organization_id = e.provider_id
                AND p.purpose = 'provider_payable'
            JOIN billing_account pl ON pl.organization_id IS NULL
                AND pl.purpose = 'platform_revenue'
            WHERE c.amount > 0
            """,
            [take_bps.get("use", 0), take_bps.get("revenue_share", 0)],
        )
        cursor.execute(
            """
            INSERT INTO billing_transaction (id, idempotency_key, kind, effective_at,
                created_at, memo, usage_event_id, agreement_id, external_ref)
            SELECT id, 'usage:' || id, kind, created_at, created_at + interval '30 seconds', '',
                id, agreement_id, ''
            FROM bench_charge ORDER BY id
            """
        )
        written = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO billing_entry (transaction_id, account_id, amount_micros, currency,
                effective_at, kind)
            SELECT c.id, leg.account_id, leg.amount, 'USD', c.created_at, c.kind
            FROM bench_charge c CROSS JOIN LATERAL (VALUES (c.receivable_id, c.amount),
                (c.payable_id, c.take - c.amount), (c.platform_id, -c.take))
                AS leg (account_id, amount)
            WHERE leg.amount <> 0
            ORDER BY c.id
            """
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('billing_transaction', 'id'), "
            "(SELECT max(id) FROM billing_transaction))"
        )
        cursor.execute(
            """
            UPDATE billing_account a SET balance_micros = s.total
            FROM (SELECT account_id, SUM(amount_micros) AS total FROM billing_entry
                  GROUP BY account_id) s
            WHERE s.account_id = a.id
            """
        )
        cursor.execute("SELECT max(id) FROM licensing_usageevent")
        (last,) = cursor.fetchone()
    RatingCursor.objects.update_or_create(name="usage", defaults={"position": last})
    return written


def _timed(label, calls):
    took = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        took.append(time.perf_counter() - t0)
    total = sum(took)
    print(
        f"  {label}: {len(took)} in {total:.2f} s (p50 {statistics.median(took) * 1000:.0f} ms, "
        f"max {max(took) * 1000:.0f} ms)"
    )
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000,000 events")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--rate", action="store_true", help="write the ledger by rate_usage")
    parser.add_argument("--check", action="store_true", help="run billing_check at the end")
    args = parser.parse_args()
    events = args.events or (1_000_000 if args.quick else 10_000_000)
    events -= events % SOURCES
    old = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            sys.exit("bench_statements needs PostgreSQL (DATABASE_URL=postgres://...)")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
        )
        start, end = billing.period_bounds(PERIOD)
        t0 = time.perf_counter()
        providers, agents = seed()
        made = generate(events, start, end)
        generated_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        if args.rate:
            with connection.cursor() as cursor:
                for _, create in made["rebuild"]:
                    cursor.execute(create)
                cursor.execute("SET session_replication_role = DEFAULT")
                cursor.execute("ANALYZE")
            made["rebuild"] = []
            run = billing.rate_usage()
            transactions = run.written
        else:
            transactions = write_ledger(made["take_bps"])
        ledger_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        with connection.cursor() as cursor:
            for _, create in made["rebuild"]:
                cursor.execute(create)
            cursor.execute("SET session_replication_role = DEFAULT")
            for table in BIG_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
        index_s = time.perf_counter() - t2
        print(
            f"generated {made['usage_events']:,} usage events ({made['answers']:,} answers) in "
            f"{generated_s:.0f} s; ledger: {transactions:,} transactions "
            f"({'rate_usage' if args.rate else 'SQL'}) in {ledger_s:.0f} s; indexes and "
            f"VACUUM ANALYZE in {index_s:.0f} s"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE effective_at >= %s AND effective_at < %s)"
                " FROM billing_entry",
                [start, end],
            )
            entries, in_month = cursor.fetchone()
        print(f"entries: {entries:,}, of which {in_month:,} dated in {PERIOD}")
        print(f"statements for {PERIOD} (load average {os.getloadavg()[0]:.1f}):")
        total = _timed(
            "each provider's statement",
            [
                lambda p=p: billing.statement_for(organization_id=p.id, period=PERIOD)
                for p in providers
            ],
        )
        total += _timed(
            "each agent's statement",
            [
                lambda a=a: billing.statement_for(organization_id=a.id, period=PERIOD)
                for a in agents
            ],
        )
        total += _timed(
            "the platform's own accounts",
            [lambda: billing.statement_for(organization_id=None, period=PERIOD)],
        )
        print(f"  every organization one by one, and the platform: {total:.1f} s")
        _timed("the whole platform by purpose", [lambda: billing.platform_statement(period=PERIOD)])
        t3 = time.perf_counter()
        month_end = billing.month_end_statements(period=PERIOD)
        print(
            f"  month end, every organization in one pass: {len(month_end)} statements in "
            f"{time.perf_counter() - t3:.1f} s (target < 120 s)"
        )
        sample = providers[7]
        one = billing.statement_for(organization_id=sample.id, period=PERIOD)
        assert one == next(s for s in month_end if s.organization_id == sample.id)
        line = one.lines[0]
        print(
            f"  e.g. provider 7: {line.transactions:,} {line.kind} entries, credits "
            f"{line.credit_micros:,} micros; payable {one.accounts[0].opening_micros:,} -> "
            f"{one.accounts[0].closing_micros:,}"
        )
        if args.check:
            t4 = time.perf_counter()
            report = billing.check_ledger()
            print(
                f"billing_check: {'OK' if report.ok else report.problems} in "
                f"{time.perf_counter() - t4:.0f} s"
            )
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
