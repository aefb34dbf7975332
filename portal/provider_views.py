"""The provider's overview (usage, attribution and earnings, with charts) and its licensees.

Usage comes from licensing's reports (what agents' answers used and were charged), earnings
from billing's ledger (what was credited to the provider), balances from billing."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import services as accounts
from billing import services as billing
from catalog import services as catalog
from core.money import format_micros
from licensing import errors as licensing_errors
from licensing import services as licensing
from portal.charts import Bar, Share, column_chart, share_bars
from portal.pages import actor_of, organization_page
from portal.tables import Badge, Column, Link, Money, render_page, table

PERIODS = (7, 30, 90)
TOP = 10
PAYMENT_TEXT = dict(licensing.PAYMENT_TYPE_CHOICES)


def _money(micros: int) -> str:
    return format_micros(micros, min_places=2, group=True)


def _days(request) -> int:
    try:
        days = int(request.GET.get("days") or 30)
    except ValueError:
        return 30
    return days if days in PERIODS else 30


def _document_link(org, document_id: str, titles: dict[int, str]):
    if document_id in ("", "None"):
        return "(no document)"
    title = titles.get(int(document_id))
    if title is None:
        return f"Deleted document {document_id}"
    return Link(title, f"/orgs/{org.id}/documents/{document_id}/")


@organization_page(accounts.PROVIDER)
def dashboard(request, org):
    """Uses and earnings per day, top documents and agents, shares of attribution weight."""
    actor = actor_of(request)
    days = _days(request)
    until = timezone.now().date()
    since = until - timedelta(days=days - 1)
    acting = {"actor": actor, "organization_id": org.id}
    usage = licensing.summarize_usage(
        **acting,
        role=accounts.PROVIDER,
        since=since,
        until=until,
        group_by=("day", "document", "agent"),
    )
    earned = {
        e.day: e.earned_micros for e in billing.earnings_by_day(**acting, since=since, until=until)
    }
    shares = licensing.attribution_shares(**acting, since=since, until=until)
    balance = billing.get_balance(**acting)

    by_day = {g.key: g for g in usage.groups["day"]}
    calendar = [since + timedelta(days=n) for n in range(days)]
    daily = [(day, by_day.get(day.isoformat()), earned.get(day, 0)) for day in calendar]
    top_documents = sorted(usage.groups["document"], key=lambda g: (-g.events, g.key))[:TOP]
    top_agents = sorted(usage.groups["agent"], key=lambda g: (-g.events, g.key))[:TOP]
    titles = {
        d.id: d.title or d.external_id
        for d in catalog.get_documents(
            document_ids=[int(g.key) for g in top_documents if g.key.isdigit()]
        )
        if str(d.organization_id) == str(org.id)
    }
    names = accounts.organization_names(
        organization_ids=[g.key for g in top_agents if g.key not in ("", "None")]
    )
    names = {str(k): v for k, v in names.items()}

    tables = [
        table(
            "daily",
            "Per day",
            [
                "Day",
                Column("Answers", numeric=True),
                Column("Passages used", numeric=True),
                Column("Charged to agents", numeric=True),
                Column("Earned", numeric=True),
            ],
            (
                (
                    day,
                    group.answers if group else 0,
                    group.events if group else 0,
                    Money(group.amount_micros if group else 0),
                    Money(earned_micros),
                )
                for day, group, earned_micros in reversed(daily)
            ),
        ),
        table(
            "documents",
            "Top documents",
            [
                "Document",
                Column("Answers", numeric=True),
                Column("Passages used", numeric=True),
                Column("Charged to agents", numeric=True),
            ],
            (
                (_document_link(org, g.key, titles), g.answers, g.events, Money(g.amount_micros))
                for g in top_documents
            ),
            empty="No document of yours was used in this period.",
        ),
        table(
            "agents",
            "Top agents",
            [
                "Agent",
                Column("Answers", numeric=True),
                Column("Passages used", numeric=True),
                Column("Charged to agents", numeric=True),
            ],
            (
                (
                    names.get(g.key, "(deleted organization)"),
                    g.answers,
                    g.events,
                    Money(g.amount_micros),
                )
                for g in top_agents
            ),
            empty="No agent used your content in this period.",
        ),
        table(
            "attribution",
            "Answers by your share of attribution",
            ["Your sources' share of the answer", Column("Answers", numeric=True)],
            ((b.label, b.answers) for b in shares),
        ),
    ]
    label = "%b %d" if days > 7 else "%a %d"
    uses_chart = column_chart(
        [
            Bar(d.strftime(label), g.events if g else 0, f"{g.events if g else 0} passages")
            for d, g, _ in daily
        ],
        chart_id="uses-chart",
        title=f"Passages used per day, last {days} days",
        every=max(1, days // 6),
    )
    earnings_chart = column_chart(
        [Bar(d.strftime(label), e, f"{_money(e)} {usage.currency}") for d, _, e in daily],
        chart_id="earnings-chart",
        title=f"Earnings per day ({usage.currency}), last {days} days",
        axis_text=_money,
        every=max(1, days // 6),
        alt=True,
    )
    answers_total = sum(b.answers for b in shares)
    weight_bars = share_bars(
        [
            Share(
                b.label,
                b.answers,
                f"{b.answers} ({100 * b.answers / answers_total:.0f}%)" if answers_total else "0",
            )
            for b in shares
        ],
        title="Answers by your share of attribution",
        slices=True,
    )
    document_bars = share_bars(
        [
            Share(
                getattr(link, "text", str(link)),
                g.events,
                f"{g.events} use{'s' if g.events != 1 else ''}",
                getattr(link, "href", ""),
            )
            for g in top_documents
            for link in [_document_link(org, g.key, titles)]
        ],
        title="Top documents by passages used",
    )
    line = next((c for c in balance.currencies if c.currency == usage.currency), None)
    return render_page(
        request,
        "portal/provider_dashboard.html",
        {
            "org": org,
            "days": days,
            "periods": PERIODS,
            "since": since,
            "until": until,
            "usage": usage,
            "earned_total": sum(earned.values()),
            "payable_micros": line.payable_micros if line else 0,
            "uses_chart": uses_chart,
            "earnings_chart": earnings_chart,
            "weight_bars": weight_bars,
            "document_bars": document_bars,
            "answers_total": answers_total,
        },
        tables=tables,
        filename=f"overview-{since}-{until}",
    )


def _ends(a: licensing.LicenseeInfo):  # type: ignore[no-untyped-def]
    """When it ends or ended: a notice's end when that comes first."""
    if a.notice_ends_at is not None and (a.ends_at is None or a.notice_ends_at <= a.ends_at):
        return f"{a.notice_ends_at:%Y-%m-%d} (notice given)"
    return a.ends_at or a.cancelled_at


@organization_page(accounts.PROVIDER)
@require_POST
def give_notice(request, org):
    """End an agent's agreement with notice (at least LICENSING_MIN_NOTICE_DAYS)."""
    try:
        days = int(request.POST.get("days", ""))
    except ValueError:
        days = -1
    try:
        ended = licensing.give_notice(
            actor=actor_of(request),
            organization_id=org.id,
            agreement_id=request.POST.get("agreement", ""),
            days=days,
        )
    except licensing_errors.NotFound:
        raise
    except licensing_errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Notice given: {ended.agent_name}'s agreement on {ended.offer_name} ends "
            f"{ended.notice_ends_at:%Y-%m-%d}. Until then it runs as agreed.",
        )
    return redirect("portal:licensees", organization_id=org.id)


@organization_page(accounts.PROVIDER)
def licensees(request, org):
    """The agents holding agreements on the provider's offers."""
    found = licensing.list_licensees(actor=actor_of(request), organization_id=org.id)
    rows = (
        (
            a.agent_name or "(deleted organization)",
            Link(a.offer_name, f"/orgs/{org.id}/offers/{a.offer_id}/"),
            a.offer_version,
            PAYMENT_TEXT.get(a.payment_type, a.payment_type),
            Badge(a.status.capitalize()),
            "accepted" if a.origin == "accepted" else "on first use (auto-accept)",
            a.starts_at,
            _ends(a),
            Money(a.spend_cap_micros) if a.spend_cap_micros is not None else "none",
            Money(a.spent_micros),
        )
        for a in found
    )
    tab = table(
        "licensees",
        "Agreements",
        [
            "Agent",
            "Offer",
            Column("Version", numeric=True),
            "Payment",
            "Status",
            "Agreed",
            "Since",
            "Ends or ended",
            Column("Spend cap", numeric=True),
            Column("Spent", numeric=True),
        ],
        rows,
        empty="No agent holds an agreement on your offers yet.",
    )
    active = sum(1 for a in found if a.status == "active")
    endable = [a for a in found if a.status == "active" and a.payment_type != "purchase"]
    return render_page(
        request,
        "portal/licensees.html",
        {
            "org": org,
            "active": active,
            "agents": len({a.agent_id for a in found}),
            "endable": endable,
            "least_notice_days": settings.LICENSING_MIN_NOTICE_DAYS,
        },
        tables=[tab],
        filename="licensees",
    )
