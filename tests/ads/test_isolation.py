"""Tenants never see each other's ads: every operation on another advertiser's campaign or
unit is 404 and changes nothing; naming another organization is 404 too."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from ads.models import AdUnit, Campaign, ProviderAdPreferences
from tests.ads.conftest import UNIT

pytestmark = pytest.mark.django_db

BODIES = {
    "ads_campaigns_update": {"name": "Mine now"},
    "ads_units_create": UNIT,
    "ads_units_update": {"title": "Mine now"},
}


def _operations_on_ids():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [
        (path, method, operation["operationId"])
        for path, methods in paths.items()
        if path.startswith("/api/v1/ads/") and "{" in path
        for method, operation in methods.items()
    ]


def _snapshot():
    return (
        list(Campaign.objects.order_by("id").values()),
        list(AdUnit.objects.order_by("id").values()),
    )


def test_every_operation_on_another_advertisers_ids_is_404_and_changes_nothing(
    advertiser, rival, key_client, make_campaign, make_unit
):
    theirs = make_unit(rival, make_campaign(rival).id)
    make_campaign(advertiser)  # the intruder has campaigns of its own
    client = key_client(advertiser, scopes=["ads"])
    before = _snapshot()
    operations = _operations_on_ids()

    answers = {}
    for path, method, operation_id in operations:
        url = path.format(campaign_id=theirs.campaign_id, unit_id=theirs.id)
        response = getattr(client, method)(url, BODIES.get(operation_id, {}), format="json")
        answers[operation_id] = (response.status_code, response.json()["code"])

    assert len(operations) == 14
    assert set(answers.values()) == {(404, "not_found")}, answers
    assert _snapshot() == before


def test_a_key_naming_another_organization_is_404(
    advertiser, rival, provider, make_org, key_client
):
    other_provider, _ = make_org(roles=("provider",))
    ads_key = key_client(advertiser, scopes=["ads"])
    provider_key = key_client(provider, scopes=["licensing"])

    listed = ads_key.get("/api/v1/ads/campaigns", {"organization": str(rival.id)})
    created = ads_key.post(
        f"/api/v1/ads/campaigns?organization={rival.id}",
        {"name": "Theirs", "total_budget_micros": 1_000_000},
        format="json",
    )
    read = provider_key.get("/api/v1/ads/preferences", {"organization": str(other_provider.id)})
    written = provider_key.patch(
        f"/api/v1/ads/preferences?organization={other_provider.id}",
        {"allow_ads": False},
        format="json",
    )

    assert [r.status_code for r in (listed, created, read, written)] == [404, 404, 404, 404]
    assert Campaign.objects.count() == 0
    assert ProviderAdPreferences.objects.count() == 0


def test_a_signed_in_user_sees_only_their_organizations_campaigns(
    advertiser, rival, make_campaign, api_client
):
    theirs = make_campaign(rival)
    api_client.force_login(advertiser.memberships.get().user)

    listed = api_client.get("/api/v1/ads/campaigns")
    direct = api_client.get(f"/api/v1/ads/campaigns/{theirs.id}")

    assert listed.json() == []
    assert direct.status_code == 404
