"""The agent operator's market pages: the catalog of offers (providers by name, collections
described, terms in plain words), accepting an offer with a spend cap, and the agent's
agreements with their caps. Every call goes through licensing's services as the member."""

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import services as accounts
from catalog import services as catalog
from core.errors import DomainError
from licensing import services as licensing
from portal.agent_forms import CatalogFilterForm, SpendCapForm
from portal.offer_forms import amount_text
from portal.pages import actor_of, organization_page, show_error
from portal.tables import Badge, Column, Link, Money, render_page, table

STATUS_TEXT = {
    "active": "Active",
    "expired": "Ended",
    "cancelled": "Cancelled",
    "suspended": "Suspended",
}
ORIGIN_TEXT = {
    "accepted": "You accepted it",
    "auto_accept": "Accepted on first use (auto-accept offer)",
    "single_fetch": "One content fetch",
}
# licensing's field names -> the form's
CAP_FIELDS = {"spend_cap_micros": "spend_cap"}


def _url(name: str, org, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"organization_id": org.id, **kwargs})


def _active_by_offer(agreements) -> dict[uuid.UUID, licensing.AgreementInfo]:
    return {a.offer.id: a for a in agreements if a.status == "active"}


def _filter_choices(offers: list[licensing.MarketOffer]):
    providers = sorted(
        {(o.provider_slug, o.provider_name) for o in offers if o.provider_slug},
        key=lambda p: p[1].casefold(),
    )
    topics = sorted({t for o in offers for c in o.collections for t in c.topics}, key=str.casefold)
    return providers, topics


@organization_page(accounts.AGENT)
def catalog_page(request, org):
    """Browse the published offers this agent may accept, by provider and topic."""
    actor = actor_of(request)
    every = licensing.list_market_offers(actor=actor, organization_id=org.id)
    providers, topics = _filter_choices(every)
    form = CatalogFilterForm(request.GET or None, providers=providers, topics=topics)
    provider = topic = ""
    status = 200
    if form.is_bound:
        if form.is_valid():
            provider, topic = form.cleaned_data["provider"], form.cleaned_data["topic"]
        else:
            status = 400
    offers = (
        licensing.list_market_offers(
            actor=actor, organization_id=org.id, provider=provider or None, topic=topic or None
        )
        if provider or topic
        else every
    )
    held = _active_by_offer(licensing.list_agreements(actor=actor, organization_id=org.id))
    shown = [{"offer": o, "agreement": held.get(o.id)} for o in offers]
    return render(
        request,
        "portal/agent/catalog.html",
        {
            "org": org,
            "form": form,
            "entries": shown,
            "filtered": bool(provider or topic),
            "provider_count": len({o.provider_id for o in offers}),
        },
        status=status,
    )


def _offer_page(request, org, offer, form, *, status=200, top_up=False):
    agreements = licensing.list_agreements(actor=actor_of(request), organization_id=org.id)
    return render(
        request,
        "portal/agent/offer.html",
        {
            "org": org,
            "offer": offer,
            "agreement": _active_by_offer(agreements).get(offer.id),
            "form": form,
            "top_up": top_up,
        },
        status=status,
    )


@organization_page(accounts.AGENT)
def offer_page(request, org, offer_id):
    """One offer in full, and accepting it with a spend cap."""
    actor = actor_of(request)
    offer = licensing.get_market_offer(actor=actor, offer_id=offer_id, organization_id=org.id)
    if request.method != "POST":
        return _offer_page(request, org, offer, SpendCapForm())
    held = _active_by_offer(licensing.list_agreements(actor=actor, organization_id=org.id))
    if offer.id in held:  # a form sent again: accepting changes nothing, the cap is set there
        messages.info(request, "You already license this offer: change its spend cap here.")
        return redirect(_url("agreement", org, agreement_id=held[offer.id].id))
    form = SpendCapForm(request.POST)
    if not form.is_valid():
        return _offer_page(request, org, offer, form, status=400)
    try:
        accepted = licensing.accept_offer(
            actor=actor,
            offer_id=offer.id,
            spend_cap_micros=form.cleaned_data["spend_cap"],
            organization_id=org.id,
        )
    except DomainError as exc:
        status = show_error(form, exc, fields=CAP_FIELDS)
        top_up = exc.code == "insufficient_funds"
        return _offer_page(request, org, offer, form, status=status, top_up=top_up)
    messages.success(
        request,
        f"You license {offer.name} from {offer.provider_name}: "
        "your answers can cite its collections now.",
    )
    return redirect(_url("agreement", org, agreement_id=accepted.id))


def _agreements_table(org, agreements, names) -> object:
    return table(
        "agreements",
        "Your licences",
        [
            "Offer",
            "Provider",
            "Collections",
            "Status",
            "Since",
            "Ends",
            Column("Spent", numeric=True),
            Column("Spend cap", numeric=True),
        ],
        (
            (
                Link(a.offer.name, _url("agreement", org, agreement_id=a.id)),
                a.offer.provider_name,
                ", ".join(names.get(c, "(deleted)") for c in a.offer.terms.collection_ids),
                Badge(STATUS_TEXT.get(a.status, a.status)),
                a.starts_at,
                a.ends_at,
                Money(a.spent_micros),
                Money(a.spend_cap_micros) if a.spend_cap_micros is not None else "No cap",
            )
            for a in agreements
        ),
        empty="No licences yet: accept an offer in the catalog.",
    )


def _collection_names(agreements) -> dict[uuid.UUID, str]:
    return catalog.collection_names(
        collection_ids={c for a in agreements for c in a.offer.terms.collection_ids}
    )


@organization_page(accounts.AGENT)
def agreements_page(request, org):
    """The agent's licences: what each covers, what it spent, and its cap."""
    found = sorted(
        licensing.list_agreements(actor=actor_of(request), organization_id=org.id),
        key=lambda a: (a.status != "active", -a.created_at.timestamp()),
    )
    return render_page(
        request,
        "portal/agent/agreements.html",
        {"org": org, "agreements": found},
        tables=[_agreements_table(org, found, _collection_names(found))],
        filename="agreements",
    )


def _agreement_page(request, org, agreement, form, *, status=200):
    names = _collection_names([agreement])
    return render(
        request,
        "portal/agent/agreement.html",
        {
            "org": org,
            "agreement": agreement,
            "form": form,
            "status_text": STATUS_TEXT.get(agreement.status, agreement.status),
            "origin_text": ORIGIN_TEXT.get(agreement.origin, agreement.origin),
            "explanation": licensing.explain_terms(agreement.offer.terms),
            "collections": [
                names.get(c, "(deleted)") for c in agreement.offer.terms.collection_ids
            ],
            "left_micros": (
                None
                if agreement.spend_cap_micros is None
                else max(0, agreement.spend_cap_micros - agreement.spent_micros)
            ),
        },
        status=status,
    )


def _cap_form(agreement: licensing.AgreementInfo) -> SpendCapForm:
    cap = agreement.spend_cap_micros
    return SpendCapForm(initial={"spend_cap": "" if cap is None else amount_text(cap)})


@organization_page(accounts.AGENT)
def agreement_page(request, org, agreement_id):
    """One licence: its terms, what it spent; raise, lower or remove its spend cap."""
    actor = actor_of(request)
    found = licensing.get_agreement(actor=actor, agreement_id=agreement_id, organization_id=org.id)
    if request.method != "POST":
        return _agreement_page(request, org, found, _cap_form(found))
    form = SpendCapForm(request.POST)
    if not form.is_valid():
        return _agreement_page(request, org, found, form, status=400)
    try:
        changed = licensing.update_agreement(
            actor=actor,
            agreement_id=found.id,
            spend_cap_micros=form.cleaned_data["spend_cap"],
            organization_id=org.id,
        )
    except DomainError as exc:
        status = show_error(form, exc, fields=CAP_FIELDS)
        return _agreement_page(request, org, found, form, status=status)
    if changed.spend_cap_micros is None:
        messages.success(request, "Spend cap removed: this licence may charge without limit.")
    elif changed.spend_cap_micros != form.cleaned_data["spend_cap"]:
        messages.success(
            request,
            "This licence has already spent more than that: its cap is set to what it spent, "
            "so nothing more is charged under it.",
        )
    else:
        messages.success(request, "Spend cap saved.")
    return redirect(_url("agreement", org, agreement_id=changed.id))


@organization_page(accounts.AGENT)
@require_POST
def cancel_agreement(request, org, agreement_id):
    """End a licence now: answers stop using its collections."""
    actor = actor_of(request)
    found = licensing.cancel_agreement(
        actor=actor, agreement_id=agreement_id, organization_id=org.id
    )
    messages.success(request, f"Your licence to {found.offer.name} is cancelled.")
    return redirect(_url("agreement", org, agreement_id=found.id))
