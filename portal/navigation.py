"""The portal's navigation: one list of pages, grouped by the role that uses them, shown on
every page for the organization the member is looking at.

A page joins the navigation by adding a `NavLink` to `SECTIONS`; every link takes the
organization's id (`organization_id`), and a section shows only for organizations with its role.
"""

import uuid
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts import errors as accounts_errors
from accounts import services as accounts


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    # Other pages (URL names) that belong under this link, so it is marked as the current one.
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class NavSection:
    title: str
    role: str | None  # None: every organization
    links: tuple[NavLink, ...]


SECTIONS = (
    NavSection(
        "Provider",
        accounts.PROVIDER,
        (
            NavLink("Overview", "portal:provider-dashboard"),
            NavLink(
                "Content",
                "portal:collections",
                also=("portal:collection", "portal:document", "portal:ingestion-job"),
            ),
            NavLink("Offers", "portal:offers", also=("portal:offer", "portal:offer-new")),
            NavLink("Licensees", "portal:licensees"),
        ),
    ),
    NavSection(
        "Agent",
        accounts.AGENT,
        (
            NavLink("Catalog", "portal:catalog", also=("portal:market-offer",)),
            NavLink("Licences", "portal:agreements", also=("portal:agreement",)),
            NavLink("Usage and cost", "portal:usage"),
            NavLink("Try a question", "portal:playground"),
            NavLink("Wallet", "portal:billing"),
        ),
    ),
    NavSection(
        "Advertiser",
        accounts.ADVERTISER,
        (
            NavLink(
                "Campaigns",
                "portal:campaigns",
                also=(
                    "portal:campaign",
                    "portal:campaign-new",
                    "portal:campaign-edit",
                    "portal:ad-unit",
                    "portal:ad-unit-new",
                    "portal:ad-unit-edit",
                ),
            ),
            NavLink("Performance", "portal:ad-performance"),
            NavLink("Decision traces", "portal:ad-traces"),
            NavLink("Ad funds", "portal:billing"),
        ),
    ),
    NavSection(
        "Organization",
        None,
        (
            NavLink("Keys and members", "portal:organization"),
            NavLink("Billing", "portal:billing"),
        ),
    ),
)


@dataclass(frozen=True)
class ShownLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class ShownSection:
    title: str
    links: tuple[ShownLink, ...]


@dataclass(frozen=True)
class Navigation:
    organization: accounts.OrganizationInfo
    sections: tuple[ShownSection, ...]
    several_organizations: bool


def current_organization(request, organization_id) -> accounts.OrganizationInfo:
    """Return the signed-in member's organization (once per request); NotFound if not theirs."""
    cached = getattr(request, "_portal_organization", None)
    if cached is not None and str(cached.id) == str(organization_id):
        return cached
    org = accounts.get_organization(
        actor=accounts.actor_for_user(user_id=request.user.pk), organization_id=organization_id
    )
    request._portal_organization = org
    return org


def _url_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name or ""


def build_navigation(request) -> Navigation | None:
    """Return the navigation for the organization in the URL (or the member's only one)."""
    if not request.user.is_authenticated:
        return None
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != "portal":
        return None
    organization_id = match.kwargs.get("organization_id")
    if organization_id is None:
        mine = accounts.list_organizations(actor=accounts.actor_for_user(user_id=request.user.pk))
        if len(mine) != 1:
            return None
        organization_id = mine[0].id
    try:
        org = current_organization(request, organization_id)
    except accounts_errors.NotFound:
        return None
    several = len(accounts.acting_organization_ids(actor=_actor(request))) > 1
    here = _url_name(request)
    sections, shown = [], set()
    for section in SECTIONS:
        if section.role is not None and section.role not in org.roles:
            continue
        links = []
        for link in section.links:
            if link.url_name in shown:  # one link per page: the first section's wins
                continue
            shown.add(link.url_name)
            current = here == link.url_name or here in link.also
            links.append(ShownLink(link.label, _reverse(link.url_name, org.id), current))
        if links:
            sections.append(ShownSection(section.title, tuple(links)))
    return Navigation(org, tuple(sections), several)


def _actor(request) -> accounts.Actor:
    return accounts.actor_for_user(user_id=request.user.pk)


def _reverse(url_name: str, organization_id: uuid.UUID) -> str:
    return reverse(url_name, kwargs={"organization_id": organization_id})


def navigation(request) -> dict:
    """Context processor: `nav`, built only if a template reads it."""
    return {"nav": SimpleLazyObject(lambda: build_navigation(request))}
