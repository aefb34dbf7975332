"""Posting many charges of one shape at once: an agent pays (from its wallet, its receivable
or both), a provider earns the amount less the platform's take. Rating writes thousands a
second this way.

On PostgreSQL the charges go to the server as one binary COPY of one row each into a session's
temporary table, and set-based statements insert the transactions whose keys are new, their
entries and the balance changes; the deferred constraint trigger checks at commit that each
transaction balances. Elsewhere each charge becomes a `NewTransaction` posted (and checked)
by `post_transactions`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from billing import errors
from billing.models import Entry, Transaction
from billing.services.ledger import _apply_balances, post_transactions
from billing.services.types import AccountKey, Leg, NewTransaction, PostResult


@dataclass(frozen=True)
class Charge:
    """One charge: wallet_micros + receivable_micros = payable_micros + take_micros."""

    idempotency_key: str
    kind: str
    effective_at: datetime
    wallet: AccountKey | None
    wallet_micros: int
    receivable: AccountKey
    receivable_micros: int
    payable: AccountKey
    payable_micros: int
    platform: AccountKey
    take_micros: int
    usage_event_id: int | None = None
    agreement_id: uuid.UUID | None = None
    revenue_report_id: uuid.UUID | None = None


def _legs(charge: Charge) -> tuple[Leg, ...]:
    legs = []
    if charge.wallet is not None and charge.wallet_micros:
        legs.append(Leg(charge.wallet, charge.wallet_micros))
    if charge.receivable_micros:
        legs.append(Leg(charge.receivable, charge.receivable_micros))
    if charge.payable_micros:
        legs.append(Leg(charge.payable, -charge.payable_micros))
    if charge.take_micros:
        legs.append(Leg(charge.platform, -charge.take_micros))
    return tuple(legs)


def post_charges(charges: Sequence[Charge], account_ids: dict[AccountKey, int]) -> PostResult:
    """Post charges once each under their keys (all or none); `account_ids` names the id of
    every account they touch (opened by the caller)."""
    for c in charges:
        paid = c.wallet_micros + c.receivable_micros
        if min(c.wallet_micros, c.receivable_micros, c.payable_micros, c.take_micros) < 0:
            raise errors.ValidationFailed("A charge's parts are zero or more.")
        if paid != c.payable_micros + c.take_micros or paid <= 0:
            raise errors.Unbalanced(
                "A charge's payment equals what it credits, and is more than zero.",
                details={"key": c.idempotency_key},
            )
    if connection.vendor != "postgresql":
        return post_transactions(
            [
                NewTransaction(
                    idempotency_key=c.idempotency_key,
                    kind=c.kind,
                    legs=_legs(c),
                    effective_at=c.effective_at,
                    usage_event_id=c.usage_event_id,
                    agreement_id=c.agreement_id,
                    revenue_report_id=c.revenue_report_id,
                )
                for c in charges
            ]
        )
    with transaction.atomic():
        return _post_charges_pg(charges, account_ids)


_STAGED = "billing_staged_charge"
_COLUMNS = {
    "idempotency_key": "text",
    "kind": "text",
    "effective_at": "timestamptz",
    "usage_event_id": "int8",
    "agreement_id": "uuid",
    "revenue_report_id": "uuid",
    "wallet_id": "int8",
    "wallet_micros": "int8",
    "receivable_id": "int8",
    "receivable_micros": "int8",
    "payable_id": "int8",
    "payable_micros": "int8",
    "platform_id": "int8",
    "take_micros": "int8",
    "currency": "text",
    "transaction_id": "int8",
}


def _post_charges_pg(charges: Sequence[Charge], ids: dict[AccountKey, int]) -> PostResult:
    keys = list(dict.fromkeys(c.idempotency_key for c in charges))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('pg_temp.{_STAGED}')")
        row = cursor.fetchone()
        if row is None or row[0] is None:
            columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS.items())
            cursor.execute(
                f"CREATE TEMP TABLE {_STAGED} ({columns}, PRIMARY KEY (idempotency_key)) "
                "ON COMMIT DELETE ROWS"
            )
        else:
            cursor.execute(f"TRUNCATE pg_temp.{_STAGED}")
        copy_sql = f"COPY pg_temp.{_STAGED} ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        seen: set[str] = set()
        with cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(list(_COLUMNS.values()))
            for c in charges:
                if c.idempotency_key in seen:
                    continue
                seen.add(c.idempotency_key)
                copy.write_row(
                    (
                        c.idempotency_key,
                        c.kind,
                        c.effective_at,
                        c.usage_event_id,
                        c.agreement_id,
                        c.revenue_report_id,
                        ids[c.wallet] if c.wallet is not None else None,
                        c.wallet_micros,
                        ids[c.receivable],
                        c.receivable_micros,
                        ids[c.payable],
                        c.payable_micros,
                        ids[c.platform],
                        c.take_micros,
                        c.receivable.currency,
                        None,
                    )
                )
        transactions = connection.ops.quote_name(Transaction._meta.db_table)
        entries = connection.ops.quote_name(Entry._meta.db_table)
        cursor.execute(f"ANALYZE pg_temp.{_STAGED}")  # a temporary table has no statistics
        # Two statements, so the statement triggers of each table see their own rows.
        cursor.execute(
            f"""
            WITH new AS (
                INSERT INTO {transactions} (idempotency_key, kind, effective_at, created_at,
                    memo, usage_event_id, agreement_id, revenue_report_id, external_ref)
                SELECT idempotency_key, kind, effective_at, %s, '', usage_event_id,
                    agreement_id, revenue_report_id, ''
                FROM pg_temp.{_STAGED}
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING id, idempotency_key
            )
            UPDATE pg_temp.{_STAGED} AS s SET transaction_id = new.id
            FROM new WHERE s.idempotency_key = new.idempotency_key
            RETURNING new.id, new.idempotency_key
            """,  # noqa: S608
            [timezone.now()],
        )
        written = {key: transaction_id for transaction_id, key in cursor.fetchall()}
        if not written:
            return PostResult(written={}, duplicates=tuple(keys))
        cursor.execute(
            f"""
            WITH written AS (
                INSERT INTO {entries} (transaction_id, account_id, amount_micros, currency,
                    effective_at, kind)
                SELECT s.transaction_id, leg.account_id, leg.amount, s.currency, s.effective_at,
                    s.kind
                FROM pg_temp.{_STAGED} s
                CROSS JOIN LATERAL (VALUES
                    (s.wallet_id, s.wallet_micros),
                    (s.receivable_id, s.receivable_micros),
                    (s.payable_id, -s.payable_micros),
                    (s.platform_id, -s.take_micros)
                ) AS leg (account_id, amount)
                WHERE s.transaction_id IS NOT NULL AND leg.amount <> 0
                RETURNING account_id, amount_micros
            )
            SELECT account_id, SUM(amount_micros) FROM written GROUP BY account_id
            """  # noqa: S608
        )
        deltas = {account_id: int(total) for account_id, total in cursor.fetchall()}
    _apply_balances(deltas)
    return PostResult(written=written, duplicates=tuple(k for k in keys if k not in written))
