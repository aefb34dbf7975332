"""Providers' ad preferences: allow or forbid ads beside their content, block advertisers and
categories."""

import uuid

import pytest

from accounts import errors as account_errors
from ads import errors
from ads import services as ads
from ads.models import ProviderAdPreferences
from tests.acting import owner_of

pytestmark = pytest.mark.django_db


def test_a_provider_that_set_nothing_allows_ads(provider):
    found = ads.get_ad_preferences(actor=owner_of(provider))

    assert found == ads.AdPreferences(provider_id=provider.id)
    assert (found.allow_ads, found.updated_at) == (True, None)
    assert ProviderAdPreferences.objects.count() == 0


def test_set_changes_only_what_it_names(provider, advertiser):
    actor = owner_of(provider)

    first = ads.set_ad_preferences(
        actor=actor,
        blocked_advertisers=[str(advertiser.id), advertiser.id],
        blocked_categories=["gambling", "alcohol", "gambling"],
    )
    second = ads.set_ad_preferences(actor=actor, allow_ads=False)

    assert (first.allow_ads, first.blocked_advertisers, first.blocked_categories) == (
        True,
        (advertiser.id,),
        ("alcohol", "gambling"),
    )
    assert (second.allow_ads, second.blocked_advertisers, second.blocked_categories) == (
        False,
        (advertiser.id,),
        ("alcohol", "gambling"),
    )
    assert ads.get_ad_preferences(actor=actor) == second


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"blocked_categories": ["weapons"]}, "blocked_categories"),
        ({"blocked_advertisers": ["not-an-id"]}, "blocked_advertisers"),
        ({"blocked_advertisers": [str(uuid.uuid4())]}, "blocked_advertisers"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_is_written(provider, fields, field):
    with pytest.raises(errors.ValidationFailed) as refused:
        ads.set_ad_preferences(actor=owner_of(provider), **fields)

    assert list(refused.value.details) == [field]
    assert ProviderAdPreferences.objects.count() == 0


def test_only_an_advertiser_can_be_blocked(provider, agent):
    with pytest.raises(errors.ValidationFailed) as refused:
        ads.set_ad_preferences(actor=owner_of(provider), blocked_advertisers=[str(agent.id)])

    assert refused.value.code == "unknown_target"


def test_only_providers_have_ad_preferences(advertiser):
    with pytest.raises(account_errors.PermissionDenied) as refused:
        ads.set_ad_preferences(actor=owner_of(advertiser), allow_ads=False)

    assert refused.value.code == "wrong_role"


def test_the_auction_reads_every_providers_preferences_at_once(
    provider, make_org, django_assert_num_queries
):
    quiet, _ = make_org(roles=("provider",))
    ads.set_ad_preferences(actor=owner_of(provider), allow_ads=False)

    with django_assert_num_queries(1):
        found = ads.ad_preferences_for(provider_ids=[provider.id, quiet.id, provider.id])

    assert set(found) == {provider.id, quiet.id}
    assert found[provider.id].allow_ads is False
    assert found[quiet.id] == ads.AdPreferences(provider_id=quiet.id)
