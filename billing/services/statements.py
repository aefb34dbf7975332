"""Monthly statements, aggregated in SQL: per account and kind of transaction, the count, debits
and credits of the month, and each account's balance when the month opened and closed.

Every statement is one SQL statement (one snapshot): the month's entries grouped by account and
kind (entries carry their transaction's kind and time, so no join to the transactions), and the
balance rows less what was posted with a later time. A closing balance is `balance_micros`
minus the entries dated after the month, an opening balance the closing one less the month's
net: neither sums the account's history. On PostgreSQL an organization's statement reads its
accounts' entries of the month through the (account, time) index; the whole platform's reads
the month's block ranges through the BRIN index on the entries' time.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from accounts import services as accounts
from billing.models import Account, Entry
from billing.services.balances import billing_organization_id
from billing.services.rating.reports import period_bounds
from billing.services.types import normal_balance


@dataclass(frozen=True)
class StatementLine:
    """What one kind of transaction moved on one of the organization's accounts."""

    account: str  # the account's purpose
    currency: str
    kind: str
    transactions: int
    debit_micros: int
    credit_micros: int  # a positive number


@dataclass(frozen=True)
class StatementAccount:
    """An account's balance on its normal side when the month opened and closed."""

    account: str
    currency: str
    opening_micros: int
    closing_micros: int


@dataclass(frozen=True)
class Statement:
    """An organization's month (`organization_id` None: the platform's own accounts, or with
    `whole_platform`, every account of every organization added up by purpose)."""

    organization_id: uuid.UUID | None
    period: str
    starts_at: datetime
    ends_at: datetime
    lines: tuple[StatementLine, ...]
    accounts: tuple[StatementAccount, ...]
    whole_platform: bool = False


def statement(
    *, actor: accounts.Actor, period: str, organization_id: uuid.UUID | str | None = None
) -> Statement:
    """Return the acting organization's statement for a month (YYYY-MM)."""
    org_id = billing_organization_id(actor, organization_id)
    return statement_for(organization_id=org_id, period=period)


def statement_for(*, organization_id: uuid.UUID | None, period: str) -> Statement:
    """Return an organization's statement for a month (None: the platform's own accounts)."""
    start, end = period_bounds(period)
    rows = (
        Account.objects.filter(organization__isnull=True)
        if organization_id is None
        else Account.objects.filter(organization_id=organization_id)
    ).order_by("id")
    found = {a.id: (a.purpose, a.currency) for a in rows.only("id", "purpose", "currency")}
    lines, balances = _aggregate(list(found), start, end)
    return _statement(organization_id, period, start, end, found, lines, balances)


def month_end_statements(*, period: str) -> list[Statement]:
    """Return every organization's statement for a month, and the platform's, from one pass
    over the month's entries (what a month-end run sends out), in organization order."""
    start, end = period_bounds(period)
    owners: dict[int, uuid.UUID | None] = {}
    found: dict[uuid.UUID | None, dict[int, tuple[str, str]]] = defaultdict(dict)
    for account_id, organization_id, purpose, currency in Account.objects.order_by(
        "id"
    ).values_list("id", "organization_id", "purpose", "currency"):
        owners[account_id] = organization_id
        found[organization_id][account_id] = (purpose, currency)
    lines, balances = _aggregate(None, start, end)
    lines_of: dict[uuid.UUID | None, list[tuple[int, str, int, int, int]]] = defaultdict(list)
    for line in lines:
        lines_of[owners[line[0]]].append(line)
    statements = [
        _statement(owner, period, start, end, found[owner], lines_of[owner], balances)
        for owner in sorted(found, key=lambda o: (o is not None, str(o)))
    ]
    return [s for s in statements if s.lines or s.accounts]


def platform_statement(*, period: str) -> Statement:
    """Return the whole platform's month: every account of every organization and of the
    platform, added up by purpose and currency (what agents hold and owe, what providers are
    owed, what the platform took)."""
    start, end = period_bounds(period)
    purposes = {a: (p, c) for a, p, c in Account.objects.values_list("id", "purpose", "currency")}
    lines, balances = _aggregate(None, start, end)
    summed_lines: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for account_id, kind, count, debit, credit in lines:
        purpose, currency = purposes[account_id]
        total = summed_lines[(purpose, currency, kind)]
        total[0] += count
        total[1] += debit
        total[2] += credit
    summed_balances: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    net = _net(lines)
    for account_id, (balance, later) in balances.items():
        purpose, currency = purposes[account_id]
        closing = balance - later
        summed_balances[(purpose, currency)][0] += closing - net.get(account_id, 0)
        summed_balances[(purpose, currency)][1] += closing
    return Statement(
        organization_id=None,
        period=period,
        starts_at=start,
        ends_at=end,
        lines=tuple(
            StatementLine(
                account=purpose,
                currency=currency,
                kind=kind,
                transactions=count,
                debit_micros=debit,
                credit_micros=credit,
            )
            for (purpose, currency, kind), (count, debit, credit) in sorted(summed_lines.items())
        ),
        accounts=tuple(
            StatementAccount(
                account=purpose,
                currency=currency,
                opening_micros=normal_balance(purpose, opening),
                closing_micros=normal_balance(purpose, closing),
            )
            for (purpose, currency), (opening, closing) in sorted(summed_balances.items())
            if opening or closing
        ),
        whole_platform=True,
    )


def _net(lines: list[tuple[int, str, int, int, int]]) -> dict[int, int]:
    net: defaultdict[int, int] = defaultdict(int)
    for account_id, _, _, debit, credit in lines:
        net[account_id] += debit - credit
    return net


def _statement(
    organization_id: uuid.UUID | None,
    period: str,
    start: datetime,
    end: datetime,
    found: dict[int, tuple[str, str]],
    lines: list[tuple[int, str, int, int, int]],
    balances: dict[int, tuple[int, int]],
) -> Statement:
    net = _net(lines)
    account_lines = []
    for account_id, (purpose, currency) in found.items():
        balance, later = balances.get(account_id, (0, 0))
        closing = balance - later
        opening = closing - net.get(account_id, 0)
        if opening or closing or account_id in net:
            account_lines.append(
                StatementAccount(
                    account=purpose,
                    currency=currency,
                    opening_micros=normal_balance(purpose, opening),
                    closing_micros=normal_balance(purpose, closing),
                )
            )
    return Statement(
        organization_id=organization_id,
        period=period,
        starts_at=start,
        ends_at=end,
        lines=tuple(
            StatementLine(
                account=found[account_id][0],
                currency=found[account_id][1],
                kind=kind,
                transactions=count,
                debit_micros=debit,
                credit_micros=credit,
            )
            for account_id, kind, count, debit, credit in sorted(lines)
        ),
        accounts=tuple(account_lines),
    )


def _aggregate(
    account_ids: list[int] | None, start: datetime, end: datetime
) -> tuple[list[tuple[int, str, int, int, int]], dict[int, tuple[int, int]]]:
    """Return the month's lines (account id, kind, count, debits, credits) and each account's
    (balance row, sum of entries dated at or after `end`), read in one statement; only the
    named accounts, or all of them (None)."""
    if account_ids == []:
        return [], {}
    quote = connection.ops.quote_name
    entries, account_table = quote(Entry._meta.db_table), quote(Account._meta.db_table)
    params: list[Any] = []
    in_accounts = ""
    if account_ids is not None:
        in_accounts = f"account_id IN ({', '.join(['%s'] * len(account_ids))}) AND "
    # Parameters in the order their placeholders appear in the SQL below.
    for bounds in ((start, end), (end,)):
        params += [*(account_ids or []), *bounds]
    params += account_ids or []
    sql = f"""
        WITH month AS (
            SELECT account_id, kind, count(*) AS n,
                SUM(CASE WHEN amount_micros > 0 THEN amount_micros ELSE 0 END) AS debit,
                SUM(CASE WHEN amount_micros < 0 THEN -amount_micros ELSE 0 END) AS credit
            FROM {entries}
            WHERE {in_accounts}effective_at >= %s AND effective_at < %s
            GROUP BY account_id, kind
        ), later AS (
            SELECT account_id, SUM(amount_micros) AS total
            FROM {entries}
            WHERE {in_accounts}effective_at >= %s
            GROUP BY account_id
        )
        SELECT account_id, kind, n, debit, credit, NULL, NULL FROM month
        UNION ALL
        SELECT a.id, NULL, NULL, NULL, NULL, a.balance_micros, COALESCE(l.total, 0)
        FROM {account_table} a LEFT JOIN later l ON l.account_id = a.id
        {"WHERE a.id IN (" + ", ".join(["%s"] * len(account_ids)) + ")" if account_ids else ""}
    """  # noqa: S608
    lines: list[tuple[int, str, int, int, int]] = []
    balances: dict[int, tuple[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for account_id, kind, count, debit, credit, balance, later in cursor.fetchall():
            if kind is None:
                balances[account_id] = (int(balance), int(later))
            else:
                lines.append((account_id, kind, int(count), int(debit), int(credit)))
    return lines, balances
