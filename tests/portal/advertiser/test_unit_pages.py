"""The advertiser's ad unit pages: text, link, targeting picked by name (collections and
providers of public offers) or typed as ids (agents), a bid typed in the currency; refusals
next to their fields with nothing written; text shown escaped; review states and the reason of
a rejection; new versions on edit; another advertiser's unit is 404."""

import html

import pytest

from ads import services as ads
from ads.models import AdUnit
from licensing import services as licensing
from tests.acting import acting_for, owner_of
from tests.ads.conftest import UNIT

pytestmark = pytest.mark.django_db

FORM = {
    "title": UNIT["title"],
    "body": UNIT["body"],
    "url": UNIT["url"],
    "call_to_action": UNIT["call_to_action"],
    "context_hints": UNIT["context_hints"],
    "keywords": "heat pump, Boiler ",
    "topics": "energy",
    "category": "retail",
    "bid_type": "cpm",
    "max_bid": "2.5",
    "agent_orgs": "",
    "exclude_agent_orgs": "",
}


@pytest.fixture
def public_offer(provider, collection):
    """A published offer open to every agent on the provider's collection."""
    offer = licensing.create_offer(
        **acting_for(provider),
        name="Free",
        terms=licensing.OfferTerms(
            collection_ids=(collection.id,), usage_types=("ai-input",), payment_type="free"
        ),
    )
    return licensing.publish_offer(**acting_for(provider), offer_id=offer.id)


@pytest.fixture
def campaign(advertiser, make_campaign):
    return make_campaign(advertiser, total_budget_micros=100_000_000, daily_budget_micros=None)


def _new(advertiser, campaign) -> str:
    return f"/orgs/{advertiser.id}/campaigns/{campaign.id}/ads/new/"


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_a_unit_is_created_with_its_targeting_by_name_and_its_bid_in_micros(
    advertiser, agent, provider, collection, public_offer, campaign, browser_of
):
    form = browser_of.get(_new(advertiser, campaign)).context["form"]
    assert form.fields["collections"].choices == [(str(collection.id), "Energy · Northwind Press")]
    assert form.fields["providers"].choices == [(str(provider.id), "Northwind Press")]

    response = browser_of.post(
        _new(advertiser, campaign),
        {
            **FORM,
            "collections": [str(collection.id)],
            "exclude_providers": [],
            "agent_orgs": f"{agent.id}\n{agent.id}",
        },
    )

    unit = AdUnit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orgs/{advertiser.id}/ads/{unit.id}/"
    assert (unit.bid_type, unit.max_bid_micros, unit.category) == ("cpm", 2_500_000, "retail")
    assert (unit.keywords, unit.topics) == (["heat pump", "boiler"], ["energy"])
    assert (unit.collections, unit.agent_orgs, unit.providers) == (
        [str(collection.id)],
        [str(agent.id)],
        [],
    )
    assert (unit.review_state, unit.version) == ("pending", 1)
    page = _page(browser_of.get(response["Location"]))
    assert "Waiting for review" in page and "is saved and waits for review" in page
    assert "Energy" in page and "Acme Agents" in page  # targets named, not shown as ids
    assert "2.50 USD per 1,000 shown" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "<b>Hot</b> deals"}, "title", "HTML tags and scripts are not allowed"),
        ({"body": "Click <script>alert(1)</script>"}, "body", "HTML tags and scripts"),
        ({"url": "javascript:alert(1)"}, "url", "an absolute http:// or https:// address"),
        ({"url": "ftp://files.example.com/"}, "url", "an absolute http:// or https:// address"),
        ({"url": "https://user:pw@example.com/"}, "url", "may not carry a user name or password"),
        ({"max_bid": "0"}, "max_bid", "must be more than zero"),
        ({"max_bid": "100.000001"}, "max_bid", "The bid is more than the campaign's total budget."),
        ({"max_bid": "0.0000001"}, "max_bid", "At most six decimals"),
        ({"bid_type": "cpa"}, "bid_type", "Select a valid choice."),
        ({"category": "weapons"}, "category", "Select a valid choice."),
        ({"agent_orgs": "acme"}, "agent_orgs", "acme is not an organization id"),
        (
            {"agent_orgs": "00000000-0000-0000-0000-000000000001"},
            "agent_orgs",
            "is no agent organization",
        ),
        ({"keywords": "x" * 61}, "keywords", "Keywords is at most 60 characters."),
    ],
)
def test_bad_unit_input_is_shown_next_to_its_field_and_nothing_is_written(
    advertiser, campaign, browser_of, changes, field, message
):
    response = browser_of.post(_new(advertiser, campaign), {**FORM, **changes})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert message in errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert AdUnit.objects.count() == 0


def test_a_target_both_included_and_excluded_is_refused_next_to_the_exclusion(
    advertiser, collection, public_offer, campaign, browser_of
):
    response = browser_of.post(
        _new(advertiser, campaign),
        {**FORM, "collections": [str(collection.id)], "exclude_collections": [str(collection.id)]},
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["exclude_collections"]
    assert AdUnit.objects.count() == 0


def test_an_agent_that_is_no_agent_is_refused(advertiser, provider, campaign, browser_of):
    response = browser_of.post(_new(advertiser, campaign), {**FORM, "agent_orgs": str(provider.id)})

    assert response.status_code == 400
    assert "is no agent organization" in response.context["form"].errors["agent_orgs"][0]


def test_advertiser_text_is_shown_escaped(advertiser, campaign, make_unit, browser_of):
    unit = make_unit(
        advertiser,
        campaign.id,
        title='Save 5 < 10 & "more"',
        body="Costs > 3 & < 5 on weekdays",
        call_to_action="Go & see",
    )

    page = _page(browser_of.get(f"/orgs/{advertiser.id}/ads/{unit.id}/"))

    assert "Save 5 &lt; 10 &amp; &quot;more&quot;" in page
    assert "Costs &gt; 3 &amp; &lt; 5 on weekdays" in page
    assert "Go &amp; see" in page
    assert "< 10 &" not in page
    listing = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/{campaign.id}/"))
    assert "Save 5 &lt; 10 &amp; &quot;more&quot;" in listing


def test_a_rejection_shows_its_reason_and_the_unit_can_be_submitted_again(
    advertiser, campaign, make_unit, operator, browser_of
):
    unit = make_unit(advertiser, campaign.id)
    ads.reject_unit(
        reviewer_id=operator.pk,
        unit_id=unit.id,
        version=1,
        reason="The <b>price</b> claim is not on the landing page.",
    )
    url = f"/orgs/{advertiser.id}/ads/{unit.id}/"

    page = _page(browser_of.get(url))
    assert "Rejected" in page
    assert "The &lt;b&gt;price&lt;/b&gt; claim is not on the landing page." in page
    listing = _page(browser_of.get(f"/orgs/{advertiser.id}/campaigns/{campaign.id}/"))
    assert '<span class="badge rejected">Rejected</span>' in listing

    submitted = html.unescape(_page(browser_of.post(f"{url}submit/", follow=True)))
    assert "is submitted: it waits for an operator's review" in submitted
    assert AdUnit.objects.get().review_state == "pending"
    again = _page(browser_of.post(f"{url}submit/", follow=True))
    assert AdUnit.objects.get().review_state == "pending"
    assert "is submitted" in again  # a pending unit is already waiting: nothing changes

    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)
    approved = _page(browser_of.get(url))
    assert '<span class="badge approved" data-testid="review-state">Approved</span>' in approved
    refused = _page(browser_of.post(f"{url}submit/", follow=True))
    assert "This version is approved already" in refused


def test_an_edit_makes_a_new_version_that_waits_for_review(
    advertiser, campaign, make_unit, operator, browser_of
):
    unit = make_unit(advertiser, campaign.id, max_bid_micros=2_500)
    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)
    url = f"/orgs/{advertiser.id}/ads/{unit.id}/edit/"
    form = browser_of.get(url).context["form"]
    assert form.initial["max_bid"] == "0.0025"

    unchanged = browser_of.post(url, {k: v for k, v in form.initial.items() if v is not None})
    assert unchanged.status_code == 302
    assert (AdUnit.objects.get().version, AdUnit.objects.get().review_state) == (1, "approved")

    data = {**form.initial, "body": "Now with weekend installs.", "max_bid": "0.003"}
    saved = _page(browser_of.post(url, data, follow=True))

    stored = AdUnit.objects.get()
    assert "Saved as version 2: it is not shown until it is approved." in saved
    assert (stored.version, stored.review_state, stored.body) == (
        2,
        "pending",
        "Now with weekend installs.",
    )
    assert stored.max_bid_micros == 3_000


def test_a_unit_is_paused_and_resumed(advertiser, campaign, make_unit, browser_of):
    unit = make_unit(advertiser, campaign.id)
    url = f"/orgs/{advertiser.id}/ads/{unit.id}/"

    assert "is paused" in _page(browser_of.post(f"{url}pause/", follow=True))
    assert AdUnit.objects.get().status == "paused"
    assert "is active again" in _page(browser_of.post(f"{url}resume/", follow=True))
    assert AdUnit.objects.get().status == "active"


def test_another_advertisers_unit_is_the_404_page(
    advertiser, rival, make_campaign, make_unit, browser_of, campaign
):
    theirs = make_unit(rival, make_campaign(rival).id, title="Coldfront's secret ad")
    base = f"/orgs/{advertiser.id}/ads/{theirs.id}/"

    for url in (base, f"{base}edit/"):
        response = browser_of.get(url)
        assert response.status_code == 404, url
        assert "Coldfront" not in response.content.decode()
    for action in ("pause", "resume", "submit"):
        assert browser_of.post(f"{base}{action}/").status_code == 404
    assert browser_of.post(f"{base}edit/", FORM).status_code == 404
    stored = AdUnit.objects.get(id=theirs.id)
    assert (stored.title, stored.status, stored.version) == ("Coldfront's secret ad", "active", 1)


def test_a_unit_of_an_ended_campaign_cannot_change(advertiser, campaign, make_unit, browser_of):
    unit = make_unit(advertiser, campaign.id)
    ads.end_campaign(actor=owner_of(advertiser), campaign_id=campaign.id)

    page = _page(browser_of.get(f"/orgs/{advertiser.id}/ads/{unit.id}/"))
    assert "Edit ad" not in page
    response = browser_of.post(f"/orgs/{advertiser.id}/ads/{unit.id}/edit/", FORM)
    assert response.status_code == 409
    assert "This unit's campaign has ended." in html.unescape(response.content.decode())
    assert (AdUnit.objects.get().version, AdUnit.objects.get().title) == (1, UNIT["title"])
