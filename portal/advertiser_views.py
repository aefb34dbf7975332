"""The advertiser's campaigns: list, create, edit, pause, resume and end one (budgets in the
currency, a schedule, pacing), with its ad units (portal/advertiser_units.py) listed; and what
the advertiser pages share (lookups of its own campaigns and units, refusals next to fields).

Every call goes through ads.services as the signed-in member; an object of another
organization is the 404 page, a refusal is shown next to the field it names.
"""

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import services as accounts
from ads import services as ads
from billing import services as billing
from core.errors import DomainError, NotFound
from core.money import format_micros
from portal.advertiser_forms import (
    CURRENCY,
    FIELDS,
    PACING_CHOICES,
    CampaignForm,
    campaign_initial,
)
from portal.pages import actor_of, organization_page, same_organization
from portal.tables import Badge, Column, Link, Money, render_page, table

CAMPAIGN_STATUS_TEXT = {
    "active": "Active",
    "paused": "Paused",
    "ended": "Ended",
    "out_of_funds": "Out of funds",
}
UNIT_STATUS_TEXT = {"active": "Active", "paused": "Paused"}
REVIEW_TEXT = {"pending": "Waiting for review", "approved": "Approved", "rejected": "Rejected"}
PACING_TEXT = dict(PACING_CHOICES)
BID_TEXT = {"cpm": "per 1,000 shown", "cpc": "per click"}


def url(name: str, org, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"organization_id": org.id, **kwargs})


def add_funds_url(org) -> str:
    """The billing page's top-up of the advertiser's prepaid ad funds."""
    return f"{url('billing', org)}?purpose=advertiser_prepaid#top-up"


def get_campaign(request, org, campaign_id) -> ads.CampaignInfo:
    """Return the campaign if it is this organization's (else NotFound: the 404 page)."""
    found = ads.get_campaign(actor=actor_of(request), campaign_id=campaign_id)
    same_organization(org, found.advertiser_id)
    return found


def get_unit(request, org, unit_id) -> ads.AdUnitInfo:
    """Return the ad unit if it is this organization's (else NotFound: the 404 page)."""
    found = ads.get_unit(actor=actor_of(request), unit_id=unit_id)
    same_organization(org, found.advertiser_id)
    return found


def prepaid_micros(request, org) -> int:
    balance = billing.get_balance(actor=actor_of(request), organization_id=org.id)
    return sum(c.advertiser_prepaid_micros for c in balance.currencies if c.currency == CURRENCY)


def place_error(form, exc: DomainError) -> int:
    """Put a refusal of ads.services next to the field it names, in the form's words (its
    field names replaced by the fields' labels), or above the form; return the status."""
    placed = False
    labels = {name: str(form[name].label) for name in form.fields}
    for name, problems in (exc.details or {}).items():
        field = FIELDS.get(name, name)
        if field not in form.fields:
            continue
        for problem in problems if isinstance(problems, list | tuple) else [problems]:
            text = str(problem)
            for service_name in (name, field):
                if text.startswith(f"{service_name} ") or text.startswith(f"{service_name}:"):
                    text = labels[field] + text[len(service_name) :]
                    break
            form.add_error(field, text)
        placed = True
    if not placed:
        form.add_error(None, exc.message)
    return exc.status if 400 <= exc.status < 500 else 400


def _schedule(campaign: ads.CampaignInfo) -> str:
    start = campaign.starts_at.strftime("%Y-%m-%d %H:%M")
    end = campaign.ends_at.strftime("%Y-%m-%d %H:%M") if campaign.ends_at else "until ended"
    return f"{start} to {end}" if campaign.ends_at else f"from {start}, {end}"


@organization_page(accounts.ADVERTISER)
def campaigns(request, org):
    """The advertiser's campaigns, its prepaid ad funds and what they have spent."""
    found = ads.list_campaigns(actor=actor_of(request), organization_id=org.id)
    tab = table(
        "campaigns",
        "Campaigns",
        [
            "Campaign",
            "Status",
            Column(f"Total budget ({CURRENCY})", numeric=True),
            Column(f"Daily budget ({CURRENCY})", numeric=True),
            Column(f"Spent ({CURRENCY})", numeric=True),
            "Pacing",
            Column("Ad units", numeric=True),
            "Schedule (UTC)",
        ],
        (
            (
                Link(c.name, url("campaign", org, campaign_id=c.id)),
                Badge(CAMPAIGN_STATUS_TEXT.get(c.status, c.status)),
                Money(c.total_budget_micros),
                Money(c.daily_budget_micros) if c.daily_budget_micros else "no limit",
                Money(c.spent_micros),
                "Even" if c.pacing == "even" else "As soon as possible",
                c.unit_count,
                _schedule(c),
            )
            for c in found
        ),
        empty="No campaigns yet: create one, then add the ads it runs.",
    )
    return render_page(
        request,
        "portal/advertiser/campaigns.html",
        {
            "org": org,
            "prepaid_micros": prepaid_micros(request, org),
            "currency": CURRENCY,
            "add_funds_url": add_funds_url(org),
            "running": sum(1 for c in found if c.status == "active"),
            "out_of_funds": [c for c in found if c.status == "out_of_funds"],
            "spent_micros": sum(c.spent_micros for c in found),
        },
        tables=[tab],
        filename="campaigns",
    )


def _campaign_editor(request, org, form, *, campaign=None, status=200):
    return render(
        request,
        "portal/advertiser/campaign_form.html",
        {"org": org, "form": form, "campaign": campaign, "currency": CURRENCY},
        status=status,
    )


@organization_page(accounts.ADVERTISER)
def campaign_new(request, org):
    """Create a campaign."""
    form = CampaignForm(request.POST or None, initial={"pacing": "even"})
    if request.method != "POST":
        return _campaign_editor(request, org, form)
    status = 400
    if form.is_valid():
        try:
            created = ads.create_campaign(
                actor=actor_of(request), organization_id=org.id, **form.changes()
            )
        except NotFound:
            raise
        except DomainError as exc:
            status = place_error(form, exc)
        else:
            messages.success(request, f"Campaign {created.name} created: now add its ads.")
            return redirect(url("campaign", org, campaign_id=created.id))
    return _campaign_editor(request, org, form, status=status)


@organization_page(accounts.ADVERTISER)
def campaign_edit(request, org, campaign_id):
    """Change a campaign's name, budgets, schedule or pacing."""
    found = get_campaign(request, org, campaign_id)
    if request.method != "POST":
        form = CampaignForm(initial=campaign_initial(found))
        return _campaign_editor(request, org, form, campaign=found)
    form = CampaignForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            ads.update_campaign(
                actor=actor_of(request), campaign_id=found.id, **form.changes(found)
            )
        except NotFound:
            raise
        except DomainError as exc:
            status = place_error(form, exc)
        else:
            messages.success(request, "Campaign saved.")
            return redirect(url("campaign", org, campaign_id=found.id))
    return _campaign_editor(request, org, form, campaign=found, status=status)


def _unit_rows(org, units, report_rows):
    by_unit = {row.key: row for row in report_rows}
    for u in units:
        row = by_unit.get(str(u.id))
        yield (
            Link(u.title, url("ad-unit", org, unit_id=u.id)),
            Badge(REVIEW_TEXT.get(u.review_state, u.review_state)),
            Badge(UNIT_STATUS_TEXT.get(u.status, u.status)),
            f"{money_text(u.max_bid_micros)} {BID_TEXT.get(u.bid_type, u.bid_type)}",
            u.version,
            row.impressions if row else 0,
            row.clicks if row else 0,
            Money(row.spend_micros if row else 0),
        )


def money_text(micros: int) -> str:
    return f"{format_micros(micros, min_places=2, group=True)} {CURRENCY}"


@organization_page(accounts.ADVERTISER)
def campaign(request, org, campaign_id):
    """A campaign: its budgets, spend, schedule and status, and its ad units."""
    actor = actor_of(request)
    found = get_campaign(request, org, campaign_id)
    units = ads.list_units(actor=actor, campaign_id=found.id)
    report = ads.ad_report(actor=actor, organization_id=org.id, group="unit")
    tab = table(
        "units",
        "Ad units",
        [
            "Ad",
            "Review",
            "Status",
            "Highest bid",
            Column("Version", numeric=True),
            Column("Shown, 30 days", numeric=True),
            Column("Clicks, 30 days", numeric=True),
            Column(f"Spent, 30 days ({CURRENCY})", numeric=True),
        ],
        _unit_rows(org, units, report.rows),
        empty="No ads in this campaign yet.",
    )
    return render_page(
        request,
        "portal/advertiser/campaign.html",
        {
            "org": org,
            "campaign": found,
            "status_text": CAMPAIGN_STATUS_TEXT.get(found.status, found.status),
            "pacing_text": PACING_TEXT.get(found.pacing, found.pacing),
            "left_micros": found.total_budget_micros - found.spent_micros,
            "prepaid_micros": prepaid_micros(request, org),
            "add_funds_url": add_funds_url(org),
            "currency": CURRENCY,
            "waiting": sum(1 for u in units if u.review_state == "pending"),
        },
        tables=[tab],
        filename=f"campaign-{found.id}",
    )


def status_change(request, org, change, *, back: str, done: str, **ids):
    """Call a pause, resume or end service; its refusal goes back as a message."""
    try:
        changed = change(actor=actor_of(request), **ids)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, done.format(name=getattr(changed, "name", "") or changed.title))
    return redirect(back)


def _campaign_action(change, done):
    @organization_page(accounts.ADVERTISER)
    @require_POST
    def view(request, org, campaign_id):
        found = get_campaign(request, org, campaign_id)
        back = url("campaign", org, campaign_id=found.id)
        return status_change(request, org, change, back=back, done=done, campaign_id=found.id)

    return view


campaign_pause = _campaign_action(
    ads.pause_campaign, "{name} is paused: its ads are not shown until you resume it."
)
campaign_resume = _campaign_action(
    ads.resume_campaign, "{name} is running again: its approved ads may be shown."
)
campaign_end = _campaign_action(
    ads.end_campaign, "{name} has ended: it shows nothing more and cannot be resumed."
)


def unit_ids_of(request, org) -> dict[uuid.UUID, ads.AdUnitInfo]:
    """Return every ad unit of the advertiser's campaigns, by id."""
    actor = actor_of(request)
    return {
        u.id: u
        for c in ads.list_campaigns(actor=actor, organization_id=org.id)
        for u in ads.list_units(actor=actor, campaign_id=c.id)
    }
