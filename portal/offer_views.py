"""The provider's offers: list, create, edit (a published offer gets a new version), publish and
retire, with a live price preview and the offer as RSL. Calls licensing's services only."""

from dataclasses import fields

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import services as accounts
from catalog import services as catalog
from core.money import format_micros
from licensing import errors as licensing_errors
from licensing import services as licensing
from portal.offer_forms import OfferForm, initial_of
from portal.offer_preview import MAX_PASSAGES, preview
from portal.pages import actor_of, organization_page, show_error
from portal.tables import Badge, Column, Link, render_page, table

# licensing's field names -> the form's
FIELDS = {
    "collection_ids": "collections",
    "price_micros": "price",
    "revenue_share_bps": "revenue_share",
    "revenue_share_min_micros": "revenue_share_min",
    "expires_at": "expires_on",
}
PREVIEW_FIELDS = (
    "payment_type",
    "price",
    "price_unit",
    "period",
    "revenue_share",
    "revenue_share_min",
)
PAYMENT_TEXT = dict(licensing.PAYMENT_TYPE_CHOICES)
UNIT_TEXT = dict(licensing.PRICE_UNIT_CHOICES)


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _offer_url(org, offer_id) -> str:
    return reverse("portal:offer", kwargs={"organization_id": org.id, "offer_id": offer_id})


def _price_text(terms: licensing.OfferTerms) -> str:
    if terms.payment_type == "revenue_share":
        return f"{terms.revenue_share_bps / 100:g}% of revenue"
    if not terms.price_micros:
        return "free"
    unit = {"period": f"per {terms.period}", "one_off": "once"}.get(
        terms.price_unit, UNIT_TEXT.get(terms.price_unit, terms.price_unit).lower()
    )
    return f"{format_micros(terms.price_micros, min_places=2)} {terms.currency} {unit}"


def _collections(request, org) -> list[catalog.CollectionInfo]:
    return catalog.list_collections(actor=actor_of(request), organization_id=org.id)


def _offers_table(org, offers, names) -> object:
    return table(
        "offers",
        "Offers",
        [
            "Name",
            "Status",
            Column("Version", numeric=True),
            "Payment",
            "Price",
            "Collections",
            "Published",
        ],
        (
            (
                Link(o.name, _offer_url(org, o.id)),
                Badge(o.status.capitalize()),
                o.version,
                PAYMENT_TEXT.get(o.terms.payment_type, o.terms.payment_type),
                _price_text(o.terms),
                ", ".join(names.get(c, "(deleted)") for c in o.terms.collection_ids),
                o.published_at,
            )
            for o in offers
        ),
        empty="No offers yet: agents cannot license your content until you publish one.",
    )


@organization_page(accounts.PROVIDER)
def offers(request, org):
    """The provider's offers and its public RSL document."""
    actor = actor_of(request)
    found = licensing.list_offers(actor=actor, organization_id=org.id)
    names = {c.id: c.name for c in _collections(request, org)}
    rsl = licensing.rsl_document(provider_slug=org.slug, base_url=_base_url(request))
    return render_page(
        request,
        "portal/offers.html",
        {"org": org, "rsl": rsl},
        tables=[_offers_table(org, found, names)],
        filename="offers",
    )


def _editor(request, org, form, *, offer=None, status=200):
    terms = _preview_terms(form)
    return render(
        request,
        "portal/offer.html",
        {
            "org": org,
            "offer": offer,
            "form": form,
            "preview": preview(terms, passages=2) if terms else None,
            "passages": 2,
            "max_passages": MAX_PASSAGES,
            "rsl": (
                licensing.rsl_for_offers(offers=[offer], base_url=_base_url(request))
                if offer
                else None
            ),
            "rsl_url": reverse("rsl", kwargs={"provider_slug": org.slug}),
        },
        status=status,
    )


def _preview_terms(form) -> licensing.OfferTerms | None:
    """Return the pricing terms of a form (bound or not), or None while they are incomplete."""
    if not form.is_bound:
        data = {k: form.initial.get(k, form.fields[k].initial) for k in PREVIEW_FIELDS}
        form = OfferForm(
            {k: v for k, v in data.items() if v is not None},
            collections=[],
        )
    form.is_valid()
    if any(name in form.errors for name in PREVIEW_FIELDS):
        return None
    data = form.cleaned_data
    payment = data.get("payment_type") or "use"
    return licensing.OfferTerms(
        collection_ids=(),
        usage_types=(),
        payment_type=payment,
        price_micros=data.get("price", 0),
        price_unit=data.get("price_unit") or "retrieved_source",
        currency=settings.LICENSING_CURRENCY,
        period=data.get("period") or "",
        revenue_share_bps=data.get("revenue_share", 0),
        revenue_share_min_micros=data.get("revenue_share_min", 0),
    )


@organization_page(accounts.PROVIDER)
def price_preview(request, org):
    """The price preview of the terms being edited (the editor asks for it as they change)."""
    form = OfferForm(request.GET, collections=[])
    terms = _preview_terms(form)
    try:
        passages = min(MAX_PASSAGES, max(1, int(request.GET.get("passages") or 2)))
    except ValueError:
        passages = 2
    return render(
        request,
        "portal/_price_preview.html",
        {
            "preview": preview(terms, passages=passages) if terms else None,
            "errors": [e for name in PREVIEW_FIELDS for e in form.errors.get(name, [])],
        },
    )


def _save(form, save):
    """Call `save()`; on a refusal show it next to its field (and answer its status)."""
    try:
        saved = save()
    except licensing_errors.DomainError as exc:
        return None, show_error(form, exc, fields=FIELDS)
    return saved, 200


@organization_page(accounts.PROVIDER)
def offer_new(request, org):
    """Create a draft offer."""
    form = OfferForm(request.POST or None, collections=_collections(request, org))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            created, status = _save(
                form,
                lambda: licensing.create_offer(
                    actor=actor_of(request),
                    organization_id=org.id,
                    name=form.cleaned_data["name"],
                    terms=form.terms(),
                    auto_accept=form.cleaned_data["auto_accept"],
                ),
            )
            if created is not None:
                messages.success(request, "Draft saved. Publish it when the terms are right.")
                return redirect(_offer_url(org, created.id))
    return _editor(request, org, form, status=status)


@organization_page(accounts.PROVIDER)
def offer(request, org, offer_id):
    """Edit an offer: a draft changes in place; a published one gets a new version."""
    actor = actor_of(request)
    found = licensing.get_offer(actor=actor, offer_id=offer_id, organization_id=org.id)
    collections = _collections(request, org)
    if request.method != "POST":
        form = OfferForm(initial=initial_of(found), collections=collections)
        return _editor(request, org, form, offer=found)
    form = OfferForm(request.POST, collections=collections)
    status = 400
    if form.is_valid():
        terms = form.terms()
        # The agent allow and deny lists are set through the API; the form leaves them be.
        changes = {
            field.name: getattr(terms, field.name)
            for field in fields(terms)
            if field.name not in ("allowed_agent_org_ids", "denied_agent_org_ids")
        }
        updated, status = _save(
            form,
            lambda: licensing.update_offer(
                actor=actor,
                offer_id=found.id,
                organization_id=org.id,
                name=form.cleaned_data["name"],
                auto_accept=form.cleaned_data["auto_accept"],
                changes=changes,
            ),
        )
        if updated is not None:
            if updated.version != found.version:
                messages.success(
                    request,
                    f"Saved as version {updated.version}. Agents who accepted version "
                    f"{found.version} keep its terms; new agreements get the new ones.",
                )
            else:
                messages.success(request, "Offer saved.")
            return redirect(_offer_url(org, found.id))
    return _editor(request, org, form, offer=found, status=status)


def _status_change(request, org, offer_id, change, text):
    try:
        changed = change(actor=actor_of(request), offer_id=offer_id, organization_id=org.id)
    except licensing_errors.NotFound:
        raise
    except licensing_errors.DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_offer_url(org, offer_id))
    messages.success(request, text.format(name=changed.name))
    return redirect(_offer_url(org, offer_id))


@organization_page(accounts.PROVIDER)
@require_POST
def offer_publish(request, org, offer_id):
    return _status_change(
        request,
        org,
        offer_id,
        licensing.publish_offer,
        "{name} is published: agents can accept it, and it is in your RSL document.",
    )


@organization_page(accounts.PROVIDER)
@require_POST
def offer_retire(request, org, offer_id):
    return _status_change(
        request,
        org,
        offer_id,
        licensing.retire_offer,
        "{name} is retired: no new agreements; existing ones run until they end.",
    )
