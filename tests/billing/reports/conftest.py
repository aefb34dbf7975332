"""A small month of usage, rated, for the reports' tests: exact figures to assert."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Purpose, Transaction
from catalog.models import Document
from licensing import services as licensing

_requests = itertools.count(1)
LAST_MONTH = (timezone.now().replace(day=1) - timedelta(days=1)).replace(day=1).date()


def day(n: int) -> date:
    """The nth day of last month."""
    return LAST_MONTH + timedelta(days=n - 1)


def at(n: int, hour: int = 10):
    d = day(n)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def use(agent, agreement, documents, *, when):
    """Meter one answer that used these (document, weight_ppm, cited) sources."""
    offer = agreement.offer
    licensing.record_use(
        licensing.UseRecord(
            request_id=f"report-req-{next(_requests)}",
            agent_id=agent.id,
            usage_type="ai-input",
            sources=tuple(
                licensing.SourceUse(
                    collection_id=offer.terms.collection_ids[0],
                    provider_id=offer.provider_id,
                    offer_version_id=offer.version_id,
                    agreement_id=agreement.id,
                    document_id=doc.id,
                    chunk_id=n + 1,
                    tokens=100,
                    cited=cited,
                    attribution_weight_ppm=weight,
                )
                for n, (doc, weight, cited) in enumerate(documents)
            ),
            created_at=when,
        )
    )


def document(offer, title):
    return Document.objects.create(
        collection_id=offer.terms.collection_ids[0],
        external_id=title,
        title=title,
        content_hash=title,
        status=Document.Status.READY,
    )


@pytest.fixture
def month(make_org, agent, provider, make_offer, accept):
    """Last month: the provider's two documents used by two agents on days 2, 3 and 5 at
    2,000 micros a source (10% take); another provider used by the same agent on day 2."""
    offer = make_offer(provider, price_micros=2000)
    guide, atlas = document(offer, "Field guide"), document(offer, "Atlas")
    other_agent, _ = make_org(roles=("agent",), name="Beta Bots")
    other_provider, _ = make_org(roles=("provider",), name="Elsewhere Media")
    other_offer = make_offer(other_provider, price_micros=3000)
    elsewhere = document(other_offer, "Elsewhere")
    mine = accept(agent, offer)
    use(agent, mine, [(guide, 600_000, True), (atlas, 400_000, False)], when=at(2))
    use(other_agent, accept(other_agent, offer), [(guide, 1_000_000, True)], when=at(3))
    use(agent, mine, [(atlas, 500_000, True)], when=at(5))
    use(agent, accept(agent, other_offer), [(elsewhere, 1_000_000, True)], when=at(2, 11))
    billing.rate_usage()
    return {
        "guide": guide,
        "atlas": atlas,
        "other_agent": other_agent,
        "other_provider": other_provider,
    }


def account_of(org_id, purpose, currency):
    return billing.org_account(org_id, purpose, currency)


def platform(purpose, currency):
    return billing.platform_account(purpose, currency)


def _ad_charge(advertiser, agent, provider, *, key, when):
    """An ad charge of 0.5 USD: 0.15 to the platform, 0.1 to the agent, 0.25 to the provider."""
    return billing.post_transaction(
        billing.NewTransaction(
            idempotency_key=f"ad:{key}",
            kind=Transaction.Kind.AD_REVENUE,
            legs=(
                billing.debit(
                    account_of(advertiser.id, Purpose.ADVERTISER_PREPAID, "USD"), 500_000
                ),
                billing.credit(platform(Purpose.PLATFORM_REVENUE, "USD"), 150_000),
                billing.credit(account_of(agent.id, Purpose.AGENT_WALLET, "USD"), 100_000),
                billing.credit(account_of(provider.id, Purpose.PROVIDER_PAYABLE, "USD"), 250_000),
            ),
            effective_at=when,
        )
    )


@pytest.fixture
def advertiser(make_org, month, agent, provider):
    """An advertiser granted 10 USD on day 1 that paid for two ads on day 4."""
    org, _ = make_org(roles=("advertiser",), name="Gadget Co")
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="credit:ad-funds",
            kind=Transaction.Kind.CREDIT,
            legs=(
                billing.debit(platform(Purpose.PLATFORM_PROMOTIONS, "USD"), 10**7),
                billing.credit(account_of(org.id, Purpose.ADVERTISER_PREPAID, "USD"), 10**7),
            ),
            effective_at=at(1),
        )
    )
    for n in range(2):
        _ad_charge(org, agent, provider, key=n, when=at(4))
    return org
