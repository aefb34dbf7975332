"""Browser journeys of a provider, in headless Chromium (Debian's; skipped where it is absent).

Journey 1: a provider signs up, uploads three files and one broken file, sees the progress and
the error, publishes an offer and sees its RSL. Journey 3 (the provider's half): after an agent's
answer uses that content, the provider sees the use in its overview and the earnings in its
balance. Every page is also checked at 375 px wide for horizontal scrolling. Screenshots of each
step go to var/artifacts/journeys/ (at 1280 and 375 px).
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Organization
from billing import services as billing
from licensing import services as licensing
from tests.acting import acting_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "journeys"
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 375, "height": 812}

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)

FILES = {
    "heat-pumps.txt": "Heat pumps move heat from outside air into a home. A good heat pump "
    "delivers three units of heat for each unit of electricity it uses, even in winter.",
    "insulation.md": "# Loft insulation\n\nLoft insulation of 270 mm keeps heat in and pays "
    "for itself within a few winters.",
    "solar.html": "<html><head><title>Rooftop solar</title></head><body><p>Rooftop solar "
    "panels produce most in summer; a battery stores the surplus for the evening.</p>"
    "</body></html>",
    "broken.pdf": "%PDF-1.4 this file was cut short and is not a PDF at all",
}


class Journey:
    """A browser page with the journey's checks: screenshots, no horizontal scroll, no CSP
    violation."""

    def __init__(self, browser, base_url: str, name: str):
        self.context = browser.new_context(viewport=WIDE)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.name = name
        self.step = 0
        self.violations: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and self.violations.append(message.text)
            ),
        )

    def goto(self, path: str):
        self.page.goto(f"{self.base_url}{path}")

    def shot(self, label: str) -> None:
        """Save the page at 1280 px and at 375 px, and check nothing scrolls sideways at 375."""
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = f"{self.name}-{self.step:02d}-{label}"
        self.page.screenshot(path=ARTIFACTS / f"{stem}-1280.png", full_page=True)
        self.page.set_viewport_size(NARROW)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        self.page.screenshot(path=ARTIFACTS / f"{stem}-375.png", full_page=True)
        self.page.set_viewport_size(WIDE)
        assert overflow <= 0, f"{label}: the page scrolls {overflow} px sideways at 375 px"

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are plain synchronous ones between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
        # The test's ORM calls ran inside Playwright's context, which has database connections
        # of its own: close them here, or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


def _sign_up_and_publish(journey: Journey, tmp_path: Path) -> None:
    page = journey.page
    journey.goto("/signup/")
    page.get_by_label("Email").fill("editor@northwind.example")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_label("Organization name").fill("Northwind Press")
    page.get_by_label("Data provider").check()
    journey.shot("signup")
    page.get_by_role("button", name="Sign up").click()
    assert "Welcome to Provenant" in journey.text()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Content").click()
    page.get_by_label("Name", exact=True).fill("Home energy")
    page.get_by_label("Description").fill("Guides to heating and powering a home.")
    page.get_by_label("Topics").fill("energy, home")
    journey.shot("new-collection")
    page.get_by_role("button", name="Create collection").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Home energy"

    paths = []
    for name, text in FILES.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(path)
    page.get_by_label("Files").set_input_files(paths)
    page.get_by_role("button", name="Upload").click()
    progress = page.locator(".job").first
    progress.get_by_text("4 of 4 files processed").wait_for()
    assert "3 new" in progress.inner_text()
    assert "broken.pdf:" in progress.locator(".job-errors").inner_text()
    documents = page.locator("#documents").inner_text()
    assert "Heat pumps" in documents or "heat-pumps.txt" in documents
    journey.shot("uploaded")

    page.locator("#documents table").get_by_role("link").first.click()
    page.get_by_role("textbox", name="Canonical URL").fill("https://northwind.example/guides/solar")
    page.get_by_role("button", name="Save URL").click()
    assert "Canonical URL saved" in journey.text()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Offers").click()
    page.get_by_role("link", name="New offer").click()
    page.get_by_label("Name", exact=True).fill("Per source, a fifth of a cent")
    page.get_by_label("Home energy").check()
    page.get_by_label("How agents pay").select_option("use")
    page.get_by_label("Price (USD)").fill("0.002")
    preview = page.locator("#price-preview")
    preview.get_by_text("An answer citing 2 passages costs the agent 0.004 USD.").wait_for()
    page.get_by_label("Passages cited in the answer").fill("3")
    preview.get_by_text("An answer citing 3 passages costs the agent 0.006 USD.").wait_for()
    journey.shot("offer-editor")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Publish").click()
    assert "is published" in journey.text()
    rsl = page.get_by_test_id("rsl-preview").inner_text()
    assert '<amount currency="USD">0.002</amount>' in rsl
    assert '<permits type="usage">ai-input</permits>' in rsl
    journey.shot("published")


def _agent_answers(provider: Organization) -> None:
    """An agent accepts the provider's offer and asks a question the upload answers."""
    agent_user = accounts.sign_up(
        email="builder@acme.example",
        password="another long passphrase",
        organization_name="Acme Agents",
        roles=["agent"],
        client_address="127.0.0.1",
    )[0]
    agent = Organization.objects.get(memberships__user=agent_user)
    [offer] = licensing.list_offers(**acting_for(provider))
    licensing.accept_offer(**acting_for(agent), offer_id=offer.id)
    key = accounts.create_api_key(**acting_for(agent), name="journey").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        "/api/v1/answers",
        {"question": "How much heat does a heat pump deliver for its electricity?"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["citations"]
    billing.rate_usage()


def test_a_provider_publishes_then_sees_an_agents_use_and_its_earnings(
    live_server, transactional_db, browser, tmp_path, index_dir
):
    journey = Journey(browser, live_server.url, "provider")
    _sign_up_and_publish(journey, tmp_path)
    provider = Organization.objects.get(name="Northwind Press")

    _agent_answers(provider)

    page = journey.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    assert page.get_by_test_id("answers-total").inner_text() == "1"
    earned = page.get_by_test_id("earned-total").inner_text()
    assert re.fullmatch(r"0\.\d+", earned) and earned != "0.00"
    assert "Acme Agents" in page.locator("#table-agents").locator("..").locator("..").inner_text()
    journey.shot("overview")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Licensees").click()
    assert "Acme Agents" in journey.text()
    journey.shot("licensees")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    balance = page.locator("table").first.inner_text()
    assert earned in balance  # earned, not paid out yet
    journey.shot("billing")

    for label in ("Keys and members",):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        journey.shot("organization")
    journey.context.close()
    assert journey.violations == []
