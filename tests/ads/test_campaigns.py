"""Campaigns through the services: budgets, schedule, status, scoping and the database's own
constraints."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import errors as account_errors
from accounts import services as accounts
from ads import errors
from ads import services as ads
from ads.models import AdUnit, Campaign
from tests.acting import owner_of

pytestmark = pytest.mark.django_db


def test_a_new_campaign_is_active_in_the_platform_currency(advertiser, settings):
    starts = datetime(2031, 1, 1, tzinfo=UTC)

    campaign = ads.create_campaign(
        actor=owner_of(advertiser),
        name="  Winter heat  ",
        total_budget_micros=50_000_000,
        daily_budget_micros=5_000_000,
        starts_at=starts,
        ends_at=starts + timedelta(days=30),
        pacing="asap",
    )

    assert campaign.advertiser_id == advertiser.id
    assert (campaign.name, campaign.currency, campaign.status, campaign.pacing) == (
        "Winter heat",
        settings.LICENSING_CURRENCY,
        "active",
        "asap",
    )
    assert (campaign.total_budget_micros, campaign.daily_budget_micros) == (50_000_000, 5_000_000)
    assert (campaign.starts_at, campaign.ends_at) == (starts, starts + timedelta(days=30))
    assert campaign.unit_count == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"total_budget_micros": 0}, "total_budget_micros"),
        ({"total_budget_micros": -5}, "total_budget_micros"),
        ({"daily_budget_micros": 0}, "daily_budget_micros"),
        ({"daily_budget_micros": 100_000_001}, "daily_budget_micros"),
        ({"name": "   "}, "name"),
        ({"name": "<b>Winter</b>"}, "name"),
        ({"pacing": "fast"}, "pacing"),
        ({"currency": "EUR"}, "currency"),
        ({"starts_at": datetime(2031, 1, 1)}, "starts_at"),  # naive: which zone?
        (
            {
                "starts_at": datetime(2031, 1, 2, tzinfo=UTC),
                "ends_at": datetime(2031, 1, 1, tzinfo=UTC),
            },
            "ends_at",
        ),
        ({"ends_at": datetime(2020, 1, 1, tzinfo=UTC)}, "ends_at"),
    ],
)
def test_a_campaign_with_a_bad_field_is_refused_and_nothing_is_written(
    advertiser, make_campaign, fields, field
):
    with pytest.raises(errors.ValidationFailed) as refused:
        make_campaign(advertiser, **fields)

    assert refused.value.status == 400
    assert list(refused.value.details) == [field]
    assert Campaign.objects.count() == 0


def test_only_advertisers_run_campaigns(provider, make_campaign):
    with pytest.raises(account_errors.PermissionDenied) as refused:
        make_campaign(provider)

    assert refused.value.code == "wrong_role"


def test_a_key_without_the_ads_scope_cannot_touch_campaigns(advertiser, make_campaign):
    campaign = make_campaign(advertiser)
    key = accounts.actor_for_api_key(
        api_key_id=advertiser.id, organization_id=advertiser.id, scopes=["billing"]
    )

    with pytest.raises(account_errors.PermissionDenied) as refused:
        ads.get_campaign(actor=key, campaign_id=campaign.id)

    assert refused.value.code == "insufficient_scope"


def test_update_changes_what_is_named_and_checks_the_result_as_a_whole(advertiser, make_campaign):
    campaign = make_campaign(advertiser, daily_budget_micros=10_000_000)

    changed = ads.update_campaign(
        actor=owner_of(advertiser), campaign_id=campaign.id, name="Spring", pacing="asap"
    )
    assert (changed.name, changed.pacing, changed.daily_budget_micros) == (
        "Spring",
        "asap",
        10_000_000,
    )

    with pytest.raises(errors.ValidationFailed) as refused:
        ads.update_campaign(
            actor=owner_of(advertiser), campaign_id=campaign.id, total_budget_micros=9_000_000
        )
    assert list(refused.value.details) == ["daily_budget_micros"]
    assert Campaign.objects.get().total_budget_micros == 100_000_000


def test_a_budget_below_a_units_bid_is_refused(advertiser, make_campaign, make_unit):
    campaign = make_campaign(advertiser)
    make_unit(advertiser, campaign.id, bid_type="cpc", max_bid_micros=2_000_000)

    with pytest.raises(errors.ValidationFailed) as total:
        ads.update_campaign(
            actor=owner_of(advertiser), campaign_id=campaign.id, total_budget_micros=1_000_000
        )
    with pytest.raises(errors.ValidationFailed) as daily:
        ads.update_campaign(
            actor=owner_of(advertiser), campaign_id=campaign.id, daily_budget_micros=1_500_000
        )

    assert list(total.value.details) == ["total_budget_micros"]
    assert list(daily.value.details) == ["daily_budget_micros"]
    stored = Campaign.objects.get()
    assert (stored.total_budget_micros, stored.daily_budget_micros) == (100_000_000, None)


def test_pause_resume_and_end(advertiser, make_campaign):
    campaign = make_campaign(advertiser)
    actor = owner_of(advertiser)

    assert ads.pause_campaign(actor=actor, campaign_id=campaign.id).status == "paused"
    assert ads.pause_campaign(actor=actor, campaign_id=campaign.id).status == "paused"
    assert ads.resume_campaign(actor=actor, campaign_id=campaign.id).status == "active"
    assert ads.end_campaign(actor=actor, campaign_id=campaign.id).status == "ended"

    with pytest.raises(errors.CampaignEnded):
        ads.resume_campaign(actor=actor, campaign_id=campaign.id)
    with pytest.raises(errors.CampaignEnded):
        ads.update_campaign(actor=actor, campaign_id=campaign.id, name="Again")
    assert Campaign.objects.get().status == "ended"


def test_list_shows_the_advertisers_own_campaigns_newest_first(advertiser, rival, make_campaign):
    first = make_campaign(advertiser, name="First")
    second = make_campaign(advertiser, name="Second")
    make_campaign(rival, name="Theirs")
    ads.pause_campaign(actor=owner_of(advertiser), campaign_id=first.id)

    listed = ads.list_campaigns(actor=owner_of(advertiser))
    paused = ads.list_campaigns(actor=owner_of(advertiser), status="paused")

    assert [c.name for c in listed] == ["Second", "First"]
    assert [c.id for c in paused] == [first.id]
    assert second.id not in [c.id for c in paused]


def test_another_advertisers_campaign_is_not_found(advertiser, rival, make_campaign):
    theirs = make_campaign(rival)

    for verb in (ads.get_campaign, ads.pause_campaign, ads.end_campaign, ads.delete_campaign):
        with pytest.raises(errors.NotFound):
            verb(actor=owner_of(advertiser), campaign_id=theirs.id)
    with pytest.raises(errors.NotFound):
        ads.update_campaign(actor=owner_of(advertiser), campaign_id=theirs.id, name="Mine")

    assert Campaign.objects.get(id=theirs.id).status == "active"


def test_a_campaign_that_never_served_is_deleted_one_that_may_have_is_not(
    advertiser, make_campaign, make_unit, approved_unit
):
    draft = make_campaign(advertiser)
    make_unit(advertiser, draft.id)
    served = approved_unit()
    actor = owner_of(advertiser)

    ads.delete_campaign(actor=actor, campaign_id=draft.id)
    with pytest.raises(errors.UnitWasServed):
        ads.delete_campaign(actor=actor, campaign_id=served.campaign_id)

    assert list(Campaign.objects.values_list("id", flat=True)) == [served.campaign_id]
    assert list(AdUnit.objects.values_list("id", flat=True)) == [served.id]


def _campaign(advertiser, **fields):
    defaults = {
        "advertiser": advertiser,
        "name": "Raw",
        "currency": "USD",
        "total_budget_micros": 1_000,
        "starts_at": timezone.now(),
    }
    with transaction.atomic():
        return Campaign.objects.create(**{**defaults, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"total_budget_micros": 0},
        {"daily_budget_micros": 0},
        {"daily_budget_micros": 1_001},
        {"ends_at": datetime(2000, 1, 1, tzinfo=UTC)},
    ],
)
def test_the_database_refuses_impossible_budgets_and_schedules(advertiser, fields):
    with pytest.raises(IntegrityError):
        _campaign(advertiser, **fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"max_bid_micros": 0},
        {"review_state": "rejected", "reviewed_at": timezone.now(), "review_reason": ""},
        {"review_state": "approved", "reviewed_at": timezone.now()},
        {"review_state": "approved"},
        {"version": 0},
    ],
)
def test_the_database_refuses_impossible_units(advertiser, fields):
    campaign = _campaign(advertiser)
    defaults = {
        "campaign": campaign,
        "title": "t",
        "body": "b",
        "url": "https://example.com",
        "call_to_action": "Go",
        "category": "other",
        "bid_type": "cpm",
        "max_bid_micros": 10,
        "submitted_at": timezone.now(),
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        AdUnit.objects.create(**{**defaults, **fields})
