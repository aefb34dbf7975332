"""Ad units through the services: what they may say, link to, target and bid, and the review
flow (every real edit is a new version that waits for approval)."""

import uuid

import pytest

from accounts import errors as account_errors
from ads import errors
from ads import services as ads
from ads.models import AdUnit
from tests.acting import owner_of
from tests.ads.conftest import UNIT

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(advertiser, make_campaign):
    return make_campaign(advertiser, daily_budget_micros=3_000_000)


def test_a_new_unit_waits_for_review_with_its_targeting_cleaned(
    advertiser, campaign, make_unit, collection, provider, agent
):
    unit = make_unit(
        advertiser,
        campaign.id,
        targeting={
            "keywords": ["Heat Pump", "heat pump", " installers "],
            "topics": ["Energy"],
            "collections": [str(collection.id)],
            "exclude_providers": [str(provider.id)],
            "agent_orgs": [agent.id],
        },
    )

    assert (unit.review_state, unit.status, unit.version, unit.reviewed_at) == (
        "pending",
        "active",
        1,
        None,
    )
    assert unit.advertiser_id == advertiser.id
    assert unit.targeting == ads.Targeting(
        keywords=("heat pump", "installers"),
        topics=("energy",),
        collections=(collection.id,),
        exclude_providers=(provider.id,),
        agent_orgs=(agent.id,),
    )
    assert (unit.title, unit.url, unit.bid_type, unit.max_bid_micros) == (
        UNIT["title"],
        UNIT["url"],
        "cpm",
        5_000_000,
    )


def test_text_with_angle_brackets_that_is_not_markup_is_kept_as_sent(
    advertiser, campaign, make_unit
):
    unit = make_unit(advertiser, campaign.id, title='5 < 10 & "more"', body="x < y, y > z")

    assert (unit.title, unit.body) == ('5 < 10 & "more"', "x < y, y > z")
    assert AdUnit.objects.get().title == '5 < 10 & "more"'


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"title": "<script>alert(1)</script>"}, "title", "markup_not_allowed"),
        ({"body": "Click <a href='https://x.example'>here</a>"}, "body", "markup_not_allowed"),
        (
            {"call_to_action": "<img src=x onerror=alert(1)>"},
            "call_to_action",
            "markup_not_allowed",
        ),
        ({"context_hints": "<!-- hidden -->"}, "context_hints", "markup_not_allowed"),
        ({"title": "Two\nlines"}, "title", "invalid"),
        ({"title": "x" * 101}, "title", "invalid"),
        ({"body": "  "}, "body", "invalid"),
        ({"url": "javascript:alert(1)"}, "url", "invalid"),
        ({"url": "ftp://files.example.com/a"}, "url", "invalid"),
        ({"url": "//heat.example.com"}, "url", "invalid"),
        ({"url": "https://bank.example@evil.example"}, "url", "invalid"),
        ({"url": "data:text/html,hi"}, "url", "invalid"),
        ({"category": "weapons"}, "category", "invalid"),
        ({"bid_type": "cpa"}, "bid_type", "invalid"),
        ({"max_bid_micros": 0}, "max_bid_micros", "invalid"),
        ({"max_bid_micros": 100_000_001}, "max_bid_micros", "invalid"),  # above the total
        ({"bid_type": "cpc", "max_bid_micros": 3_000_001}, "max_bid_micros", "invalid"),  # daily
        ({"targeting": {"locations": ["FR"]}}, "targeting", "unknown_field"),
        ({"targeting": {"keywords": "heat"}}, "keywords", "invalid"),
        ({"targeting": {"collections": ["nope"]}}, "collections", "invalid"),
        ({"targeting": {"collections": [str(uuid.uuid4())]}}, "collections", "unknown_target"),
        ({"targeting": {"keywords": [f"w{i}" for i in range(51)]}}, "keywords", "invalid"),
    ],
)
def test_a_unit_with_a_bad_field_is_refused_and_nothing_is_written(
    advertiser, campaign, make_unit, fields, field, code
):
    with pytest.raises(errors.ValidationFailed) as refused:
        make_unit(advertiser, campaign.id, **fields)

    assert (refused.value.status, refused.value.code) == (400, code)
    assert list(refused.value.details) == [field]
    assert AdUnit.objects.count() == 0


def test_a_cpm_bid_above_the_daily_budget_is_fine_one_impression_costs_a_thousandth(
    advertiser, campaign, make_unit
):
    unit = make_unit(advertiser, campaign.id, bid_type="cpm", max_bid_micros=50_000_000)

    assert unit.max_bid_micros == 50_000_000


def test_targets_must_exist_with_the_right_role_and_not_be_both_in_and_out(
    advertiser, campaign, make_unit, provider, agent
):
    with pytest.raises(errors.ValidationFailed) as agent_as_provider:
        make_unit(advertiser, campaign.id, targeting={"providers": [str(agent.id)]})
    with pytest.raises(errors.ValidationFailed) as both:
        make_unit(
            advertiser,
            campaign.id,
            targeting={"agent_orgs": [str(agent.id)], "exclude_agent_orgs": [str(agent.id)]},
        )

    assert agent_as_provider.value.code == "unknown_target"
    assert list(both.value.details) == ["exclude_agent_orgs"]
    assert AdUnit.objects.count() == 0


def test_the_review_flow_every_real_edit_waits_for_approval_again(
    advertiser, campaign, make_unit, operator
):
    actor = owner_of(advertiser)
    unit = make_unit(advertiser, campaign.id)

    approved = ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)
    assert (approved.review_state, approved.version) == ("approved", 1)
    assert approved.reviewed_at is not None
    stored = AdUnit.objects.get()
    assert (stored.reviewer_id, stored.first_approved_at) == (operator.pk, stored.reviewed_at)

    same = ads.update_unit(actor=actor, unit_id=unit.id, title=UNIT["title"])
    assert (same.review_state, same.version) == ("approved", 1)  # no change, no new review

    paused = ads.pause_unit(actor=actor, unit_id=unit.id)
    assert (paused.status, paused.review_state) == ("paused", "approved")

    edited = ads.update_unit(actor=actor, unit_id=unit.id, title="Heat pumps this week")
    assert (edited.review_state, edited.version, edited.title) == (
        "pending",
        2,
        "Heat pumps this week",
    )

    with pytest.raises(errors.UnitChanged):
        ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)
    assert AdUnit.objects.get().review_state == "pending"

    rejected = ads.reject_unit(
        reviewer_id=operator.pk, unit_id=unit.id, version=2, reason="Claims need a source."
    )
    assert (rejected.review_state, rejected.review_reason) == ("rejected", "Claims need a source.")

    resubmitted = ads.submit_unit_for_review(actor=actor, unit_id=unit.id)
    assert (resubmitted.review_state, resubmitted.review_reason, resubmitted.version) == (
        "pending",
        "",
        2,
    )
    assert resubmitted.submitted_at > rejected.submitted_at

    again = ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=2)
    assert again.review_state == "approved"
    with pytest.raises(errors.Conflict) as already:
        ads.submit_unit_for_review(actor=actor, unit_id=unit.id)
    assert already.value.code == "already_approved"


@pytest.mark.parametrize(
    "change",
    [
        {"body": "New body."},
        {"url": "https://heat.example.com/other"},
        {"call_to_action": "Call us"},
        {"context_hints": "Other hints."},
        {"category": "other"},
        {"bid_type": "cpc", "max_bid_micros": 1_000_000},
        {"max_bid_micros": 6_000_000},
        {"targeting": {"keywords": ["boilers"]}},
    ],
)
def test_every_change_to_what_a_unit_serves_sends_it_back_to_review(
    advertiser, campaign, make_unit, operator, change
):
    unit = make_unit(advertiser, campaign.id)
    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)

    edited = ads.update_unit(actor=owner_of(advertiser), unit_id=unit.id, **change)

    assert (edited.review_state, edited.version) == ("pending", 2)


def test_a_refused_edit_changes_nothing(advertiser, campaign, make_unit, operator):
    unit = make_unit(advertiser, campaign.id)
    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)

    with pytest.raises(errors.ValidationFailed):
        ads.update_unit(
            actor=owner_of(advertiser), unit_id=unit.id, title="Fine", url="javascript:x"
        )

    stored = AdUnit.objects.get()
    assert (stored.title, stored.review_state, stored.version) == (UNIT["title"], "approved", 1)


def test_only_operators_review_and_a_rejection_says_why(advertiser, campaign, make_unit, operator):
    unit = make_unit(advertiser, campaign.id)
    staff_less = advertiser.memberships.get().user

    with pytest.raises(account_errors.PermissionDenied) as refused:
        ads.approve_unit(reviewer_id=staff_less.pk, unit_id=unit.id, version=1)
    with pytest.raises(errors.ValidationFailed):
        ads.reject_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1, reason="  ")

    assert refused.value.code == "not_an_operator"
    assert AdUnit.objects.get().review_state == "pending"


def test_an_ended_campaigns_units_cannot_change(advertiser, campaign, make_unit):
    unit = make_unit(advertiser, campaign.id)
    actor = owner_of(advertiser)
    ads.end_campaign(actor=actor, campaign_id=campaign.id)

    with pytest.raises(errors.CampaignEnded):
        make_unit(advertiser, campaign.id)
    with pytest.raises(errors.CampaignEnded):
        ads.update_unit(actor=actor, unit_id=unit.id, title="New")
    with pytest.raises(errors.CampaignEnded):
        ads.resume_unit(actor=actor, unit_id=unit.id)

    assert ads.pause_unit(actor=actor, unit_id=unit.id).status == "paused"


def test_a_unit_that_never_served_is_deleted_one_that_may_have_is_paused_instead(
    advertiser, campaign, make_unit, approved_unit
):
    draft = make_unit(advertiser, campaign.id)
    served = approved_unit()
    actor = owner_of(advertiser)

    ads.delete_unit(actor=actor, unit_id=draft.id)
    with pytest.raises(errors.UnitWasServed):
        ads.delete_unit(actor=actor, unit_id=served.id)

    assert list(AdUnit.objects.values_list("id", flat=True)) == [served.id]


def test_list_units_of_a_campaign_by_review_state(advertiser, campaign, make_unit, operator):
    first = make_unit(advertiser, campaign.id, title="First")
    second = make_unit(advertiser, campaign.id, title="Second")
    ads.approve_unit(reviewer_id=operator.pk, unit_id=first.id, version=1)
    actor = owner_of(advertiser)

    everything = ads.list_units(actor=actor, campaign_id=campaign.id)
    pending = ads.list_units(actor=actor, campaign_id=campaign.id, review_state="pending")

    assert [u.title for u in everything] == ["Second", "First"]
    assert [u.id for u in pending] == [second.id]


def test_another_advertisers_unit_is_not_found_and_stays_as_it_was(
    advertiser, rival, make_campaign, make_unit
):
    theirs = make_unit(rival, make_campaign(rival).id)
    actor = owner_of(advertiser)

    for verb in (
        ads.get_unit,
        ads.pause_unit,
        ads.resume_unit,
        ads.submit_unit_for_review,
        ads.delete_unit,
    ):
        with pytest.raises(errors.NotFound):
            verb(actor=actor, unit_id=theirs.id)
    with pytest.raises(errors.NotFound):
        ads.update_unit(actor=actor, unit_id=theirs.id, title="Mine now")
    with pytest.raises(errors.NotFound):
        ads.create_unit(actor=actor, campaign_id=theirs.campaign_id, **UNIT)
    with pytest.raises(errors.NotFound):
        ads.list_units(actor=actor, campaign_id=theirs.campaign_id)

    stored = AdUnit.objects.get()
    assert (stored.title, stored.status, stored.version) == (UNIT["title"], "active", 1)


def test_listing_costs_the_same_queries_for_many_units_as_for_one(
    advertiser, campaign, make_unit, make_campaign, django_assert_num_queries
):
    actor = owner_of(advertiser)
    make_unit(advertiser, campaign.id)
    # The membership, the campaign, its units; the organization with its role, the campaigns.
    with django_assert_num_queries(3):
        assert len(ads.list_units(actor=actor, campaign_id=campaign.id)) == 1
    with django_assert_num_queries(3):
        assert len(ads.list_campaigns(actor=actor)) == 1

    for _ in range(5):
        make_unit(advertiser, campaign.id)
        make_campaign(advertiser)

    with django_assert_num_queries(3):
        assert len(ads.list_units(actor=actor, campaign_id=campaign.id)) == 6
    with django_assert_num_queries(3):
        assert len(ads.list_campaigns(actor=actor)) == 6
