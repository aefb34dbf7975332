"""Every page carries a Content-Security-Policy, and the pages that need script still work."""

import os
import re
import shutil

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize(
    "path", ["/login/", "/signup/", "/admin/login/", "/api/docs/", "/api/v1/organizations"]
)
def test_every_response_carries_a_policy_without_inline_script(path):
    policy = _policy(Client().get(path))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


def test_api_docs_load_swagger_ui_from_this_server_with_no_inline_script_or_style():
    client = Client()
    html = client.get("/api/docs/").content.decode()

    assert "cdn" not in html.lower()
    assert "<style" not in html
    assert re.findall(r"<script>", html) == []
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert [src for src in sources if not src.startswith("/")] == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
def test_pages_run_in_a_browser_without_policy_violations(live_server, transactional_db):
    """Swagger UI renders the operations; the admin and portal pages report no violation."""
    sync_api = pytest.importorskip("playwright.sync_api")
    User.objects.create_superuser(email="ops@example.com", password="correct horse battery")
    violations = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and violations.append(message.text)
            ),
        )
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock", timeout=20_000)
        operations = page.locator(".opblock").count()
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "ops@example.com")
        page.fill("#id_password", "correct horse battery")
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}/admin/accounts/organization/add/")
        heading = page.locator("h1").inner_text()
        page.goto(f"{live_server.url}/signup/")
        browser.close()

    assert operations > 20
    assert heading == "Add organization"
    assert violations == []
