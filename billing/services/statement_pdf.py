"""An organization's monthly statement as a PDF: the statement of `statements.py`, laid out
from a Django template (every value escaped) and printed by WeasyPrint.

WeasyPrint is given the HTML as a string and a URL fetcher that fetches nothing: a statement
refers to no file, image or web address, so nothing in it can make the server fetch one.
"""

import calendar
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NoReturn

from django.template.loader import render_to_string
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import Purpose, Transaction
from billing.services.balances import billing_organization_id
from billing.services.statements import Statement, statement_for
from core.money import format_micros

PDF_MEDIA_TYPE = "application/pdf"


@dataclass(frozen=True)
class _Line:
    kind: str
    transactions: int
    debits: str
    credits: str


@dataclass(frozen=True)
class _Account:
    name: str
    currency: str
    opening: str
    closing: str
    lines: tuple[_Line, ...]
    transactions: int
    debits: str
    credits: str


def _money(micros: int, currency: str) -> str:
    return f"{format_micros(micros, min_places=2, group=True)} {currency}"


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"a statement fetches nothing ({url[:40]!r})")


def statement_pdf(
    *, actor: accounts.Actor, period: str, organization_id: uuid.UUID | str | None = None
) -> bytes:
    """Return the acting organization's statement for a month (YYYY-MM) as a PDF."""
    org_id = billing_organization_id(actor, organization_id)
    org = accounts.get_organization(actor=actor, organization_id=org_id)
    return render_statement_pdf(statement_for(organization_id=org_id, period=period), org.name)


def render_statement_pdf(found: Statement, organization_name: str) -> bytes:
    """Return a statement laid out as a PDF for the organization named."""
    html = render_to_string("billing/statement.html", statement_context(found, organization_name))
    try:
        import weasyprint  # type: ignore[import-untyped]  # loads Pango: only for a PDF

        pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
    except OSError as exc:  # Pango or its fonts missing on this machine
        raise errors.Conflict(
            "PDF statements are unavailable on this deployment (WeasyPrint cannot load Pango).",
            code="pdf_unavailable",
        ) from exc
    return pdf


def statement_context(found: Statement, organization_name: str) -> dict[str, Any]:
    """Return what the statement template shows, every amount written out in its currency."""
    purposes: dict[str, str] = dict(Purpose.choices)
    kinds: dict[str, str] = dict(Transaction.Kind.choices)
    lines: defaultdict[tuple[str, str], list[_Line]] = defaultdict(list)
    sums: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in found.lines:
        key = (line.account, line.currency)
        lines[key].append(
            _Line(
                kind=kinds.get(line.kind, line.kind),
                transactions=line.transactions,
                debits=_money(line.debit_micros, line.currency),
                credits=_money(line.credit_micros, line.currency),
            )
        )
        sums[key][0] += line.transactions
        sums[key][1] += line.debit_micros
        sums[key][2] += line.credit_micros
    balances = {(a.account, a.currency): a for a in found.accounts}
    shown = []
    for key in sorted(set(balances) | set(lines)):
        purpose, currency = key
        balance = balances.get(key)
        count, debits, credits = sums[key]
        shown.append(
            _Account(
                name=purposes.get(purpose, purpose),
                currency=currency,
                opening=_money(balance.opening_micros if balance else 0, currency),
                closing=_money(balance.closing_micros if balance else 0, currency),
                lines=tuple(lines[key]),
                transactions=count,
                debits=_money(debits, currency),
                credits=_money(credits, currency),
            )
        )
    year, month = (int(part) for part in found.period.split("-"))
    return {
        "organization_name": organization_name,
        "organization_id": found.organization_id,
        "period": found.period,
        "period_name": f"{calendar.month_name[month]} {year}",
        "starts_at": found.starts_at,
        "ends_at": found.ends_at,
        "accounts": shown,
        "generated_at": timezone.now(),
    }
