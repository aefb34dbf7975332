"""The demo marketplace `make run` seeds: providers with real articles, published offers of every
payment type, and an agent that has accepted most of them.

Every step looks for what exists (by owner and name) before creating anything, so seeding again
adds nothing but a fresh agent API key. Articles live in `demo_content/<provider>/<collection>/`
as Markdown with a small front matter, and go through the catalog's own upload ingestion.
"""

import json
import tomllib
import uuid
from dataclasses import dataclass, fields
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts import services as accounts
from accounts.models import APIKey, Membership, Organization, User
from catalog import services as catalog_services
from catalog.ingestion.extract import content_hash, normalize_text
from catalog.models import Document
from licensing import services as licensing
from marketplace.demo_ads import DemoAds, DemoAdvertiser, read_advertisers, seed_ads
from marketplace.demo_usage import DemoUsage, fund_wallet, seed_usage

CONTENT_DIR = Path(__file__).resolve().parent / "demo_content"
CATALOG_FILE = CONTENT_DIR / "catalog.toml"
DEMO_PASSWORD = "provenant-demo"  # noqa: S105 - a documented demo login, printed on purpose
DEMO_KEY_NAME = "Demo agent key"
FRONT_MATTER_KEYS = ("title", "author", "url", "published")


class DemoContentError(Exception):
    """The demo content is malformed, or the catalog refused to ingest it."""


@dataclass(frozen=True)
class Account:
    email: str
    org_name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class DemoCollection:
    slug: str  # its folder under the provider's folder
    name: str
    description: str = ""
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoProvider:
    slug: str  # its folder under demo_content/
    account: Account
    collections: tuple[DemoCollection, ...]


@dataclass(frozen=True)
class DemoOffer:
    provider: str
    name: str
    collections: tuple[str, ...]
    usage_types: tuple[str, ...]
    payment_type: str
    price_micros: int = 0
    price_unit: str = "none"
    period: str = ""
    revenue_share_bps: int = 0
    max_snippet_chars: int | None = None
    citation_required: bool = False
    auto_accept: bool = False
    accepted: bool = False  # whether the demo agent holds an agreement on it
    spend_cap_micros: int | None = None


@dataclass(frozen=True)
class DemoCatalog:
    providers: tuple[DemoProvider, ...]
    agent: Account
    advertisers: tuple[DemoAdvertiser, ...]
    offers: tuple[DemoOffer, ...]
    operator_email: str  # a staff user: reviews ad units in the admin


def load_catalog(path: Path = CATALOG_FILE) -> DemoCatalog:
    """Read who provides what and on which terms from the demo's catalog.toml."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
        providers = tuple(
            DemoProvider(
                slug=p["slug"],
                account=Account(p["email"], p["organization"], (accounts.PROVIDER,)),
                collections=tuple(
                    DemoCollection(**{**c, "topics": tuple(c.get("topics", ()))})
                    for c in p["collections"]
                ),
            )
            for p in data["providers"]
        )
        offers = tuple(
            DemoOffer(
                **{
                    **o,
                    "collections": tuple(o["collections"]),
                    "usage_types": tuple(o["usage_types"]),
                }
            )
            for o in data["offers"]
        )
        agent = Account(data["agent"]["email"], data["agent"]["organization"], (accounts.AGENT,))
        advertisers = read_advertisers(data["advertisers"])
        operator_email = data["operator"]["email"]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise DemoContentError(f"{path}: {exc!r}") from exc
    return DemoCatalog(
        providers=providers,
        agent=agent,
        advertisers=advertisers,
        offers=offers,
        operator_email=operator_email,
    )


def advertiser_account(advertiser: DemoAdvertiser) -> Account:
    return Account(advertiser.email, advertiser.organization, (accounts.ADVERTISER,))


@dataclass(frozen=True)
class Article:
    external_id: str
    title: str
    author: str
    url: str
    published: str
    text: str

    def record(self) -> dict:
        """Return the article as an upload record (one line of a jsonl file)."""
        return {
            "id": self.external_id,
            "url": self.url,
            "title": self.title,
            "author": self.author,
            "published_at": self.published,
            "text": self.text,
        }

    def digest(self) -> str:
        """Return the content hash the catalog will store for this article."""
        return content_hash(text=normalize_text(self.text), title=self.title)


@dataclass(frozen=True)
class DemoSummary:
    api_key: str
    accounts: tuple[Account, ...]
    providers: int
    collections: dict[str, uuid.UUID]  # "provider/collection" -> id
    documents: int
    documents_ingested: int  # created or changed by this run
    offers: dict[str, uuid.UUID]  # offer name -> id
    agreements: int
    # A document the demo agent is not licensed to read, and its collection's name.
    locked_document: tuple[int, str] | None
    # The offer that licenses it (a subscription: accepting it charges the first period).
    locked_offer_id: uuid.UUID | None = None
    # The demo's first answers, rated: what each provider has earned.
    usage: DemoUsage | None = None
    # The training licence (a purchase) the demo agent bought: it has a dataset export.
    training_agreement_id: uuid.UUID | None = None
    # The advertisers, their approved units and prepaid funds.
    ads: DemoAds | None = None
    operator_email: str = ""


def read_article(path: Path) -> Article:
    """Parse one Markdown article with its `key: value` front matter."""
    raw = path.read_text(encoding="utf-8")
    head, sep, body = raw.removeprefix("---\n").partition("\n---\n")
    if not raw.startswith("---\n") or not sep:
        raise DemoContentError(f"{path}: no front matter.")
    meta = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    missing = [key for key in FRONT_MATTER_KEYS if not meta.get(key)]
    if missing or not body.strip():
        raise DemoContentError(f"{path}: missing {', '.join(missing) or 'text'}.")
    return Article(
        external_id=meta["url"],
        title=meta["title"],
        author=meta["author"],
        url=meta["url"],
        published=meta["published"],
        text=body.strip(),
    )


def read_collection(provider_slug: str, collection_slug: str) -> list[Article]:
    folder = CONTENT_DIR / provider_slug / collection_slug
    articles = [read_article(path) for path in sorted(folder.glob("*.md"))]
    if not articles:
        raise DemoContentError(f"{folder} holds no articles.")
    return articles


# -- accounts ---------------------------------------------------------------------------------


def _ensure_account(account: Account) -> tuple[User, Organization]:
    user = User.objects.filter(email=account.email).first()
    if user is None:
        user = User.objects.create_user(email=account.email, password=DEMO_PASSWORD)
    org = Organization.objects.filter(memberships__user=user, name=account.org_name).first()
    if org is None:
        info = accounts.create_organization(
            user_id=user.pk, name=account.org_name, roles=account.roles
        )
        org = Organization.objects.get(id=info.id)
    Membership.objects.get_or_create(
        organization=org, user=user, defaults={"role": Membership.Role.OWNER}
    )
    return user, org


def _ensure_operator(email: str) -> User:
    """Return the demo's platform operator: a staff user who reviews ads in the admin."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_superuser(email=email, password=DEMO_PASSWORD)
    return user


def _fresh_api_key(user: User, org: Organization) -> str:
    """Revoke the previous demo key (keys are stored hashed) and return a new secret."""
    actor = accounts.actor_for_user(user_id=user.pk)
    for key in APIKey.objects.filter(organization=org, name=DEMO_KEY_NAME, revoked_at__isnull=True):
        accounts.revoke_api_key(actor=actor, organization_id=org.id, api_key_id=key.id)
    return accounts.create_api_key(actor=actor, organization_id=org.id, name=DEMO_KEY_NAME).secret


# -- catalog ----------------------------------------------------------------------------------


def _ensure_collection(actor, org: Organization, spec: DemoCollection) -> uuid.UUID:
    existing = {
        c.name: c for c in catalog_services.list_collections(actor=actor, organization_id=org.id)
    }
    found = existing.get(spec.name)
    if found is None:
        return catalog_services.create_collection(
            actor=actor,
            organization_id=org.id,
            name=spec.name,
            description=spec.description,
            topics=spec.topics,
        ).id
    if (found.description, found.topics) != (spec.description, spec.topics):
        catalog_services.update_collection(
            actor=actor,
            collection_id=found.id,
            description=spec.description,
            topics=spec.topics,
        )
    return found.id


def _ingest(actor, user: User, collection_id, name: str, articles: list[Article]) -> int:
    """Upload the articles that are new or changed as one jsonl file; return how many."""
    stored = catalog_services.list_documents(actor=actor, collection_id=collection_id, limit=1000)
    hashes = {d.external_id: d.content_hash for d in stored.documents}
    changed = [a for a in articles if hashes.get(a.external_id) != a.digest()]
    if not changed:
        return 0
    payload = "".join(json.dumps(a.record(), ensure_ascii=False) + "\n" for a in changed)
    upload = catalog_services.UploadedFile.from_bytes(
        name=f"{name}.jsonl", content=payload.encode(), content_type="application/jsonl"
    )
    job = catalog_services.create_upload_job(
        collection_id=collection_id, files=[upload], created_by_id=user.pk, enqueue=False
    )
    info = catalog_services.run_ingestion_job(job_id=job.id)
    if info is None or info.progress.failed:
        problems = "; ".join(f"{e.name}: {e.message}" for e in (info.errors if info else ()))
        raise DemoContentError(f"Ingesting {name} failed: {problems or 'job vanished'}.")
    return info.progress.created + info.progress.updated


# -- licensing --------------------------------------------------------------------------------


def _terms(spec: DemoOffer, collection_ids: dict[str, uuid.UUID]) -> licensing.OfferTerms:
    # Sorted ids and explicit units match what the catalog reads back, so unchanged terms
    # compare equal and a re-seed writes no new offer version.
    return licensing.OfferTerms(
        collection_ids=tuple(
            sorted(collection_ids[f"{spec.provider}/{c}"] for c in spec.collections)
        ),
        usage_types=spec.usage_types,
        payment_type=spec.payment_type,
        price_micros=spec.price_micros,
        price_unit=spec.price_unit,
        currency=settings.LICENSING_CURRENCY,
        period=spec.period,
        revenue_share_bps=spec.revenue_share_bps,
        max_snippet_chars=spec.max_snippet_chars,
        citation_required=spec.citation_required,
    )


def _ensure_offer(user: User, org: Organization, spec: DemoOffer, terms: licensing.OfferTerms):
    provider = {"actor": accounts.actor_for_user(user_id=user.pk), "organization_id": org.id}
    existing = {o.name: o for o in licensing.list_offers(**provider)}
    offer = existing.get(spec.name)
    if offer is None:
        offer = licensing.create_offer(
            **provider, name=spec.name, terms=terms, auto_accept=spec.auto_accept
        )
    elif offer.status == "retired":
        return offer  # an operator retired it on purpose; leave it so
    elif offer.terms != terms or offer.auto_accept != spec.auto_accept:
        offer = licensing.update_offer(
            **provider,
            offer_id=offer.id,
            auto_accept=spec.auto_accept,
            changes={f.name: getattr(terms, f.name) for f in fields(terms)},
        )
    if offer.status == "draft":
        offer = licensing.publish_offer(**provider, offer_id=offer.id)
    return offer


# -- the whole demo ---------------------------------------------------------------------------


def seed_demo(catalog: DemoCatalog | None = None) -> DemoSummary:
    """Create or bring up to date the demo organizations, catalog, offers and agreements."""
    catalog = catalog or load_catalog()
    with transaction.atomic():
        owners = {p.slug: _ensure_account(p.account) for p in catalog.providers}
        agent_user, agent_org = _ensure_account(catalog.agent)
        advertisers = {
            a.organization: _ensure_account(advertiser_account(a)) for a in catalog.advertisers
        }
        operator = _ensure_operator(catalog.operator_email)

    # Ingestion manages its own transactions and writes the search index as it goes.
    collection_ids: dict[str, uuid.UUID] = {}
    ingested = 0
    for provider in catalog.providers:
        user, org = owners[provider.slug]
        actor = accounts.actor_for_user(user_id=user.pk)
        for spec in provider.collections:
            key = f"{provider.slug}/{spec.slug}"
            collection_ids[key] = _ensure_collection(actor, org, spec)
            articles = read_collection(provider.slug, spec.slug)
            ingested += _ingest(actor, user, collection_ids[key], key.replace("/", "-"), articles)
    if ingested:
        # Each ingestion batch adds a small segment to the embedded index, scored with its own
        # term statistics; one segment over everything ranks the demo's questions properly.
        catalog_services.rebuild_search_index()

    offers = {}
    training_agreement_id = None
    agent = {
        "actor": accounts.actor_for_user(user_id=agent_user.pk),
        "organization_id": agent_org.id,
    }
    fund_wallet(agent_id=agent_org.id)  # a purchase the agent accepts is paid from it at once
    with transaction.atomic():
        for spec in catalog.offers:
            offer = _ensure_offer(*owners[spec.provider], spec, _terms(spec, collection_ids))
            offers[spec.name] = offer.id
            if spec.accepted and offer.status == "published":
                accepted = licensing.accept_offer(
                    **agent,
                    offer_id=offer.id,
                    spend_cap_micros=spec.spend_cap_micros,
                )
                if accepted.offer.terms.payment_type == "purchase":
                    training_agreement_id = accepted.id

    with transaction.atomic():
        api_key = _fresh_api_key(agent_user, agent_org)

    usage = seed_usage(
        agent_id=agent_org.id,
        providers={p.account.org_name: owners[p.slug][1].id for p in catalog.providers},
    )
    demo_ads = seed_ads(
        advertisers=catalog.advertisers,
        owners={name: (user.pk, org.id) for name, (user, org) in advertisers.items()},
        operator_id=operator.pk,
    )
    documents = Document.objects.filter(collection_id__in=collection_ids.values())
    entitled = licensing.list_entitlements(**agent, usage_type="ai-input")
    locked = documents.exclude(collection_id__in=entitled.collection_ids).order_by("id")
    first_locked = locked.values_list("id", "collection__name", "collection_id").first()
    locked_id, locked_name, locked_in = first_locked or (0, "", None)
    return DemoSummary(
        api_key=api_key,
        accounts=(
            *(p.account for p in catalog.providers),
            catalog.agent,
            *(advertiser_account(a) for a in catalog.advertisers),
        ),
        providers=len(catalog.providers),
        collections=collection_ids,
        documents=documents.count(),
        documents_ingested=ingested,
        offers=offers,
        agreements=len(licensing.list_agreements(**agent, status="active")),
        locked_document=(locked_id, locked_name) if first_locked else None,
        locked_offer_id=next(
            (
                offers[spec.name]
                for spec in catalog.offers
                for slug in spec.collections
                if first_locked and collection_ids.get(f"{spec.provider}/{slug}") == locked_in
            ),
            None,
        ),
        usage=usage,
        training_agreement_id=training_agreement_id,
        ads=demo_ads,
        operator_email=catalog.operator_email,
    )
