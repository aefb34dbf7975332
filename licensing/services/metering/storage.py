"""Writing a batch: answer rows (a duplicate request id inserts nothing), usage events
and the agreements' spend, by hand on PostgreSQL (array parameters, COPY)."""

import uuid
from operator import itemgetter

from django.db import connection

from core.db import add_to_column
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from licensing.services.metering.uses import Row

INSERT_BATCH = 2000


_ANSWER_PG_TYPES = {
    "id": "uuid",
    "request_id": "text",
    "agent_id": "uuid",
    "api_key_id": "uuid",
    "usage_type": "text",
    "kind": "text",
    "sources_count": "integer",
    "total_micros": "bigint",
    "currency": "text",
    "revenue_micros": "bigint",
    "created_at": "timestamptz",
}


def _insert_answers_returning_new(rows: list[Row]) -> set[str]:
    """Insert answer rows, skipping request ids already recorded; return the new ones."""
    if not rows:
        return set()
    names = list(_ANSWER_PG_TYPES)  # the answer dicts' keys, which are the table's columns
    table = connection.ops.quote_name(AnswerRecord._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(n) for n in names)
    conflict = "ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter per column: the statement stays small whatever the batch size.
            arrays = ", ".join(f"%s::{_ANSWER_PG_TYPES[n]}[]" for n in names)
            sql = f"INSERT INTO {table} ({column_sql}) SELECT * FROM unnest({arrays}) {conflict}"  # noqa: S608
            cursor.execute(sql, [[row[n] for row in rows] for n in names])
            return {r[0] for r in cursor.fetchall()}
        by_column = {f.attname: f for f in AnswerRecord._meta.concrete_fields}
        fields = [by_column[n] for n in names]
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, len(rows), 200):
            chunk = rows[start : start + 200]
            params = [
                field.get_db_prep_save(row[name], connection)
                for row in chunk
                for name, field in zip(names, fields, strict=True)
            ]
            values = ", ".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {table} ({column_sql}) VALUES {values} {conflict}"  # noqa: S608
            cursor.execute(sql, params)
            inserted.update(r[0] for r in cursor.fetchall())
    return inserted


def _add_spend(charged: dict[uuid.UUID, int]) -> None:
    """Add each agreement's charge to what it has spent, in one statement on PostgreSQL."""
    add_to_column(LicenseAgreement, "spent_micros", charged)


def _insert_events(events: list[Row]) -> None:
    """Insert event rows: COPY on PostgreSQL (no model objects on the hot path), else bulk."""
    if not events:
        return
    if connection.vendor != "postgresql":
        UsageEvent.objects.bulk_create(
            [UsageEvent(**event) for event in events], batch_size=INSERT_BATCH
        )
        return
    names = list(events[0])
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in names)
    sql = f"COPY {table} ({column_sql}) FROM STDIN"
    row = itemgetter(*names)
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for event in events:
            copy.write_row(row(event))
