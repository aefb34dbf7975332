"""The advertiser's performance (impressions, clicks, click-through rate, spend and average
prices by day, campaign and ad unit, with charts and CSV) and the decision traces of the
auctions its units took part in (why each won or lost). Figures come from ads.services'
reports and traces, which count only this advertiser's events and show only its own units."""

import uuid
from datetime import date, timedelta

from django.utils import timezone

from accounts import services as accounts
from ads import services as ads
from core.errors import DomainError
from core.money import format_micros
from portal.advertiser_forms import CURRENCY
from portal.advertiser_views import REVIEW_TEXT, unit_ids_of, url
from portal.agent_forms import UsagePeriodForm
from portal.charts import Bar, column_chart
from portal.pages import actor_of, organization_page
from portal.tables import Column, Link, Money, Table, render_page, table

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_REPORT_DAYS = 366  # what ads.ad_report covers at most (it refuses more itself too)
TRACES_PER_PAGE = 20
CURRENCY_COLUMNS = ("Spend", "Average CPM", "Average CPC")
# ads.services' report arguments -> the period form's fields
PERIOD_FIELDS = {"from": "since", "to": "until"}
REASON_TEXT = {
    "won": "Won: shown with the answer",
    "outbid": "Lost: another ad scored higher (outbid)",
    "below_reserve": "Lost: its score did not beat showing no ad at all (the reserve)",
    "below_floor": "Lost: not relevant enough to the question and its sources",
    "below_price_floor": "Lost: its highest bid is below the lowest price of its bid type",
    "not_approved": "Not considered: its current version waits for review or was rejected",
    "out_of_budget": "Not considered: the campaign's budget or your ad funds could not pay",
    "paced": "Not considered: held back to spread the day's budget evenly (pacing)",
    "blocked": "Not considered: the provider, the agent or a sensitive topic keeps it away",
    "frequency_capped": "Not considered: this agent had been shown it often enough",
    "off_schedule": "Not considered: its campaign had not started or had ended",
}


def reason_text(code: str) -> str:
    return REASON_TEXT.get(code, code.replace("_", " ").capitalize())


def _money(micros: int | None) -> str:
    return "—" if micros is None else format_micros(micros, min_places=2, group=True)


def ctr_text(ppm: int) -> str:
    """Return a click-through rate in parts per million as a percentage, exactly."""
    return f"{format_micros(ppm * 100, min_places=2)}%"


def _period(request) -> tuple[UsagePeriodForm, date, date, int]:
    """Return the period asked for: ?days= of PERIODS, or ?since=&until= (checked by the form
    and by ads.services); a bad one is shown next to its field and the default is used."""
    until = timezone.now().date()
    form = UsagePeriodForm(request.GET if {"since", "until"} & set(request.GET) else None)
    if form.is_bound:
        if form.is_valid():
            end = form.cleaned_data["until"] or until
            start = form.cleaned_data["since"] or end - timedelta(days=DEFAULT_DAYS - 1)
            if start > end:
                form.add_error("until", "The end is before the start.")
            elif (end - start).days >= MAX_REPORT_DAYS:
                form.add_error("since", f"At most {MAX_REPORT_DAYS} days at once.")
            else:
                return form, start, end, 200
        return form, until - timedelta(days=DEFAULT_DAYS - 1), until, 400
    try:
        days = int(request.GET.get("days") or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    days = days if days in PERIODS else DEFAULT_DAYS
    return form, until - timedelta(days=days - 1), until, 200


def _columns(first: str) -> list:
    return [
        first,
        Column("Shown", numeric=True),
        Column("Clicks", numeric=True),
        Column("CTR", numeric=True),
        *(Column(f"{name} ({CURRENCY})", numeric=True) for name in CURRENCY_COLUMNS),
    ]


def _figures(row: ads.ReportRow) -> tuple:
    return (
        row.impressions,
        row.clicks,
        ctr_text(row.ctr_ppm),
        Money(row.spend_micros),
        Money(row.avg_cpm_micros) if row.avg_cpm_micros is not None else "—",
        Money(row.avg_cpc_micros) if row.avg_cpc_micros is not None else "—",
    )


def _reports(request, org, form, since, until):
    """Return the reports by day, campaign and unit; a period ads.services refuses is shown
    next to its field, and the default period is reported instead."""
    actor = actor_of(request)
    try:
        return [
            ads.ad_report(
                actor=actor, organization_id=org.id, group=g, date_from=since, date_to=until
            )
            for g in ("day", "campaign", "unit")
        ], 200
    except DomainError as exc:
        if exc.status == 404:
            raise
        fields = [PERIOD_FIELDS[name] for name in exc.details or {} if name in PERIOD_FIELDS]
        form.add_error(fields[0] if fields else None, exc.message)
        reports = [
            ads.ad_report(actor=actor, organization_id=org.id, group=g)
            for g in ("day", "campaign", "unit")
        ]
        return reports, 400


@organization_page(accounts.ADVERTISER)
def performance(request, org):
    """Impressions, clicks, CTR, spend and average prices by day, campaign and ad unit."""
    form, since, until, status = _period(request)
    (by_day, by_campaign, by_unit), refused = _reports(request, org, form, since, until)
    status = max(status, refused)
    since, until = by_day.date_from, by_day.date_to
    days = (until - since).days + 1
    rows = {row.key: row for row in by_day.rows}
    calendar = [since + timedelta(days=n) for n in range(days)]
    empty = ads.ReportRow(
        key="",
        name="",
        impressions=0,
        clicks=0,
        ctr_ppm=0,
        spend_micros=0,
        avg_cpm_micros=None,
        avg_cpc_micros=None,
        cpm_impressions=0,
        cpm_spend_micros=0,
        cpc_clicks=0,
        cpc_spend_micros=0,
    )
    daily = [(day, rows.get(day.isoformat(), empty)) for day in calendar]
    tables: list[Table] = [
        table(
            "daily",
            "By day",
            _columns("Day (UTC)"),
            ((day, *_figures(row)) for day, row in reversed(daily)),
        ),
        table(
            "campaigns",
            "By campaign",
            _columns("Campaign"),
            (
                (Link(r.name, url("campaign", org, campaign_id=r.key)), *_figures(r))
                for r in by_campaign.rows
            ),
            empty="No ad of yours was shown in this period.",
        ),
        table(
            "units",
            "By ad unit",
            _columns("Ad"),
            (
                (Link(r.name, url("ad-unit", org, unit_id=r.key)), *_figures(r))
                for r in by_unit.rows
            ),
            empty="No ad of yours was shown in this period.",
        ),
    ]
    label = "%b %d" if days > 7 else "%a %d"
    every = max(1, days // 6)
    impressions_chart = column_chart(
        [Bar(d.strftime(label), r.impressions, f"{r.impressions} shown") for d, r in daily],
        chart_id="impressions-chart",
        title=f"Times your ads were shown per day, {since:%b %d} to {until:%b %d}",
        every=every,
    )
    spend_chart = column_chart(
        [
            Bar(d.strftime(label), r.spend_micros, f"{_money(r.spend_micros)} {CURRENCY}")
            for d, r in daily
        ],
        chart_id="spend-chart",
        title=f"Spend per day ({CURRENCY}), {since:%b %d} to {until:%b %d}",
        axis_text=_money,
        every=every,
        alt=True,
    )
    totals = by_day.totals
    return render_page(
        request,
        "portal/advertiser/performance.html",
        {
            "org": org,
            "form": form,
            "days": days if not form.is_bound else None,
            "periods": PERIODS,
            "since": since,
            "until": until,
            "totals": totals,
            "ctr": ctr_text(totals.ctr_ppm),
            "avg_cpm": _money(totals.avg_cpm_micros),
            "avg_cpc": _money(totals.avg_cpc_micros),
            "currency": CURRENCY,
            "impressions_chart": impressions_chart,
            "spend_chart": spend_chart,
        },
        tables=tables,
        filename=f"ad-performance-{since}-{until}",
        status=status,
    )


def _before(request) -> int | None:
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        return None
    return before if before > 0 else None


def _unit_filter(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.GET.get("unit", ""))
    except ValueError:
        return None


def _candidate_row(org, units: dict, c: ads.TraceRow) -> tuple:
    """Return (ad, own, reason code, reason in words, score, price) of a trace's candidate:
    the advertiser's own unit by its title, any other by its reason only."""
    ad: Link | str = "Another advertiser's ad"
    if c.own and c.unit_id is not None:
        mine = units.get(c.unit_id)
        title = mine.title if mine else "(deleted ad)"
        ad = Link(title, url("ad-unit", org, unit_id=c.unit_id))
    price = Money(c.price_micros) if c.price_micros is not None else ""
    score = f"{c.score:.4f}" if c.score is not None else ""
    return (ad, c.own, c.reason, reason_text(c.reason), score, price)


@organization_page(accounts.ADVERTISER)
def traces(request, org):
    """The auctions the advertiser's units took part in: why each of its units won or lost,
    beside the reasons (only) of the other candidates."""
    units = unit_ids_of(request, org)
    chosen = _unit_filter(request)
    if request.GET.get("unit") and chosen is None:
        chosen = uuid.UUID(int=0)  # not an id: no unit of theirs, so the 404 page
    page = ads.list_traces(
        actor=actor_of(request),
        organization_id=org.id,
        unit_id=chosen,
        before_id=_before(request),
        limit=TRACES_PER_PAGE,
    )
    auctions, flat = [], []
    for trace in page.results:
        rows = [_candidate_row(org, units, c) for c in trace.candidates]
        flat.extend((trace.created_at, trace.auction_id, *row[:1], *row[3:]) for row in rows)
        omitted = sorted(trace.omitted.items(), key=lambda item: (-item[1], item[0]))
        auctions.append(
            {
                "trace": trace,
                "rows": rows,
                "omitted": [(n, reason_text(code)) for code, n in omitted],
                "won": any(c.own and c.reason == "won" for c in trace.candidates),
            }
        )
    tab = table(
        "candidates",
        "Candidates",
        [
            "Auction time (UTC)",
            "Auction",
            "Ad",
            "Won or lost, and why",
            Column("Score", numeric=True),
            Column(f"Price per event ({CURRENCY})", numeric=True),
        ],
        flat,
        empty="None of your ads took part in an auction yet.",
    )
    query = {"unit": str(chosen)} if chosen else {}
    return render_page(
        request,
        "portal/advertiser/traces.html",
        {
            "org": org,
            "auctions": auctions,
            "units": sorted(units.values(), key=lambda u: u.title.casefold()),
            "chosen": chosen,
            "chosen_unit": units.get(chosen) if chosen else None,
            "next_before": page.next_before_id,
            "query": query,
            "review_text": REVIEW_TEXT,
            "currency": CURRENCY,
        },
        tables=[tab],
        filename="ad-traces",
    )
