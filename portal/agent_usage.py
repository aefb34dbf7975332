"""The agent operator's usage and cost: what its answers used and spent, by day, provider and
collection (licensing's usage reports), with charts, CSV exports and its wallet (billing)."""

import uuid
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from billing import services as billing
from catalog import services as catalog
from core.errors import DomainError
from core.money import format_micros
from licensing import services as licensing
from portal.agent_forms import UsagePeriodForm
from portal.charts import Bar, Share, column_chart, share_bars
from portal.pages import actor_of, organization_page, show_error
from portal.tables import Column, Link, Money, Table, render_page, table

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30


def _money(micros: int) -> str:
    return format_micros(micros, min_places=2, group=True)


def _period(request) -> tuple[UsagePeriodForm, date, date, int]:
    """Return the period asked for: ?days= of PERIODS, or ?since=&until= (checked by the form
    and by licensing); a bad period is shown next to its field and the default one is used."""
    until = timezone.now().date()
    form = UsagePeriodForm(request.GET if {"since", "until"} & set(request.GET) else None)
    if form.is_bound:
        if form.is_valid():
            since_asked = form.cleaned_data["since"]
            until = form.cleaned_data["until"] or until
            since = since_asked or until - timedelta(days=DEFAULT_DAYS - 1)
            return form, since, until, 200
        status = 400
    else:
        status = 200
    try:
        days = int(request.GET.get("days") or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    days = days if days in PERIODS else DEFAULT_DAYS
    return form, until - timedelta(days=days - 1), until, status


def _group_name(key: str, names: dict[uuid.UUID, str], gone: str) -> str:
    try:
        return names.get(uuid.UUID(key), gone)
    except ValueError:
        return gone


def _ranked(groups) -> list[licensing.UsageGroup]:
    return sorted(groups, key=lambda g: (-g.amount_micros, -g.events, g.key))


def _group_table(name, caption, ranked, names, currency, *, first, gone) -> Table:
    return table(
        name,
        caption,
        [
            first,
            Column("Answers", numeric=True),
            Column("Searches", numeric=True),
            Column("Sources used", numeric=True),
            Column(f"Cost ({currency})", numeric=True),
        ],
        (
            (
                _group_name(g.key, names, gone),
                g.answers,
                g.searches,
                g.events,
                Money(g.amount_micros),
            )
            for g in ranked
        ),
        empty="Nothing used in this period.",
    )


def _shares(ranked, names, currency, *, gone, title):
    return share_bars(
        [
            Share(
                _group_name(g.key, names, gone),
                g.amount_micros,
                f"{_money(g.amount_micros)} {currency}",
            )
            for g in ranked
        ],
        title=title,
    )


def _caps_table(org, licences) -> Table:
    return table(
        "caps",
        "Spend against caps",
        ["Licence", "Provider", Column("Spent", numeric=True), Column("Spend cap", numeric=True)],
        (
            (
                Link(
                    a.offer.name,
                    reverse(
                        "portal:agreement",
                        kwargs={"organization_id": org.id, "agreement_id": a.id},
                    ),
                ),
                a.offer.provider_name,
                Money(a.spent_micros),
                Money(a.spend_cap_micros) if a.spend_cap_micros is not None else "No cap",
            )
            for a in licences
        ),
        empty="No active licence: accept an offer in the catalog.",
    )


@organization_page(accounts.AGENT)
def usage_page(request, org):
    """What the agent's answers used and cost, by day, provider and collection."""
    acting = {"actor": actor_of(request), "organization_id": org.id}
    form, since, until, status = _period(request)
    try:
        usage = licensing.summarize_usage(
            **acting, since=since, until=until, group_by=("day", "provider", "collection")
        )
    except DomainError as exc:  # a period licensing refuses (too long, reversed)
        status = show_error(form, exc)
        until = timezone.now().date()
        since = until - timedelta(days=DEFAULT_DAYS - 1)
        usage = licensing.summarize_usage(
            **acting, since=since, until=until, group_by=("day", "provider", "collection")
        )
    currency = usage.currency
    days = (usage.until - usage.since).days + 1
    by_day = {g.key: g for g in usage.groups["day"]}
    calendar = [usage.since + timedelta(days=n) for n in range(days)]
    daily = [(day, by_day.get(day.isoformat())) for day in calendar]
    providers = accounts.organization_names(
        organization_ids=[g.key for g in usage.groups["provider"] if g.key not in ("", "None")]
    )
    collections = catalog.collection_names(
        collection_ids=[g.key for g in usage.groups["collection"] if g.key not in ("", "None")]
    )
    ranked_providers = _ranked(usage.groups["provider"])
    ranked_collections = _ranked(usage.groups["collection"])
    provider_table = _group_table(
        "providers",
        "By provider",
        ranked_providers,
        providers,
        currency,
        first="Provider",
        gone="(deleted organization)",
    )
    collection_table = _group_table(
        "collections",
        "By collection",
        ranked_collections,
        collections,
        currency,
        first="Collection",
        gone="(deleted collection)",
    )
    daily_table = table(
        "daily",
        "Per day",
        [
            "Day",
            Column("Answers", numeric=True),
            Column("Searches", numeric=True),
            Column("Sources used", numeric=True),
            Column(f"Cost ({currency})", numeric=True),
        ],
        (
            (
                day,
                g.answers if g else 0,
                g.searches if g else 0,
                g.events if g else 0,
                Money(g.amount_micros if g else 0),
            )
            for day, g in reversed(daily)
        ),
    )
    label = "%b %d" if days > 7 else "%a %d"
    every = max(1, days // 6)
    cost_chart = column_chart(
        [
            Bar(
                d.strftime(label),
                g.amount_micros if g else 0,
                f"{_money(g.amount_micros if g else 0)} {currency}",
            )
            for d, g in daily
        ],
        chart_id="cost-chart",
        title=f"Cost per day ({currency}), {usage.since:%b %d} to {usage.until:%b %d}",
        axis_text=_money,
        every=every,
    )
    answers_chart = column_chart(
        [
            Bar(d.strftime(label), g.answers if g else 0, f"{g.answers if g else 0} answers")
            for d, g in daily
        ],
        chart_id="answers-chart",
        title=f"Answers per day, {usage.since:%b %d} to {usage.until:%b %d}",
        every=every,
        alt=True,
    )
    balance = billing.get_balance(**acting)
    return render_page(
        request,
        "portal/agent/usage.html",
        {
            "org": org,
            "form": form,
            "usage": usage,
            "days": days,
            "periods": PERIODS,
            "cost_chart": cost_chart,
            "answers_chart": answers_chart,
            "provider_bars": _shares(
                ranked_providers,
                providers,
                currency,
                gone="(deleted organization)",
                title="Cost by provider",
            ),
            "collection_bars": _shares(
                ranked_collections,
                collections,
                currency,
                gone="(deleted collection)",
                title="Cost by collection",
            ),
            "wallet": next((c for c in balance.currencies if c.currency == currency), None),
            "postpaid": balance.postpaid,
        },
        tables=[
            daily_table,
            provider_table,
            collection_table,
            _caps_table(org, licensing.list_agreements(**acting, status="active")),
        ],
        filename=f"usage-{usage.since}-{usage.until}",
        status=status,
    )
