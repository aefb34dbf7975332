"""Journey 5: every page of the portal, as the demo's provider, agent and advertiser see it,
at 1280 and 375 px wide: nothing scrolls sideways, nothing violates the CSP, and axe-core
(the accessibility engine, bundled by axe-playwright-python) finds no serious or critical
violation. The pages are found by following the navigation and, one level down, the links in
each page's content; screenshots go to var/artifacts/journeys/every-page/."""

import io
import re
import shutil
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from tests.portal.test_journeys import ARTIFACTS, CHROMIUM, NARROW, WIDE, browser  # noqa: F401

pytestmark = pytest.mark.skipif(
    not __import__("os").path.exists(CHROMIUM),
    reason="needs Debian's chromium (apt-get install chromium)",
)

LOGINS = (
    "provider@demo.provenant.dev",
    "agent@demo.provenant.dev",
    "advertiser@demo.provenant.dev",
)
PASSWORD = "provenant-demo"
# Links that change something, leave the portal, or are files, not pages.
SKIP = re.compile(
    r"logout|format=csv|\.csv|\.pdf|\.txt|\.xml|/admin/|/api/|/rsl/|/c/|delete|revoke|#"
)
PAGES_PER_LOGIN = 40
SERIOUS = {"serious", "critical"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FOLDER = ARTIFACTS / "every-page"


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0
    call_command("seed_demo", stdout=io.StringIO())


def _links(page, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "links => links.map(a => a.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/") and not SKIP.search(h)]


def _pages_of(page, base_url: str) -> list[str]:
    """The navigation's pages, then the pages their content links to (one level down)."""
    found: list[str] = []
    for path in _links(page, "nav a"):
        if path not in found:
            found.append(path)
    for path in list(found):
        page.goto(f"{base_url}{path}")
        for link in _links(page, "main a"):
            if link not in found and len(found) < PAGES_PER_LOGIN:
                found.append(link)
    return found


def test_every_page_is_usable_at_both_widths_and_accessible(live_server, demo, browser):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    problems: list[str] = []
    visited = 0
    for email in LOGINS:
        context = browser.new_context(viewport=WIDE)
        page = context.new_page()
        csp: list[str] = []
        page.on(
            "console",
            lambda m, csp=csp: "Content Security Policy" in m.text and csp.append(m.text),
        )
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        role = email.split("@")[0]
        for path in _pages_of(page, live_server.url):
            response = page.goto(f"{live_server.url}{path}")
            visited += 1
            where = f"{role} {path}"
            if response is None or response.status >= 400:
                problems.append(f"{where}: HTTP {response.status if response else '?'}")
                continue
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = [n["target"] for n in violation["nodes"]][:3]
                    problems.append(
                        f"{where}: axe {violation['id']} ({violation['impact']}) {targets}"
                    )
            page.set_viewport_size(NARROW)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{where}: scrolls {overflow} px sideways at 375 px")
            plain = UUID.sub("", urlsplit(path).path.lower())
            name = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "home"
            page.screenshot(path=FOLDER / f"{role}-{visited:02d}-{name}-375.png", full_page=True)
            page.set_viewport_size(WIDE)
        problems.extend(f"{role}: CSP {message}" for message in csp)
        context.close()

    assert visited >= 20, f"only {visited} pages were found to check"
    assert not problems, "\n".join(problems)
