"""The advertiser's ad units: create and edit one (text, link, targeting picked by name where
a list is public, a bid typed in the currency), see it as agents are shown it with its review,
submit it for review again, pause and resume it. Calls ads.services as the member; another
organization's unit is the 404 page."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services as accounts
from ads import services as ads
from catalog import services as catalog
from core.errors import DomainError, NotFound
from licensing import services as licensing
from portal.advertiser_forms import CURRENCY, UnitForm, category_text, unit_initial
from portal.advertiser_views import (
    BID_TEXT,
    CAMPAIGN_STATUS_TEXT,
    REVIEW_TEXT,
    UNIT_STATUS_TEXT,
    get_campaign,
    get_unit,
    money_text,
    place_error,
    status_change,
    url,
)
from portal.pages import actor_of, organization_page


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
            "bid_text": f"at most {money_text(found.max_bid_micros)} "
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
        return status_change(request, org, change, back=back, done=done, unit_id=found.id)

    return view


unit_pause = _unit_action(ads.pause_unit, "{name} is paused: it is not shown until you resume it.")
unit_resume = _unit_action(
    ads.resume_unit, "{name} is active again: it is shown once its version is approved."
)
unit_submit = _unit_action(
    ads.submit_unit_for_review, "{name} is submitted: it waits for an operator's review."
)
