"""Rating a batch of usage events inside PostgreSQL, set-based: no event leaves the database.

It does what `usage._rate_batch` does in Python (and writes the same ledger; the tests compare
the two over the same events), in a handful of statements per batch, whatever its size:

1. the batch's ratable events (`licensing.ratable_usage_query`) go into a session's temporary
   table with what each charges (`use`: the metered amount; `revenue_share`: the offer's basis
   points of the declared revenue times the attribution weight, half up, at least the offer's
   minimum); each event that charges gets a transaction id from the transactions' sequence;
2. one `INSERT ... SELECT ... ON CONFLICT (idempotency_key) DO NOTHING` writes the transactions
   under `usage:<event id>`; the events whose key was posted before (a re-run) are left out of
   what follows, as the Python path leaves them out before it draws on wallets;
3. the accounts the charges touch are opened if need be, and the agents' wallets locked in id
   order (as `Funding` does), so their balances cannot move while the split is worked out;
4. one `INSERT ... SELECT` writes the entries: the wallet pays first, in event order (a running
   sum per agent and currency, a window function), the receivable the rest; the provider earns
   the charge less the platform's take (BILLING_TAKE_RATE_BPS, half up);
5. the entries' net change per account comes back aggregated and `_apply_balances` adds it to
   the balance rows under their locks, in id order.

The deferred constraint trigger checks at commit that every transaction balances, as it does
for every other writer.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import Account, BillingProfile, Entry, Purpose, Transaction
from billing.services.ledger import _apply_balances
from licensing import services as licensing

_BATCH = "billing_rating_batch"
_BATCH_COLUMNS = (
    "event_id int8, created_at timestamptz, agent_id uuid, provider_id uuid, "
    "agreement_id uuid, kind text, currency text, amount_micros numeric, transaction_id int8"
)


@dataclass(frozen=True)
class BatchOutcome:
    events: int  # ratable events read
    written: int  # transactions posted
    already_rated: int  # events whose transaction was posted before


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def rate_batch_in_sql(*, after_id: int, upto_id: int, limit: int) -> BatchOutcome:
    """Rate up to `limit` ratable events with after_id < id <= upto_id; call it inside the
    batch's database transaction, with the rating cursor locked."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('pg_temp.{_BATCH}')")
        row = cursor.fetchone()
        if row is None or row[0] is None:
            cursor.execute(f"CREATE TEMP TABLE {_BATCH} ({_BATCH_COLUMNS}) ON COMMIT DELETE ROWS")
        else:
            cursor.execute(f"TRUNCATE pg_temp.{_BATCH}")
        events, charging = _stage(cursor, after_id, upto_id, limit)
        if not charging:
            return BatchOutcome(events, 0, 0)
        now = timezone.now()
        written = _insert_transactions(cursor, now, charging)
        if not written:
            return BatchOutcome(events, 0, charging)
        _open_accounts(cursor, now)
        _lock_wallets(cursor)
        deltas = _insert_entries(cursor)
    _apply_balances(deltas)
    return BatchOutcome(events, written, charging - written)


def _stage(cursor, after_id: int, upto_id: int, limit: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Stage the batch; return (events, events that charge)."""
    ratable_sql, params = licensing.ratable_usage_query(
        after_id=after_id, upto_id=upto_id, limit=limit
    )
    columns = ", ".join(licensing.RATABLE_COLUMNS)
    sequence = f"(SELECT pg_get_serial_sequence('{Transaction._meta.db_table}', 'id'))"
    cursor.execute(
        f"""
        WITH staged AS (
            INSERT INTO pg_temp.{_BATCH} (event_id, created_at, agent_id, provider_id,
                agreement_id, kind, currency, amount_micros, transaction_id)
            SELECT c.id, c.created_at, c.agent_id, c.provider_id, c.agreement_id,
                c.payment_type, c.currency, c.charge,
                CASE WHEN c.charge > 0 THEN nextval({sequence}) END
            FROM (
                SELECT r.*,
                    CASE WHEN r.payment_type = 'use' THEN r.amount_micros::numeric
                    ELSE GREATEST(
                        CASE WHEN r.revenue_micros > 0 AND r.answer_currency = r.currency
                            THEN div(r.revenue_micros::numeric * r.revenue_share_bps
                                * r.attribution_weight_ppm + 5000000000, 10000000000)
                            ELSE 0 END,
                        r.revenue_share_min_micros)
                    END AS charge
                FROM ({ratable_sql}) AS r ({columns})
            ) AS c
            ORDER BY c.id
            RETURNING transaction_id
        )
        SELECT count(*), count(transaction_id) FROM staged
        """,  # noqa: S608
        params,
    )
    events, charging = cursor.fetchone()
    return int(events), int(charging)


def _open_accounts(cursor, now) -> None:  # type: ignore[no-untyped-def]
    """Open every account the charges may touch that does not exist yet (as `account_ids`
    does: both of each agent's, whoever pays, and each provider's and the platform's)."""
    accounts = _q(Account._meta.db_table)
    cursor.execute(
        f"""
        INSERT INTO {accounts} (organization_id, purpose, currency, balance_micros,
            reserved_micros, created_at)
        SELECT DISTINCT o.organization_id, o.purpose, b.currency, 0, 0, %s::timestamptz
        FROM pg_temp.{_BATCH} b
        CROSS JOIN LATERAL (VALUES (b.agent_id, %s), (b.agent_id, %s), (b.provider_id, %s))
            AS o (organization_id, purpose)
        WHERE b.transaction_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM {accounts} a WHERE a.organization_id = o.organization_id
                AND a.purpose = o.purpose AND a.currency = b.currency)
        ON CONFLICT (organization_id, purpose, currency) WHERE organization_id IS NOT NULL
        DO NOTHING
        """,  # noqa: S608
        [now, Purpose.AGENT_WALLET, Purpose.AGENT_RECEIVABLE, Purpose.PROVIDER_PAYABLE],
    )
    cursor.execute(
        f"""
        INSERT INTO {accounts} (organization_id, purpose, currency, balance_micros,
            reserved_micros, created_at)
        SELECT DISTINCT NULL::uuid, %s, b.currency, 0, 0, %s::timestamptz
        FROM pg_temp.{_BATCH} b
        WHERE b.transaction_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM {accounts} a WHERE a.organization_id IS NULL
                AND a.purpose = %s AND a.currency = b.currency)
        ON CONFLICT (purpose, currency) WHERE organization_id IS NULL DO NOTHING
        """,  # noqa: S608
        [Purpose.PLATFORM_REVENUE, now, Purpose.PLATFORM_REVENUE],
    )


def _lock_wallets(cursor) -> None:  # type: ignore[no-untyped-def]
    accounts = _q(Account._meta.db_table)
    cursor.execute(
        f"""
        SELECT a.id FROM {accounts} a
        WHERE a.purpose = %s AND (a.organization_id, a.currency) IN (
            SELECT DISTINCT agent_id, currency FROM pg_temp.{_BATCH}
            WHERE transaction_id IS NOT NULL)
        ORDER BY a.id FOR UPDATE
        """,  # noqa: S608
        [Purpose.AGENT_WALLET],
    )
    cursor.fetchall()


def _insert_transactions(cursor, now, charging: int) -> int:  # type: ignore[no-untyped-def]
    """Insert the batch's transactions; return how many were written."""
    cursor.execute(
        f"""
        INSERT INTO {_q(Transaction._meta.db_table)} (id, idempotency_key, kind, effective_at,
            created_at, memo, usage_event_id, agreement_id, revenue_report_id, external_ref,
            reverses_id)
        SELECT b.transaction_id, 'usage:' || b.event_id, b.kind, b.created_at,
            %s::timestamptz, '', b.event_id, b.agreement_id, NULL, '', NULL
        FROM pg_temp.{_BATCH} b
        WHERE b.transaction_id IS NOT NULL
        ORDER BY b.event_id
        ON CONFLICT (idempotency_key) DO NOTHING
        """,  # noqa: S608
        [now],
    )
    written = int(cursor.rowcount)
    if written < charging:  # rated before (a re-run), or meanwhile: leave those out
        cursor.execute(
            f"""
            UPDATE pg_temp.{_BATCH} b SET transaction_id = NULL
            WHERE b.transaction_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {_q(Transaction._meta.db_table)} t WHERE t.id = b.transaction_id)
            """  # noqa: S608
        )
    return written


def _insert_entries(cursor) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Insert the entries of the batch's transactions; return each account's net change."""
    accounts = _q(Account._meta.db_table)
    take = settings.BILLING_TAKE_RATE_BPS
    # The temporary table has no statistics (ANALYZE would cost more than the join): without
    # this the batch is taken for a few rows and joined row by row. (The cost that refusing
    # nested loops puts on the plan would otherwise make it worth compiling, JIT, for a second.)
    cursor.execute("SET LOCAL enable_nestloop = off; SET LOCAL jit = off")
    cursor.execute(
        f"""
        WITH agents AS MATERIALIZED (
            SELECT x.agent_id, x.currency, w.id AS wallet_id, w.balance_micros,
                r.id AS receivable_id, bp.organization_id IS NOT NULL AS postpaid
            FROM (SELECT DISTINCT agent_id, currency FROM pg_temp.{_BATCH}
                  WHERE transaction_id IS NOT NULL) AS x
            JOIN {accounts} w ON w.organization_id = x.agent_id AND w.purpose = %s
                AND w.currency = x.currency
            JOIN {accounts} r ON r.organization_id = x.agent_id AND r.purpose = %s
                AND r.currency = x.currency
            LEFT JOIN {_q(BillingProfile._meta.db_table)} bp
                ON bp.organization_id = x.agent_id AND bp.postpaid
        ), providers AS MATERIALIZED (
            SELECT x.provider_id, x.currency, p.id AS payable_id
            FROM (SELECT DISTINCT provider_id, currency FROM pg_temp.{_BATCH}
                  WHERE transaction_id IS NOT NULL) AS x
            JOIN {accounts} p ON p.organization_id = x.provider_id AND p.purpose = %s
                AND p.currency = x.currency
        ), platform AS MATERIALIZED (
            SELECT id AS platform_id, currency FROM {accounts}
            WHERE organization_id IS NULL AND purpose = %s
        ), charged AS (
            SELECT b.transaction_id, b.kind, b.currency, b.created_at, b.amount_micros AS amount,
                ag.wallet_id, ag.receivable_id, pr.payable_id, pl.platform_id,
                CASE WHEN ag.postpaid THEN 0
                ELSE LEAST(b.amount_micros, GREATEST(0, -ag.balance_micros - COALESCE(
                    SUM(b.amount_micros) OVER (
                        PARTITION BY b.agent_id, b.currency ORDER BY b.event_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))
                END AS from_wallet,
                div(b.amount_micros * CASE b.kind WHEN %s THEN %s ELSE %s END + 5000, 10000)
                    AS take
            FROM pg_temp.{_BATCH} b
            JOIN agents ag ON ag.agent_id = b.agent_id AND ag.currency = b.currency
            JOIN providers pr ON pr.provider_id = b.provider_id AND pr.currency = b.currency
            JOIN platform pl ON pl.currency = b.currency
            WHERE b.transaction_id IS NOT NULL
        ), written AS (
            INSERT INTO {_q(Entry._meta.db_table)} (transaction_id, account_id, amount_micros,
                currency, effective_at, kind)
            SELECT c.transaction_id, leg.account_id, leg.amount, c.currency, c.created_at, c.kind
            FROM charged c
            CROSS JOIN LATERAL (VALUES
                (c.wallet_id, c.from_wallet),
                (c.receivable_id, c.amount - c.from_wallet),
                (c.payable_id, c.take - c.amount),
                (c.platform_id, -c.take)
            ) AS leg (account_id, amount)
            WHERE leg.amount <> 0
            RETURNING account_id, amount_micros
        )
        SELECT account_id, SUM(amount_micros) FROM written GROUP BY account_id
        """,  # noqa: S608
        [
            Purpose.AGENT_WALLET,
            Purpose.AGENT_RECEIVABLE,
            Purpose.PROVIDER_PAYABLE,
            Purpose.PLATFORM_REVENUE,
            Transaction.Kind.USE,
            take.get(Transaction.Kind.USE, 0),
            take.get(Transaction.Kind.REVENUE_SHARE, 0),
        ],
    )
    deltas = {int(account_id): int(total) for account_id, total in cursor.fetchall()}
    cursor.execute("RESET enable_nestloop; RESET jit")
    return deltas
