"""Browser journey 4, in headless Chromium (Debian's; skipped where it is absent): an
advertiser signs up, sees it has no ad funds, creates a campaign (a bad budget first, shown
next to its field), creates an ad targeted next to a provider's collection picked by name, and
sees it wait for review; an operator approves it in the admin's review queue; an agent's answer
is served the ad; the advertiser sees the impression in its performance chart and tables, and
why the ad won in its decision traces.

The agent's answer comes through `POST /api/v1/answers` with `allow_sponsored`: the auction
runs after the answer is written, the item comes back labelled beside it, and what was served
is recorded and charged as the answer path does it. Every step is saved as a screenshot
at 1280 and 375 px under var/artifacts/journeys/; no page scrolls sideways at 375 px, no page
violates the CSP, and axe-core finds no serious violation on the advertiser's pages.
"""

import os

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Organization
from ads import services as ads
from billing import services as billing
from core.money import format_micros
from licensing import services as licensing
from tests.acting import acting_for, owner_of
from tests.marketplace.factories import UserFactory
from tests.portal.agent.test_journey import QUESTION, providers
from tests.portal.test_journeys import ARTIFACTS, CHROMIUM, Journey, browser

__all__ = ["browser", "providers"]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
SERIOUS = {"serious", "critical"}


class AdvertiserJourney(Journey):
    """The provider journeys' checks, and axe-core's on each page shot."""

    def shot(self, label: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        found = Axe().run(self.page).response["violations"]
        serious = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
        serious = [s for s, v in zip(serious, found, strict=True) if v["impact"] in SERIOUS]
        assert serious == [], f"{label}: {serious}"
        super().shot(label)

    def nav(self, label: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def _agent_answers(northwind: Organization) -> tuple[str, Organization]:
    """An agent licenses Northwind's offer, funds its wallet and asks, allowing sponsored
    content, through the REST API; return the answer's request id."""
    agent, _ = _org("Acme Agents", "agent")
    [offer] = licensing.list_offers(**acting_for(northwind))
    licensing.accept_offer(**acting_for(agent), offer_id=offer.id)
    billing.grant_credit(
        organization_id=agent.id, amount_micros=1_000_000, idempotency_key="journey-4-agent"
    )
    key = accounts.create_api_key(**acting_for(agent), name="journey 4").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        "/api/v1/answers", {"question": QUESTION, "allow_sponsored": True}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["citations"]
    return body, agent


def _org(name: str, role: str) -> tuple[Organization, object]:
    """Sign up an organization with one role; return it and its owner."""
    user = accounts.sign_up(
        email=f"{role}@{name.split()[0].lower()}.example",
        password="another long passphrase",
        organization_name=name,
        roles=[role],
        client_address="127.0.0.1",
    )[0]
    return Organization.objects.get(memberships__user=user), user


def test_an_advertiser_runs_an_ad_that_an_agents_answer_shows(
    live_server, transactional_db, browser, providers
):
    journey = AdvertiserJourney(browser, live_server.url, "advertiser")
    page = journey.page

    journey.goto("/signup/")
    page.get_by_label("Email").fill("ads@warmth.example")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_label("Organization name").fill("Warmth Ltd")
    page.get_by_label("Advertiser").check()
    page.get_by_role("button", name="Sign up").click()
    advertiser = Organization.objects.get(name="Warmth Ltd")

    journey.nav("Campaigns")
    assert page.get_by_test_id("prepaid").inner_text() == "0.00"
    assert "No campaigns yet" in journey.text()
    journey.shot("campaigns-empty")
    # Stripe is not configured here: the operator credits the prepaid ad funds instead.
    billing.grant_credit(
        organization_id=advertiser.id,
        amount_micros=20_000_000,
        idempotency_key="journey-4-ad-funds",
        purpose="advertiser_prepaid",
        memo="Launch credit",
    )
    journey.nav("Ad funds")
    assert page.get_by_test_id("ad-funds").inner_text() == "20.00"
    journey.shot("ad-funds")

    journey.nav("Campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Winter warmth")
    page.get_by_label("Total budget (USD)").fill("fifty")
    page.get_by_label("Daily budget (USD)").fill("5")
    page.get_by_role("button", name="Create campaign").click()
    assert "Enter an amount like 0.002 or 49." in journey.text("#id_total_budget_error")
    journey.shot("campaign-bad-budget")
    page.get_by_label("Total budget (USD)").fill("50")
    page.get_by_label("As soon as possible").check()
    page.get_by_role("button", name="Create campaign").click()
    page.get_by_role("heading", name="Winter warmth", level=1).wait_for()
    assert page.get_by_test_id("campaign-status").inner_text() == "Active"
    stats = journey.text(".stats")
    assert "50.00" in stats and "5.00" in stats and "20.00" in stats
    journey.shot("campaign")

    page.get_by_role("link", name="New ad").click()
    page.get_by_label("Title").fill("Heat pumps that work at -20 °C")
    page.get_by_label("Body").fill("Cold-climate heat pumps, installed in a week. Fixed prices.")
    page.get_by_label("Link (URL)").fill("https://warmth.example/cold-climate")
    page.get_by_label("Call to action").fill("Get a quote")
    page.get_by_label("Context hints").fill("Someone asking how heat pumps cope with frost.")
    page.get_by_label("Keywords").fill("heat pump, frost, defrost")
    page.get_by_label("Topics").fill("energy")
    page.get_by_label("Category").select_option("retail")
    page.get_by_label("Per 1,000 times shown (CPM)").check()
    page.get_by_label("Highest bid (USD)").fill("4")
    next_to = page.get_by_role("group", name="Appear next to these collections")
    next_to.get_by_label("Home energy · Northwind Press").check()
    journey.shot("new-ad")
    page.get_by_role("button", name="Save and submit for review").click()
    assert page.get_by_test_id("review-state").inner_text() == "Waiting for review"
    preview = journey.text("[data-testid=ad-preview]")
    assert "sponsored · by warmth ltd" in preview.casefold()
    assert "Next to collections\nHome energy" in journey.text(".facts")
    journey.shot("ad-waiting")

    # The operator approves the version it reads, in the admin's review queue.
    operator = UserFactory(email="ops@provenant.example", is_staff=True, is_superuser=True)
    admin = AdvertiserJourney(browser, live_server.url, "advertiser-operator")
    admin.goto("/admin/login/")
    admin.page.get_by_label("Email").fill(operator.email)
    admin.page.get_by_label("Password").fill("correct horse battery staple")
    admin.page.get_by_role("button", name="Log in").click()
    admin.goto("/admin/ads/adunit/?review_state__exact=pending")
    row = admin.page.get_by_role("row").filter(has_text="Heat pumps that work at -20 °C")
    row.get_by_role("checkbox").check()
    admin.page.locator("select[name=action]").select_option("approve_units")
    admin.page.get_by_role("button", name="Go").click()
    assert "Warmth Ltd (Winter warmth)" in admin.text("#content")
    admin.page.screenshot(path=ARTIFACTS / "advertiser-operator-review-1280.png", full_page=True)
    admin.page.get_by_role("button", name="Approve these versions").click()
    admin.page.get_by_text("1 ad unit(s) approved.").wait_for()
    admin.context.close()

    page.reload()
    assert page.get_by_test_id("review-state").inner_text() == "Approved"
    journey.shot("ad-approved")

    # An agent asks; its answer is served the ad.
    answer, _ = _agent_answers(providers)
    [campaign] = ads.list_campaigns(**acting_for(advertiser))
    [unit] = ads.list_units(actor=owner_of(advertiser), campaign_id=campaign.id)
    [shown] = answer["sponsored"]
    assert (shown["label"], shown["advertiser"]["name"], shown["title"]) == (
        "Sponsored",
        "Warmth Ltd",
        "Heat pumps that work at -20 °C",
    )
    ads.charge_ad_events()  # the impression, as the periodic task charges it
    [serving] = ads.servings_for(request_id=answer["id"])
    assert serving.unit_id == unit.id and serving.bid_type == "cpm"
    charged = serving.price_micros // 1000  # a CPM price is per 1,000 shown; this one is 1
    spent = format_micros(charged, min_places=2)
    cpm = format_micros(charged * 1000, min_places=2)  # what 1,000 cost, at what one cost

    journey.nav("Performance")
    assert page.get_by_test_id("impressions-total").inner_text() == "1"
    assert page.get_by_test_id("spend-total").inner_text() == spent
    chart = page.locator("#impressions-chart-desc").text_content()
    assert chart.endswith(", 1 shown.")
    by_ad = page.get_by_role("region", name="By ad unit").inner_text()
    assert f"Heat pumps that work at -20 °C\t1\t0\t0.00%\t{spent}\t{cpm}" in by_ad
    journey.shot("performance")

    journey.nav("Decision traces")
    trace = journey.text(".trace")
    assert "One of your ads won" in trace
    assert "Won: shown with the answer" in trace
    journey.shot("traces")

    journey.nav("Campaigns")
    page.get_by_role("link", name="Winter warmth").click()
    assert page.get_by_test_id("spent").inner_text() == spent
    units = page.get_by_role("region", name="Ad units").inner_text()
    assert "Heat pumps that work at -20 °C\tApproved\tActive" in units
    journey.shot("campaign-spent")
    journey.context.close()
    assert journey.violations == []
