"""Agents opt in to sponsored items per API key (a default) or per request (which wins)."""

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import APIKey
from tests.marketplace.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _keys_url(org):
    return f"/api/v1/organizations/{org.id}/api-keys"


def test_a_key_opts_in_at_creation_or_later_and_requests_see_it(agent, settings):
    settings.API_KEY_CACHE_TTL_S = 60  # the change must reach a cached key too
    session = APIClient()
    session.force_login(agent.memberships.get().user)

    created = session.post(_keys_url(agent), {"name": "agent"}, format="json").json()
    raw = created["key"]
    assert created["allow_sponsored"] is False
    assert accounts.authenticate_api_key(raw_key=raw).allow_sponsored is False  # now cached

    changed = session.patch(
        f"{_keys_url(agent)}/{created['id']}", {"allow_sponsored": True}, format="json"
    )

    assert (changed.status_code, changed.json()["allow_sponsored"]) == (200, True)
    assert APIKey.objects.get().allow_sponsored is True
    assert accounts.authenticate_api_key(raw_key=raw).allow_sponsored is True
    assert session.get(_keys_url(agent)).json()[0]["allow_sponsored"] is True
    opted_in = session.post(
        _keys_url(agent), {"name": "second", "allow_sponsored": True}, format="json"
    )
    assert opted_in.json()["allow_sponsored"] is True


def test_the_request_flag_overrides_the_keys_default(agent, make_key):
    raw = make_key(agent)
    default_off = accounts.authenticate_api_key(raw_key=raw)
    accounts.update_api_key(
        actor=accounts.actor_for_user(user_id=agent.memberships.get().user_id),
        organization_id=agent.id,
        api_key_id=default_off.id,
        allow_sponsored=True,
    )
    default_on = accounts.authenticate_api_key(raw_key=raw)

    assert accounts.sponsored_allowed(key=default_off, requested=None) is False
    assert accounts.sponsored_allowed(key=default_off, requested=True) is True
    assert accounts.sponsored_allowed(key=default_on, requested=None) is True
    assert accounts.sponsored_allowed(key=default_on, requested=False) is False
    assert accounts.sponsored_allowed(key=None, requested=None) is False


def test_another_organizations_key_is_404_and_a_member_cannot_change_keys(
    agent, make_org, make_key
):
    other, _ = make_org(roles=("agent",))
    make_key(other)
    make_key(agent)
    theirs = APIKey.objects.get(organization=other)
    ours = APIKey.objects.get(organization=agent)
    owner = APIClient()
    owner.force_login(agent.memberships.get().user)
    member = APIClient()
    member.force_login(MembershipFactory(organization=agent, role="member").user)

    foreign = owner.patch(f"{_keys_url(agent)}/{theirs.id}", {"allow_sponsored": True}, "json")
    by_member = member.patch(f"{_keys_url(agent)}/{ours.id}", {"allow_sponsored": True}, "json")

    assert foreign.status_code == 404
    assert (by_member.status_code, by_member.json()["code"]) == (403, "not_an_admin")
    assert list(APIKey.objects.values_list("allow_sponsored", flat=True)) == [False, False]
