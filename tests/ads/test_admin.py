"""The operators' review queue in the admin: look, then approve or reject the versions seen."""

import pytest
from django.test import Client
from django.utils import timezone

from ads import services as ads
from ads.models import AdUnit, Campaign
from tests.acting import owner_of

pytestmark = pytest.mark.django_db

QUEUE = "/admin/ads/adunit/"


@pytest.fixture
def browser(operator):
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def units(advertiser, make_campaign, make_unit):
    campaign = make_campaign(advertiser)
    return [make_unit(advertiser, campaign.id, title=f"Unit {n}") for n in (1, 2)]


def _act(browser, action, units, **extra):
    return browser.post(
        QUEUE, {"action": action, "_selected_action": [str(u.id) for u in units], **extra}
    )


def test_the_queue_filters_on_review_state(browser, units, operator):
    ads.approve_unit(reviewer_id=operator.pk, unit_id=units[0].id, version=1)

    pending = browser.get(QUEUE, {"review_state__exact": "pending"})

    assert pending.status_code == 200
    assert "Unit 2" in pending.content.decode()
    assert "Unit 1" not in pending.content.decode()


def test_approving_shows_the_units_then_approves_the_versions_seen(browser, units, advertiser):
    look = _act(browser, "approve_units", units)
    assert look.status_code == 200
    page = look.content.decode()
    assert "Unit 1" in page and 'name="version_' in page
    assert set(AdUnit.objects.values_list("review_state", flat=True)) == {"pending"}

    ads.update_unit(actor=owner_of(advertiser), unit_id=units[1].id, body="Changed meanwhile.")
    done = _act(
        browser,
        "approve_units",
        units,
        confirm="yes",
        **{f"version_{u.id}": "1" for u in units},
    )

    assert done.status_code == 302
    states = dict(AdUnit.objects.values_list("title", "review_state"))
    assert states == {"Unit 1": "approved", "Unit 2": "pending"}  # version 2 waits its turn
    messages = [str(m) for m in browser.get(QUEUE).context["messages"]]
    assert any("1 ad unit(s) approved" in m for m in messages)
    assert any("version 2" in m for m in messages)


def test_rejecting_needs_a_reason_the_advertiser_sees(browser, units):
    version = {f"version_{units[0].id}": "1"}
    blank = _act(browser, "reject_units", units[:1], confirm="yes", reason=" ", **version)
    assert blank.status_code == 302
    assert AdUnit.objects.get(id=units[0].id).review_state == "pending"

    _act(
        browser,
        "reject_units",
        units[:1],
        confirm="yes",
        reason="Unsupported claim.",
        **version,
    )

    rejected = AdUnit.objects.get(id=units[0].id)
    assert (rejected.review_state, rejected.review_reason) == ("rejected", "Unsupported claim.")


def test_advertiser_text_is_shown_escaped(browser, advertiser):
    # Markup is refused by the API; a row written some other way is still shown as text.
    campaign = Campaign.objects.create(
        advertiser=advertiser,
        name="<b>Bold</b> campaign",
        currency="USD",
        total_budget_micros=1_000,
        starts_at=timezone.now(),
    )
    unit = AdUnit.objects.create(
        campaign=campaign,
        title="<script>alert(1)</script>",
        body="<img src=x onerror=alert(2)>",
        url="https://example.com",
        call_to_action="Go",
        category="other",
        bid_type="cpm",
        max_bid_micros=10,
        submitted_at=timezone.now(),
    )

    pages = [
        browser.get(QUEUE).content.decode(),
        browser.get(f"{QUEUE}{unit.id}/change/").content.decode(),
        _act(browser, "approve_units", [unit]).content.decode(),
        browser.get(f"/admin/ads/campaign/{campaign.id}/change/").content.decode(),
    ]

    for page in pages:
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert "<b>Bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages[2]


def test_campaigns_are_searchable_and_filtered(browser, advertiser, make_campaign):
    make_campaign(advertiser, name="Winter heat")
    make_campaign(advertiser, name="Summer cool")

    found = browser.get("/admin/ads/campaign/", {"q": "winter", "status__exact": "active"})

    assert found.status_code == 200
    assert "Winter heat" in found.content.decode()
    assert "Summer cool" not in found.content.decode()
