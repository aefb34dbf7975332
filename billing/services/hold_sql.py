"""The answer path's two wallet statements, one round trip each on PostgreSQL.

Holding is a conditional UPDATE of the wallet and the INSERT of the hold row in one statement
(a data-modifying CTE: both or neither); settling updates the hold and the wallet's reserved
amount in one statement. Table and column names come from model metadata only. Elsewhere
(SQLite) `billing.services.holds` does the same with the ORM in a transaction.
"""

import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from billing.models import Account, BillingProfile, Purpose, WalletHold


def _table(model: type) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))  # type: ignore[attr-defined]


def _savepoint() -> AbstractContextManager[object]:
    """A savepoint only inside a caller's transaction: alone, the statement is atomic."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def hold(
    *,
    organization_id: uuid.UUID,
    request_id: str,
    amount_micros: int,
    currency: str,
    now: datetime,
    expires_at: datetime,
) -> bool | None:
    """Hold `amount_micros` if the prepaid (not postpaid) wallet's available balance covers
    it; return True if held, False if not, None if this request holds already."""
    sql = f"""
        WITH wallet AS (
            UPDATE {_table(Account)} AS a
            SET reserved_micros = a.reserved_micros + %(amount)s
            WHERE a.organization_id = %(org)s AND a.purpose = %(purpose)s
              AND a.currency = %(currency)s
              AND a.balance_micros <= -(a.reserved_micros + %(amount)s)
              AND NOT EXISTS (
                  SELECT 1 FROM {_table(BillingProfile)} AS p
                  WHERE p.organization_id = %(org)s AND p.postpaid
              )
            RETURNING a.id
        )
        INSERT INTO {_table(WalletHold)}
            (request_id, organization_id, currency, amount_micros, status,
             rated_after_event_id, created_at, expires_at)
        SELECT %(request_id)s, %(org)s, %(currency)s, %(amount)s, %(status)s, NULL,
               %(now)s, %(expires_at)s
        FROM wallet
        RETURNING request_id
    """  # noqa: S608 (names from model metadata, values as parameters)
    params: dict[str, Any] = {
        "amount": amount_micros,
        "org": organization_id,
        "purpose": Purpose.AGENT_WALLET.value,
        "currency": currency,
        "request_id": request_id,
        "status": WalletHold.Status.HELD.value,
        "now": now,
        "expires_at": expires_at,
    }
    try:
        with _savepoint(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
    except IntegrityError:  # a hold of this request exists: the whole statement undone
        return None


def settle(
    *,
    organization_id: uuid.UUID,
    request_id: str,
    currency: str,
    held_micros: int,
    amount_micros: int,
) -> None:
    """Settle a held hold on `amount_micros` (0: delete it), moving the wallet's reserved."""
    holds = _table(WalletHold)
    if amount_micros:
        change_hold = f"UPDATE {holds} SET status = %(settled)s, amount_micros = %(amount)s"  # noqa: S608
    else:
        change_hold = f"DELETE FROM {holds}"  # noqa: S608
    where = (
        "WHERE request_id = %(request_id)s AND status = %(held)s"
        " AND amount_micros = %(held_micros)s"
    )
    params: dict[str, Any] = {
        "settled": WalletHold.Status.SETTLED.value,
        "held": WalletHold.Status.HELD.value,
        "amount": amount_micros,
        "request_id": request_id,
        "held_micros": held_micros,
        "change": amount_micros - held_micros,
        "org": organization_id,
        "purpose": Purpose.AGENT_WALLET.value,
        "currency": currency,
    }
    if amount_micros == held_micros:
        sql = f"{change_hold} {where}"
    else:
        sql = f"""
            WITH hold AS ({change_hold} {where} RETURNING 1)
            UPDATE {_table(Account)} AS a
            SET reserved_micros = a.reserved_micros + %(change)s
            WHERE a.organization_id = %(org)s AND a.purpose = %(purpose)s
              AND a.currency = %(currency)s AND EXISTS (SELECT 1 FROM hold)
        """  # noqa: S608 (names from model metadata, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def release(*, request_id: str) -> None:
    """Delete a hold and take its amount off its wallet's reserved, in one statement."""
    sql = f"""
        WITH hold AS (
            DELETE FROM {_table(WalletHold)} WHERE request_id = %(request_id)s
            RETURNING organization_id, currency, amount_micros
        )
        UPDATE {_table(Account)} AS a
        SET reserved_micros = a.reserved_micros - hold.amount_micros
        FROM hold
        WHERE a.organization_id = hold.organization_id AND a.purpose = %(purpose)s
          AND a.currency = hold.currency
    """  # noqa: S608 (names from model metadata, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"request_id": request_id, "purpose": Purpose.AGENT_WALLET.value})
