"""The advertiser's campaigns and ad units: list, create, edit, pause, resume and end a
campaign (budgets in the currency, a schedule, pacing); create and edit its units (text, link,
targeting, bid), submit them for review, pause and resume them, and see their review.

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
from catalog import services as catalog
from core.errors import DomainError, NotFound
from core.money import format_micros
from licensing import services as licensing
from portal.advertiser_forms import (
    CURRENCY,
    FIELDS,
    PACING_CHOICES,
    CampaignForm,
    UnitForm,
    campaign_initial,
    category_text,
    unit_initial,
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
            f"{_money_text(u.max_bid_micros)} {BID_TEXT.get(u.bid_type, u.bid_type)}",
            u.version,
            row.impressions if row else 0,
            row.clicks if row else 0,
            Money(row.spend_micros if row else 0),
        )


def _money_text(micros: int) -> str:
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


def _status_change(request, org, change, *, back: str, done: str, **ids):
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
        return _status_change(request, org, change, back=back, done=done, campaign_id=found.id)

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


# -- ad units -----------------------------------------------------------------------------------


def target_choices(unit: ads.AdUnitInfo | None = None):
    """Return the collections and providers a unit may pick, by name: those of every offer
    published to all agents, and any the unit targets already."""
    offers = licensing.list_published_offers(agent_id=None)
    chosen = unit.targeting if unit is not None else ads.Targeting()
    collection_ids = {c for o in offers for c in o.terms.collection_ids}
    collection_ids |= {*chosen.collections, *chosen.exclude_collections}
    owners = catalog.collection_owners(collection_ids=collection_ids)
    names = catalog.collection_names(collection_ids=collection_ids)
    provider_ids = {o.provider_id for o in offers} | set(owners.values())
    provider_ids |= {*chosen.providers, *chosen.exclude_providers}
    providers = accounts.organization_names(organization_ids=provider_ids)
    collections = sorted(
        (
            (str(i), f"{names.get(i, str(i))} · {providers.get(owners.get(i), 'unknown provider')}")
            for i in collection_ids
        ),
        key=lambda choice: choice[1].casefold(),
    )
    by_name = sorted(
        ((str(i), providers.get(i, str(i))) for i in provider_ids),
        key=lambda choice: choice[1].casefold(),
    )
    return collections, by_name


def _unit_form(data=None, *, unit=None, initial=None) -> UnitForm:
    collections, providers = target_choices(unit)
    return UnitForm(data, initial=initial, collections=collections, providers=providers)


def _unit_editor(request, org, form, *, campaign, unit=None, status=200):
    return render(
        request,
        "portal/advertiser/unit_form.html",
        {"org": org, "form": form, "campaign": campaign, "unit": unit, "currency": CURRENCY},
        status=status,
    )


@organization_page(accounts.ADVERTISER)
def unit_new(request, org, campaign_id):
    """Create an ad unit in a campaign; it waits for an operator's review."""
    found = get_campaign(request, org, campaign_id)
    if request.method != "POST":
        form = _unit_form(initial={"bid_type": "cpm", "category": "other"})
        return _unit_editor(request, org, form, campaign=found)
    form = _unit_form(request.POST)
    status = 400
    if form.is_valid():
        try:
            created = ads.create_unit(
                actor=actor_of(request), campaign_id=found.id, **form.unit_fields()
            )
        except NotFound:
            raise
        except DomainError as exc:
            status = place_error(form, exc)
        else:
            messages.success(
                request, f"{created.title} is saved and waits for review before it is shown."
            )
            return redirect(url("ad-unit", org, unit_id=created.id))
    return _unit_editor(request, org, form, campaign=found, status=status)


@organization_page(accounts.ADVERTISER)
def unit_edit(request, org, unit_id):
    """Change an ad unit: a real change makes a new version, which waits for review."""
    found = get_unit(request, org, unit_id)
    owner = get_campaign(request, org, found.campaign_id)
    if request.method != "POST":
        form = _unit_form(unit=found, initial=unit_initial(found))
        return _unit_editor(request, org, form, campaign=owner, unit=found)
    form = _unit_form(request.POST, unit=found)
    status = 400
    if form.is_valid():
        try:
            saved = ads.update_unit(actor=actor_of(request), unit_id=found.id, **form.unit_fields())
        except NotFound:
            raise
        except DomainError as exc:
            status = place_error(form, exc)
        else:
            if saved.version != found.version:
                messages.success(
                    request,
                    f"Saved as version {saved.version}: it is not shown until it is approved.",
                )
            else:
                messages.info(request, "Nothing changed.")
            return redirect(url("ad-unit", org, unit_id=found.id))
    return _unit_editor(request, org, form, campaign=owner, unit=found, status=status)


def _targets_text(unit: ads.AdUnitInfo) -> list[tuple[str, str]]:
    """Return the unit's targeting as (what, whom) lines, ids named where they can be."""
    t = unit.targeting
    collection_ids = {*t.collections, *t.exclude_collections}
    collections = catalog.collection_names(collection_ids=collection_ids)
    org_ids = {*t.providers, *t.exclude_providers, *t.agent_orgs, *t.exclude_agent_orgs}
    orgs = accounts.organization_names(organization_ids=org_ids)

    def named(ids, names) -> str:
        return ", ".join(names.get(i, str(i)) for i in ids)

    lines = [
        ("Keywords", ", ".join(t.keywords)),
        ("Topics", ", ".join(t.topics)),
        ("Next to collections", named(t.collections, collections) or "any"),
        ("Never next to collections", named(t.exclude_collections, collections)),
        ("Next to providers", named(t.providers, orgs) or "any"),
        ("Never next to providers", named(t.exclude_providers, orgs)),
        ("For agents", named(t.agent_orgs, orgs) or "every agent that accepts sponsored content"),
        ("Never for agents", named(t.exclude_agent_orgs, orgs)),
    ]
    return [(what, whom) for what, whom in lines if whom]


@organization_page(accounts.ADVERTISER)
def unit(request, org, unit_id):
    """An ad unit as agents are shown it, its review, its targeting and its bid."""
    found = get_unit(request, org, unit_id)
    owner = get_campaign(request, org, found.campaign_id)
    return render(
        request,
        "portal/advertiser/unit.html",
        {
            "org": org,
            "unit": found,
            "campaign": owner,
            "review_text": REVIEW_TEXT.get(found.review_state, found.review_state),
            "status_text": UNIT_STATUS_TEXT.get(found.status, found.status),
            "campaign_status_text": CAMPAIGN_STATUS_TEXT.get(owner.status, owner.status),
            "category_text": category_text(found.category),
            "bid_text": f"at most {_money_text(found.max_bid_micros)} "
            f"{BID_TEXT.get(found.bid_type, found.bid_type)} ({found.bid_type.upper()})",
            "targets": _targets_text(found),
        },
    )


def _unit_action(change, done):
    @organization_page(accounts.ADVERTISER)
    @require_POST
    def view(request, org, unit_id):
        found = get_unit(request, org, unit_id)
        back = url("ad-unit", org, unit_id=found.id)
        return _status_change(request, org, change, back=back, done=done, unit_id=found.id)

    return view


unit_pause = _unit_action(ads.pause_unit, "{name} is paused: it is not shown until you resume it.")
unit_resume = _unit_action(
    ads.resume_unit, "{name} is active again: it is shown once its version is approved."
)
unit_submit = _unit_action(
    ads.submit_unit_for_review, "{name} is submitted: it waits for an operator's review."
)


def unit_ids_of(request, org) -> dict[uuid.UUID, ads.AdUnitInfo]:
    """Return every ad unit of the advertiser's campaigns, by id."""
    actor = actor_of(request)
    return {
        u.id: u
        for c in ads.list_campaigns(actor=actor, organization_id=org.id)
        for u in ads.list_units(actor=actor, campaign_id=c.id)
    }
