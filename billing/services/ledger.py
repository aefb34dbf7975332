"""Posting to the ledger: balanced, append-only transactions, written once per key.

`post_transactions` is the one writer. In one database transaction it inserts the
transactions whose keys are new (`ON CONFLICT (idempotency_key) DO NOTHING RETURNING`),
their entries (COPY on PostgreSQL, bulk insert elsewhere), and adds each account's net change
to its balance row under a row lock taken in id order. A key posted before writes nothing,
so re-running whatever posts changes nothing.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing import errors
from billing.models import PREPAID_PURPOSES, Account, Entry, Transaction
from billing.services.types import (
    AccountKey,
    EntryInfo,
    Leg,
    NewTransaction,
    PostResult,
    TransactionInfo,
    normal_balance,
    validate,
)
from core.db import add_to_column

_TRANSACTION_PG_TYPES = {
    "idempotency_key": "text",
    "kind": "text",
    "effective_at": "timestamptz",
    "created_at": "timestamptz",
    "memo": "text",
    "usage_event_id": "bigint",
    "agreement_id": "uuid",
    "revenue_report_id": "uuid",
    "external_ref": "text",
    "reverses_id": "bigint",
}
_ENTRY_COLUMNS = (
    "transaction_id",
    "account_id",
    "amount_micros",
    "currency",
    "effective_at",
    "kind",
)


def account_ids(keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """Return the id of each named account, opening the ones that do not exist yet."""
    wanted = set(keys)
    found = _find_accounts(wanted)
    missing = wanted - set(found)
    if missing:
        Account.objects.bulk_create(
            [
                Account(organization_id=k.organization_id, purpose=k.purpose, currency=k.currency)
                for k in missing
            ],
            ignore_conflicts=True,  # opened meanwhile by another process: read it below
        )
        found.update(_find_accounts(missing))
    return found


def _find_accounts(keys: set[AccountKey]) -> dict[AccountKey, int]:
    if not keys:
        return {}
    organization_ids = {k.organization_id for k in keys if k.organization_id is not None}
    rows = Account.objects.filter(
        purpose__in={k.purpose for k in keys}, currency__in={k.currency for k in keys}
    ).filter(Q(organization_id__in=organization_ids) | Q(organization__isnull=True))
    found = {}
    for account_id, organization_id, purpose, currency in rows.values_list(
        "id", "organization_id", "purpose", "currency"
    ):
        key = AccountKey(purpose=purpose, currency=currency, organization_id=organization_id)
        if key in keys:
            found[key] = account_id
    return found


def post_transaction(new: NewTransaction) -> TransactionInfo:
    """Post one transaction, or return the one already posted under its key."""
    result = post_transactions([new])
    created = new.idempotency_key in result.written
    row = Transaction.objects.get(idempotency_key=new.idempotency_key)
    info = transaction_info(row)
    return _with_created(info, created)


def _with_created(info: TransactionInfo, created: bool) -> TransactionInfo:
    return replace(info, created=created)


def post_transactions(batch: Sequence[NewTransaction]) -> PostResult:
    """Post a batch: each transaction once under its key, all or none.

    Raises `Unbalanced` (nothing written) for a transaction that does not balance, and
    `InsufficientFunds` when a debit would take a wallet or prepaid account below zero.
    """
    unique: dict[str, NewTransaction] = {}
    for new in batch:
        validate(new)
        unique.setdefault(new.idempotency_key, new)
    if not unique:
        return PostResult(written={}, duplicates=())
    with transaction.atomic():
        ids = account_ids({leg.account for new in unique.values() for leg in new.legs})
        written = _insert_transactions(list(unique.values()))
        deltas: defaultdict[int, int] = defaultdict(int)
        entries: list[tuple[int, int, int, str, datetime, str]] = []
        for key, transaction_id in written.items():
            new = unique[key]
            for leg in new.legs:
                account_id = ids[leg.account]
                deltas[account_id] += leg.amount_micros
                entries.append(
                    (
                        transaction_id,
                        account_id,
                        leg.amount_micros,
                        leg.account.currency,
                        new.effective_at,
                        new.kind,
                    )
                )
        _insert_entries(entries)
        _apply_balances(dict(deltas))  # last: the balance rows stay locked the least time
    duplicates = tuple(k for k in unique if k not in written)
    return PostResult(written=written, duplicates=duplicates)


def _insert_transactions(rows: list[NewTransaction]) -> dict[str, int]:
    """Insert the transactions whose keys are new; return {key: id} of those inserted."""
    now = timezone.now()
    values = [
        {
            "idempotency_key": t.idempotency_key,
            "kind": t.kind,
            "effective_at": t.effective_at,
            "created_at": now,
            "memo": t.memo[:200],
            "usage_event_id": t.usage_event_id,
            "agreement_id": t.agreement_id,
            "revenue_report_id": t.revenue_report_id,
            "external_ref": t.external_ref[:200],
            "reverses_id": t.reverses_id,
        }
        for t in rows
    ]
    if connection.vendor == "postgresql":
        return _insert_transactions_pg(values)
    names = list(_TRANSACTION_PG_TYPES)
    quote = connection.ops.quote_name
    table = quote(Transaction._meta.db_table)
    column_sql = ", ".join(quote(n) for n in names)
    conflict = "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        fields = {f.attname: f for f in Transaction._meta.concrete_fields}
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, len(values), 80):  # SQLite: at most 999 parameters a statement
            chunk = values[start : start + 80]
            params = [
                fields[n].get_db_prep_save(row[n], connection) for row in chunk for n in names
            ]
            sql = (
                f"INSERT INTO {table} ({column_sql}) "  # noqa: S608
                f"VALUES {', '.join([placeholders] * len(chunk))} {conflict}"
            )
            cursor.execute(sql, params)
            written.update({key: transaction_id for transaction_id, key in cursor.fetchall()})
    return written


_STAGED = "billing_staged_transaction"


def _insert_transactions_pg(values: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """Insert on PostgreSQL: binary COPY into a session's temporary table, then one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING (no per-row parameters)."""
    names = list(_TRANSACTION_PG_TYPES)
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(n) for n in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('pg_temp.{_STAGED}')")
        if cursor.fetchone()[0] is None:
            columns = ", ".join(f"{quote(n)} {_TRANSACTION_PG_TYPES[n]}" for n in names)
            cursor.execute(f"CREATE TEMP TABLE {_STAGED} ({columns}) ON COMMIT DELETE ROWS")
        else:
            cursor.execute(f"TRUNCATE pg_temp.{_STAGED}")
        copy_sql = f"COPY pg_temp.{_STAGED} ({column_sql}) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(copy_sql) as copy:
            copy.set_types([_TRANSACTION_PG_TYPES[n] for n in names])
            for row in values:
                copy.write_row([row[n] for n in names])
        cursor.execute(
            f"INSERT INTO {quote(Transaction._meta.db_table)} ({column_sql}) "  # noqa: S608
            f"SELECT {column_sql} FROM pg_temp.{_STAGED} "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
        )
        return {key: transaction_id for transaction_id, key in cursor.fetchall()}


def _insert_entries(entries: list[tuple[int, int, int, str, datetime, str]]) -> None:
    if not entries:
        return
    if connection.vendor != "postgresql":
        Entry.objects.bulk_create(
            [Entry(**dict(zip(_ENTRY_COLUMNS, row, strict=True))) for row in entries],
            batch_size=1000,
        )
        return
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(c) for c in _ENTRY_COLUMNS)
    sql = f"COPY {quote(Entry._meta.db_table)} ({column_sql}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.set_types(["int8", "int8", "int8", "text", "timestamptz", "text"])
        for row in entries:
            copy.write_row(row)


def _apply_balances(deltas: dict[int, int]) -> None:
    """Add each account's net change to its balance, under row locks taken in id order.

    Refuses (InsufficientFunds) a change that takes prepaid funds below zero.
    """
    deltas = {a: d for a, d in deltas.items() if d}
    if not deltas:
        return
    locked = (
        Account.objects.select_for_update()
        .filter(id__in=list(deltas))
        .order_by("id")
        .values_list("id", "purpose", "balance_micros", "organization_id", "currency")
    )
    for account_id, purpose, balance, organization_id, currency in locked:
        if purpose in PREPAID_PURPOSES and balance + deltas[account_id] > 0:
            raise errors.InsufficientFunds(
                "The wallet cannot cover this charge.",
                details={
                    "organization_id": str(organization_id),
                    "currency": currency,
                    "available_micros": normal_balance(purpose, balance),
                    "needed_micros": deltas[account_id],
                },
            )
    try:
        add_to_column(Account, "balance_micros", deltas)
    except IntegrityError as exc:  # the database's own check (prepaid_never_below_zero)
        raise errors.InsufficientFunds("The wallet cannot cover this charge.") from exc


def reverse_transaction(
    *, transaction_id: int, memo: str = "", effective_at: datetime | None = None
) -> TransactionInfo:
    """Post the reversal of a transaction (every entry negated); reversing twice returns the
    same reversal. A reversal itself is not reversed: post a new transaction instead."""
    try:
        original = Transaction.objects.prefetch_related("entries__account").get(id=transaction_id)
    except Transaction.DoesNotExist as exc:
        raise errors.NotFound("Transaction not found.") from exc
    if original.kind == Transaction.Kind.REVERSAL:
        raise errors.Conflict("A reversal is not reversed; post a new transaction.")
    existing = Transaction.objects.filter(reverses_id=original.id).first()
    if existing is not None:
        return transaction_info(existing)
    new = reversal_of(original, memo=memo, effective_at=effective_at)
    try:
        return post_transaction(new)
    except IntegrityError as exc:  # reversed meanwhile under another key
        raise errors.AlreadyReversed("This transaction has been reversed already.") from exc


def reversal_of(
    original: Transaction, *, memo: str = "", effective_at: datetime | None = None
) -> NewTransaction:
    """Return the transaction that undoes `original` (its entries must be prefetched)."""
    legs = tuple(
        Leg(
            AccountKey(
                purpose=e.account.purpose,
                currency=e.currency,
                organization_id=e.account.organization_id,
            ),
            -e.amount_micros,
        )
        for e in original.entries.all()
    )
    return NewTransaction(
        idempotency_key=f"reversal:{original.idempotency_key}"[:200],
        kind=Transaction.Kind.REVERSAL,
        legs=legs,
        effective_at=effective_at or timezone.now(),
        memo=memo or f"Reversal of {original.kind} #{original.id}",
        usage_event_id=original.usage_event_id,
        agreement_id=original.agreement_id,
        revenue_report_id=original.revenue_report_id,
        reverses_id=original.id,
    )


def transaction_info(
    row: Transaction, *, organization_id: uuid.UUID | None = None, all_entries: bool = True
) -> TransactionInfo:
    """Describe a transaction; with `all_entries=False`, only `organization_id`'s entries."""
    entries = tuple(
        entry_info(e)
        for e in row.entries.select_related("account").order_by("id")
        if all_entries or e.account.organization_id == organization_id
    )
    return transaction_with_entries(row, entries)


def entry_info(e: Entry) -> EntryInfo:
    """Describe an entry (select its account with it)."""
    return EntryInfo(
        account_id=e.account_id,
        organization_id=e.account.organization_id,
        purpose=e.account.purpose,
        currency=e.currency,
        amount_micros=e.amount_micros,
    )


def transaction_with_entries(row: Transaction, entries: tuple[EntryInfo, ...]) -> TransactionInfo:
    """Describe a transaction with the entries given (those a reader may see)."""
    return TransactionInfo(
        id=row.id,
        idempotency_key=row.idempotency_key,
        kind=row.kind,
        effective_at=row.effective_at,
        created_at=row.created_at,
        memo=row.memo,
        usage_event_id=row.usage_event_id,
        agreement_id=row.agreement_id,
        revenue_report_id=row.revenue_report_id,
        external_ref=row.external_ref,
        reverses_id=row.reverses_id,
        entries=entries,
    )


def get_transaction(*, idempotency_key: str) -> TransactionInfo | None:
    """Return the transaction posted under a key, or None."""
    row = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    return None if row is None else transaction_info(row)


def new_key() -> str:
    """Return a fresh key for a transaction no outside event causes (an operator's credit)."""
    return f"manual:{uuid.uuid4()}"


def lock_accounts(keys: Iterable[AccountKey]) -> dict[AccountKey, tuple[int, int]]:
    """Open (if need be) and lock these accounts in id order; return {key: (id, balance)}.

    A writer that must read balances before it decides what to post (rating, which draws on
    wallets) locks every account it may touch first, so it never waits on a lock held by a
    writer that waits on it.
    """
    ids = account_ids(keys)
    balances = dict(
        Account.objects.select_for_update()
        .filter(id__in=list(ids.values()))
        .order_by("id")
        .values_list("id", "balance_micros")
    )
    return {key: (account_id, balances[account_id]) for key, account_id in ids.items()}


def posted_keys(keys: Iterable[str]) -> set[str]:
    """Return which of these idempotency keys have been posted."""
    wanted = list(keys)
    found: set[str] = set()
    step = 5000 if connection.vendor == "postgresql" else 900  # SQLite's parameter limit
    for start in range(0, len(wanted), step):
        found.update(
            Transaction.objects.filter(
                idempotency_key__in=wanted[start : start + step]
            ).values_list("idempotency_key", flat=True)
        )
    return found
