"""The advertiser's campaign pages: budgets typed in the currency and kept in micros exactly,
refusals next to their fields with nothing written, pausing, resuming and ending, the prepaid
funds and the way back from running out of them; another advertiser's campaign is 404."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from ads.models import Campaign
from billing import services as billing
from tests.acting import owner_of
from tests.portal.advertiser.conftest import signed_in

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Winter heat",
    "total_budget": "250.50",
    "daily_budget": "12.345678",
    "starts_at": "",
    "ends_at": "",
    "pacing": "even",
}


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_a_campaign_is_created_with_budgets_converted_to_micros_exactly(advertiser, browser_of):
    response = browser_of.post(f"/orgs/{advertiser.id}/campaigns/new/", FORM)

    [campaign] = ads.list_campaigns(actor=owner_of(advertiser), organization_id=advertiser.id)
    assert response.status_code == 302
    assert response["Location"] == f"/orgs/{advertiser.id}/campaigns/{campaign.id}/"
    assert (campaign.total_budget_micros, campaign.daily_budget_micros) == (
        250_500_000,
        12_345_678,
    )
    assert (campaign.name, campaign.pacing, campaign.status, campaign.ends_at) == (
        "Winter heat",
        "even",
        "active",
        None,
    )
    page = _page(browser_of.get(response["Location"]))
    assert "250.50" in page and "12.345678" in page
    assert "Campaign Winter heat created" in page


def test_a_schedule_is_typed_in_utc_to_the_minute(advertiser, browser_of):
    browser_of.post(
        f"/orgs/{advertiser.id}/campaigns/new/",
        {**FORM, "starts_at": "2031-03-01T08:30", "ends_at": "2031-04-01T00:00", "pacing": "asap"},
    )

    campaign = Campaign.objects.get()
    assert campaign.starts_at == datetime(2031, 3, 1, 8, 30, tzinfo=UTC)
    assert campaign.ends_at == datetime(2031, 4, 1, tzinfo=UTC)
    assert campaign.pacing == "asap"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"total_budget": "a lot"}, "total_budget", "Enter an amount like 0.002 or 49."),
        ({"total_budget": ""}, "total_budget", "This field is required."),
        ({"total_budget": "-5"}, "total_budget", "Enter an amount of zero or more."),
        (
            {"total_budget": "1.0000001"},
            "total_budget",
            "At most six decimals (a millionth of the currency).",
        ),
        ({"total_budget": "0"}, "total_budget", "Total budget (USD) must be more than zero."),
        (
            {"total_budget": "10", "daily_budget": "10.000001"},
            "daily_budget",
            "The daily budget is more than the total budget.",
        ),
        (
            {"starts_at": "2031-03-01T08:30", "ends_at": "2031-03-01T08:00"},
            "ends_at",
            "The campaign must end after it starts.",
        ),
        (
            {"starts_at": "2000-01-01T00:00", "ends_at": "2001-01-01T00:00"},
            "ends_at",
            "The campaign would have ended already.",
        ),
        ({"starts_at": "yesterday"}, "starts_at", "Enter a valid date/time."),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "<script>alert(1)</script>"}, "name", "HTML tags and scripts are not allowed"),
        ({"pacing": "fast"}, "pacing", "Select a valid choice."),
    ],
)
def test_bad_campaign_input_is_shown_next_to_its_field_and_nothing_is_written(
    advertiser, browser_of, changes, field, message
):
    response = browser_of.post(f"/orgs/{advertiser.id}/campaigns/new/", {**FORM, **changes})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert message in errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Campaign.objects.count() == 0


def test_the_editor_shows_amounts_as_typed_and_saves_only_what_changed(
    advertiser, browser_of, make_campaign
):
    starts = timezone.now().replace(microsecond=0) - timedelta(seconds=41)
    campaign = make_campaign(
        advertiser, total_budget_micros=250_500_000, daily_budget_micros=2_500, starts_at=starts
    )
    url = f"/orgs/{advertiser.id}/campaigns/{campaign.id}/edit/"
    form = browser_of.get(url).context["form"]
    assert form.initial["total_budget"] == "250.5"
    assert form.initial["daily_budget"] == "0.0025"

    data = {**form.initial, "total_budget": "300", "daily_budget": ""}
    response = browser_of.post(url, data)

    assert response.status_code == 302
    saved = ads.get_campaign(actor=owner_of(advertiser), campaign_id=campaign.id)
    assert (saved.total_budget_micros, saved.daily_budget_micros) == (300_000_000, None)
    assert saved.starts_at == starts  # shown to the minute, saved as it was: not moved


def test_a_campaign_is_paused_resumed_and_ended(advertiser, browser_of, make_campaign):
    campaign = make_campaign(advertiser)
    base = f"/orgs/{advertiser.id}/campaigns/{campaign.id}/"

    paused = browser_of.post(f"{base}pause/", follow=True)
    assert "Winter heat is paused" in _page(paused)
    assert Campaign.objects.get().status == "paused"
    resumed = browser_of.post(f"{base}resume/", follow=True)
    assert "Winter heat is running again" in _page(resumed)
    assert Campaign.objects.get().status == "active"
    ended = _page(browser_of.post(f"{base}end/", follow=True))
    assert "Winter heat has ended" in ended and "This campaign has ended" in ended
    assert Campaign.objects.get().status == "ended"

    refused = browser_of.post(f"{base}resume/", follow=True)
    assert "This campaign has ended; start a new one." in _page(refused)
    assert Campaign.objects.get().status == "ended"
    assert browser_of.get(f"{base}pause/").status_code == 405


def test_out_of_funds_links_to_adding_funds_and_resumes_once_funded(
    advertiser, browser_of, make_campaign
):
    campaign = make_campaign(advertiser)
    Campaign.objects.filter(id=campaign.id).update(status="out_of_funds")
    base = f"/orgs/{advertiser.id}/campaigns/{campaign.id}/"
    add_funds = f"/orgs/{advertiser.id}/billing/?purpose=advertiser_prepaid#top-up"

    listing = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/"))
    assert "stopped: your prepaid ad funds ran out" in listing
    assert f'href="{add_funds}"' in listing
    detail = _page(browser_of.get(base))
    assert "Out of funds" in detail and f'href="{add_funds}"' in detail

    refused = _page(browser_of.post(f"{base}resume/", follow=True))
    assert "Your prepaid ad funds are empty" in refused
    assert Campaign.objects.get().status == "out_of_funds"

    billing.grant_credit(
        organization_id=advertiser.id,
        amount_micros=5_000_000,
        idempotency_key="ad-funds",
        purpose="advertiser_prepaid",
    )
    listing = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/"))
    assert '<span class="value" data-testid="prepaid">5.00</span>' in listing
    browser_of.post(f"{base}resume/")
    assert Campaign.objects.get().status == "active"


def test_the_list_shows_each_campaign_and_exports_it_as_csv(advertiser, browser_of, make_campaign):
    make_campaign(advertiser, name="Boilers", total_budget_micros=1_234_567_890)
    make_campaign(advertiser, name="Heat pumps", daily_budget_micros=2_500_000)

    page = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/"))
    assert "1,234.56789" in page and "Heat pumps" in page
    response = browser_of.get(f"/orgs/{advertiser.id}/campaigns/?format=csv&table=campaigns")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == [
        "Campaign",
        "Status",
        "Total budget (USD)",
        "Daily budget (USD)",
        "Spent (USD)",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Boilers"][1:5] == ["Active", "1234.56789", "no limit", "0.00"]
    assert by_name["Heat pumps"][1:5] == ["Active", "100.00", "2.50", "0.00"]


def test_another_advertisers_campaign_is_the_404_page(advertiser, rival, browser_of, make_campaign):
    theirs = make_campaign(rival, name="Coldfront's secret")
    base = f"/orgs/{advertiser.id}/campaigns/{theirs.id}/"

    for url in (base, f"{base}edit/", f"{base}ads/new/"):
        response = browser_of.get(url)
        assert response.status_code == 404, url
        assert "Coldfront" not in response.content.decode()
    for action in ("pause", "resume", "end"):
        assert browser_of.post(f"{base}{action}/").status_code == 404
    assert browser_of.post(f"{base}edit/", FORM).status_code == 404
    assert Campaign.objects.get(id=theirs.id).status == "active"
    assert Campaign.objects.get(id=theirs.id).name == "Coldfront's secret"
    # Their organization's pages too: not a member, so 404.
    assert browser_of.get(f"/orgs/{rival.id}/campaigns/").status_code == 404


def test_a_member_of_two_advertisers_sees_each_campaign_under_its_own_organization_only(
    advertiser, rival, make_campaign
):
    owner = advertiser.memberships.get(role="owner").user
    rival.memberships.create(user=owner, role="admin")
    theirs = make_campaign(rival, name="Coldfront's campaign")
    client = signed_in(advertiser)

    assert client.get(f"/orgs/{rival.id}/campaigns/{theirs.id}/").status_code == 200
    assert client.get(f"/orgs/{advertiser.id}/campaigns/{theirs.id}/").status_code == 404
    listing = _page(client.get(f"/orgs/{advertiser.id}/campaigns/"))
    assert "Coldfront's campaign" not in listing


def test_organizations_without_the_advertiser_role_are_told_so(make_org):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    client = signed_in(org)

    response = client.get(f"/orgs/{org.id}/campaigns/")

    assert response.status_code == 403
    assert "for organizations with the advertiser role" in response.content.decode()


def test_the_navigation_leads_to_every_advertiser_page(advertiser, browser_of):
    page = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/"))
    for label, path in (
        ("Campaigns", "campaigns/"),
        ("Performance", "ad-performance/"),
        ("Decision traces", "ad-traces/"),
        ("Ad funds", "billing/"),
    ):
        assert f'<a href="/orgs/{advertiser.id}/{path}"' in page, label
        assert f">{label}</a>" in page
