"""Tables the portal shows and exports: one definition renders as HTML and as CSV.

A page builds its `Table`s and answers `?format=csv&table=<name>` with that table as CSV
(`render_page`), so every table on every page can be downloaded exactly as it is shown.
"""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.http import Http404, HttpResponse
from django.shortcuts import render

from core.money import format_micros


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Money:
    micros: int


@dataclass(frozen=True)
class Badge:
    text: str


Cell = str | int | Link | Money | Badge | date | datetime | None


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = "Nothing yet."


def table(
    name: str,
    caption: str,
    columns: Sequence[str | Column],
    rows: Iterable[Sequence[Cell]],
    *,
    empty: str = "Nothing yet.",
) -> Table:
    """Return a table; a column given as a string is text, `Column(..., numeric=True)` a number."""
    cols = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
    return Table(name, caption, cols, tuple(tuple(r) for r in rows), empty)


# A text cell a spreadsheet would read as a formula is written with a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(cell: Cell, *, for_csv: bool = False) -> str:
    """Return a cell as text: money to the micro, times in UTC as YYYY-MM-DD HH:MM."""
    if cell is None:
        return ""
    if isinstance(cell, Money):
        return format_micros(cell.micros, min_places=2, group=not for_csv)
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, datetime):
        return cell.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, date):
        return cell.isoformat()
    text = cell.text if isinstance(cell, Link | Badge) else str(cell)
    if for_csv and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_response(tab: Table, *, filename: str) -> HttpResponse:
    """Return the table as a CSV download (UTF-8, a header row, CRLF line ends)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([c.title for c in tab.columns])
    for row in tab.rows:
        writer.writerow([cell_text(cell, for_csv=True) for cell in row])
    return response


def render_page(
    request,
    template: str,
    context: dict,
    *,
    tables: Sequence[Table],
    filename: str,
    status: int = 200,
):
    """Render the page, or with `?format=csv&table=<name>` one of its tables as CSV (404 for
    a table the page does not have)."""
    by_name = {t.name: t for t in tables}
    if request.GET.get("format") == "csv":
        wanted = by_name.get(request.GET.get("table", ""))
        if wanted is None:
            raise Http404("No such table.")
        return csv_response(wanted, filename=f"{filename}-{wanted.name}.csv")
    return render(request, template, {**context, "tables": by_name}, status=status)
