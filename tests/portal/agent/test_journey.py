"""Browser journey 2, in headless Chromium (Debian's; skipped where it is absent): an agent
operator signs up, finds a provider's collection in the catalog, accepts its offer with a spend
cap, asks in the playground (refused while the wallet is empty, with a link to top up; answered
once it is funded), sees the citations, each source's share and the cost, checks the receipt,
and sees the use in its usage page. Every step is saved as a screenshot at 1280 and 375 px
under var/artifacts/journeys/, and no page scrolls sideways at 375 px.
"""

import os

import pytest

from accounts.models import Organization
from billing import services as billing
from catalog import services as catalog
from catalog.models import Collection
from licensing import services as licensing
from tests.acting import acting_for
from tests.marketplace.conftest import HEAT_PUMPS, SLEEP, add_document
from tests.portal.test_journeys import CHROMIUM, Journey

QUESTION = "How does a heat pump keep working in freezing weather?"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)


def _nav(journey: Journey, label: str) -> None:
    main = journey.page.get_by_role("navigation", name="Main")
    main.get_by_role("link", name=label).click()


def _provider(make_org, name, collection, topics, documents, **terms):
    """A provider with one indexed collection and a published offer on it."""
    org, _ = make_org(roles=("provider",), name=name)
    created = catalog.create_collection(
        **acting_for(org),
        name=collection,
        description=f"{collection}: guides written and checked by {name}'s editors.",
        topics=topics,
    )
    for title, text in documents:
        add_document(Collection.objects.get(id=created.id), title, text)
    offer = licensing.create_offer(
        **acting_for(org),
        name=terms.pop("offer_name"),
        terms=licensing.OfferTerms(
            collection_ids=(created.id,), usage_types=("ai-input", "search"), **terms
        ),
    )
    licensing.publish_offer(**acting_for(org), offer_id=offer.id)
    return org


@pytest.fixture
def providers(make_org, settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0
    settings.BILLING_WALLET_HOLDS = True  # a prepaid wallet pays for answers, as deployed
    northwind = _provider(
        make_org,
        "Northwind Press",
        "Home energy",
        ["energy", "home"],
        HEAT_PUMPS,
        offer_name="Per source, a fifth of a cent",
        payment_type="use",
        price_micros=2_000,
        price_unit="retrieved_source",
    )
    _provider(
        make_org,
        "Helio Science",
        "Sleep research",
        ["health"],
        SLEEP,
        offer_name="Free with attribution",
        payment_type="attribution",
        citation_required=True,
    )
    catalog.index_pending_documents()
    return northwind


def test_an_agent_finds_licenses_asks_and_sees_citations_and_cost(
    live_server, transactional_db, browser, providers
):
    journey = Journey(browser, live_server.url, "agent")
    page = journey.page

    journey.goto("/signup/")
    page.get_by_label("Email").fill("builder@acme.example")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_label("Organization name").fill("Acme Agents")
    page.get_by_label("Agent operator").check()
    journey.shot("signup")
    page.get_by_role("button", name="Sign up").click()
    agent = Organization.objects.get(name="Acme Agents")

    # The catalog: both providers, by name; then only the one that writes about energy.
    _nav(journey, "Catalog")
    assert "2 offers from 2 providers" in journey.text()
    page.get_by_label("Topic").select_option("energy")
    page.get_by_role("button", name="Show offers").click()
    text = journey.text()
    assert "1 offer from 1 provider, filtered" in text
    assert "Home energy" in text and "2 documents" in text
    assert "A heat pump moves heat instead of generating it." in text  # the sample passage
    assert "Pay 0.002 USD for each source retrieved for an answer." in text
    assert "Sleep research" not in text
    journey.shot("catalog")

    page.get_by_role("link", name="Review and accept Per source, a fifth of a cent").click()
    page.get_by_label("Spend cap (USD)").fill("a lot")
    page.get_by_role("button", name="Accept these terms").click()
    assert "Enter an amount like 0.002 or 49." in journey.text("#id_spend_cap_error")
    journey.shot("offer-bad-cap")
    page.get_by_label("Spend cap (USD)").fill("5")
    page.get_by_role("button", name="Accept these terms").click()
    assert "You license Per source, a fifth of a cent from Northwind Press" in journey.text()
    assert "5.00" in journey.text(".stats")
    journey.shot("licence")

    # The playground: an empty wallet is refused before anything is written or charged.
    _nav(journey, "Try a question")
    page.get_by_role("textbox", name="Question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    assert "Your wallet cannot pay for this answer" in journey.text()
    assert page.get_by_role("link", name="Top up your wallet").is_visible()
    journey.shot("playground-empty-wallet")

    # Stripe is not configured here: the operator credits the wallet instead.
    billing.grant_credit(
        organization_id=agent.id,
        amount_micros=1_000_000,
        idempotency_key=f"journey-credit-{agent.id}",
        memo="Trial credit",
    )
    _nav(journey, "Try a question")
    assert "1.00 USD available" in journey.text()
    page.get_by_role("textbox", name="Question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = journey.text(".answer-text")
    assert "[1]" in answer
    sources = journey.text(".sources")
    assert "Northwind Press · Home energy" in sources
    assert "Heat pumps in freezing weather" in sources
    assert "% of the answer" in sources and "0.002 USD" in sources
    cost = page.locator(".stats .stat .value").first.inner_text()
    assert cost in ("0.002", "0.004")
    journey.shot("playground-answer")

    page.get_by_role("button", name="Verify this receipt").click()
    assert "Valid receipt" in journey.text()
    assert "Its answer is metered" in journey.text()
    journey.shot("receipt-verified")

    journey.goto(f"/orgs/{agent.id}/usage/")
    assert page.get_by_test_id("answers-total").inner_text() == "1"
    assert page.get_by_test_id("cost-total").inner_text() == cost
    assert (
        "Northwind Press" in page.get_by_role("region", name="By provider", exact=True).inner_text()
    )
    journey.shot("usage")

    _nav(journey, "Licences")
    assert cost in journey.text("table")
    journey.shot("licences")
    assert journey.violations == []
