"""The ads REST API: campaigns, units and providers' preferences through API keys."""

import pytest
from rest_framework.test import APIClient

from ads import services as ads
from ads.models import AdUnit, Campaign, ProviderAdPreferences
from tests.ads.conftest import UNIT
from tests.marketplace.factories import MembershipFactory

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/ads/campaigns"


@pytest.fixture
def client(advertiser, key_client):
    return key_client(advertiser, scopes=["ads"])


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    return body


def _campaign(client, **fields) -> dict:
    body = {"name": "Winter heat", "total_budget_micros": 100_000_000, **fields}
    response = client.post(CAMPAIGNS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _unit(client, campaign_id, **fields) -> dict:
    response = client.post(f"{CAMPAIGNS}/{campaign_id}/units", {**UNIT, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_advertiser_runs_a_campaign_through_the_api(client, advertiser, operator):
    campaign = _campaign(client, daily_budget_micros=10_000_000, pacing="asap")
    assert (campaign["advertiser_id"], campaign["status"], campaign["currency"]) == (
        str(advertiser.id),
        "active",
        "USD",
    )
    unit = _unit(client, campaign["id"], targeting={"keywords": ["Heat pumps"]})
    assert (unit["review_state"], unit["version"], unit["campaign_id"]) == (
        "pending",
        1,
        campaign["id"],
    )
    assert unit["targeting"]["keywords"] == ["heat pumps"]
    assert unit["targeting"]["collections"] == []

    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit["id"], version=1)
    edited = client.patch(f"/api/v1/ads/units/{unit['id']}", {"title": "New"}, format="json")
    assert (edited.status_code, edited.json()["review_state"], edited.json()["version"]) == (
        200,
        "pending",
        2,
    )
    paused = client.post(f"/api/v1/ads/units/{unit['id']}/pause")
    assert paused.json()["status"] == "paused"
    assert client.post(f"/api/v1/ads/units/{unit['id']}/resume").json()["status"] == "active"

    listed = client.get(f"{CAMPAIGNS}/{campaign['id']}/units").json()
    assert [u["id"] for u in listed] == [unit["id"]]
    assert client.get(CAMPAIGNS).json()[0]["unit_count"] == 1
    patched = client.patch(
        f"{CAMPAIGNS}/{campaign['id']}", {"daily_budget_micros": None}, format="json"
    )
    assert patched.json()["daily_budget_micros"] is None
    assert client.post(f"{CAMPAIGNS}/{campaign['id']}/pause").json()["status"] == "paused"
    assert client.post(f"{CAMPAIGNS}/{campaign['id']}/resume").json()["status"] == "active"

    refused = client.delete(f"/api/v1/ads/units/{unit['id']}")
    assert _error(refused, 409)["code"] == "unit_was_served"
    assert client.post(f"{CAMPAIGNS}/{campaign['id']}/end").json()["status"] == "ended"
    assert _error(client.post(f"{CAMPAIGNS}/{campaign['id']}/resume"), 409)["code"] == (
        "campaign_ended"
    )


def test_a_rejected_unit_is_submitted_again(client, operator):
    unit = _unit(client, _campaign(client)["id"])
    ads.reject_unit(reviewer_id=operator.pk, unit_id=unit["id"], version=1, reason="Vague.")
    shown = client.get(f"/api/v1/ads/units/{unit['id']}").json()
    assert (shown["review_state"], shown["review_reason"]) == ("rejected", "Vague.")

    submitted = client.post(f"/api/v1/ads/units/{unit['id']}/submit")

    assert (submitted.status_code, submitted.json()["review_state"]) == (200, "pending")


def test_a_draft_campaign_and_unit_are_deleted(client):
    campaign = _campaign(client)
    unit = _unit(client, campaign["id"])

    assert client.delete(f"/api/v1/ads/units/{unit['id']}").status_code == 204
    assert client.delete(f"{CAMPAIGNS}/{campaign['id']}").status_code == 204
    assert (Campaign.objects.count(), AdUnit.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"total_budget_micros": 0}, "total_budget_micros"),
        ({"total_budget_micros": -1}, "total_budget_micros"),
        ({"daily_budget_micros": 200_000_000}, "daily_budget_micros"),
        ({"total_budget_micros": 10**19}, "total_budget_micros"),
        ({"total_budget_micros": "100"}, "total_budget_micros"),
        ({"pacing": "fast"}, "pacing"),
        ({"currency": "EUR"}, "currency"),
        ({"budget": 5}, "budget"),
    ],
)
def test_a_bad_campaign_is_400_and_nothing_is_written(client, body, field):
    response = client.post(
        CAMPAIGNS, {"name": "Winter", "total_budget_micros": 100_000_000, **body}, format="json"
    )

    assert list(_error(response, 400)["details"]) == [field]
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"max_bid_micros": 100_000_001}, "max_bid_micros", "invalid"),
        ({"max_bid_micros": 0}, "max_bid_micros", "invalid"),
        ({"url": "javascript:alert(document.cookie)"}, "url", "invalid"),
        ({"url": "mailto:sales@heat.example.com"}, "url", "invalid"),
        ({"title": "<script>alert(1)</script>"}, "title", "markup_not_allowed"),
        ({"body": "<iframe src=https://evil.example></iframe>"}, "body", "markup_not_allowed"),
        ({"category": "weapons"}, "category", "invalid"),
        ({"targeting": {"geo": ["FR"]}}, "targeting", "unknown_field"),
        ({"targeting": {"collections": ["nope"]}}, "targeting", "invalid"),
        ({"color": "red"}, "color", "unknown_field"),
    ],
)
def test_a_bad_unit_is_400_and_nothing_is_written(client, body, field, code):
    campaign = _campaign(client)

    response = client.post(f"{CAMPAIGNS}/{campaign['id']}/units", {**UNIT, **body}, format="json")

    error = _error(response, 400)
    assert (list(error["details"]), error["code"]) == ([field], code)
    assert AdUnit.objects.count() == 0


def test_a_bad_edit_is_400_and_the_unit_stays_as_it_was(client):
    unit = _unit(client, _campaign(client)["id"])

    response = client.patch(
        f"/api/v1/ads/units/{unit['id']}",
        {"title": "Fine", "targeting": {"keywords": ["ok"], "zip": ["75001"]}},
        format="json",
    )
    empty = client.patch(f"/api/v1/ads/units/{unit['id']}", {}, format="json")

    assert _error(response, 400)["details"] == {"targeting": {"zip": ["Unknown field."]}}
    assert _error(empty, 400)["code"] == "invalid"
    assert AdUnit.objects.get().title == UNIT["title"]


def test_campaigns_need_the_ads_scope_and_the_advertiser_role(advertiser, provider, key_client):
    no_scope = key_client(advertiser, scopes=["billing"]).get(CAMPAIGNS)
    provider_key = key_client(provider, scopes=["licensing"]).get(CAMPAIGNS)

    assert _error(no_scope, 403)["code"] == "insufficient_scope"
    assert _error(provider_key, 403)["code"] == "insufficient_scope"
    assert APIClient().get(CAMPAIGNS).status_code == 401


def test_a_signed_in_member_of_two_advertisers_names_one(advertiser, rival):
    member = advertiser.memberships.get().user
    MembershipFactory(organization=rival, user=member, role="member")
    session = APIClient()
    session.force_login(member)

    unnamed = session.get(CAMPAIGNS)
    named = session.post(
        f"{CAMPAIGNS}?organization={rival.id}",
        {"name": "For the rival", "total_budget_micros": 1_000_000},
        format="json",
    )

    assert _error(unnamed, 400)["code"] == "organization_required"
    assert named.status_code == 201
    assert Campaign.objects.get().advertiser_id == rival.id


def test_a_provider_sets_its_ad_preferences(provider, advertiser, key_client):
    client = key_client(provider, scopes=["licensing"])

    default = client.get("/api/v1/ads/preferences").json()
    changed = client.patch(
        "/api/v1/ads/preferences",
        {"blocked_categories": ["gambling"], "blocked_advertisers": [str(advertiser.id)]},
        format="json",
    )
    bad = client.patch("/api/v1/ads/preferences", {"blocked_categories": ["x"]}, format="json")

    assert default == {
        "provider_id": str(provider.id),
        "allow_ads": True,
        "blocked_advertisers": [],
        "blocked_categories": [],
        "updated_at": None,
    }
    assert changed.status_code == 200
    assert (changed.json()["blocked_categories"], changed.json()["blocked_advertisers"]) == (
        ["gambling"],
        [str(advertiser.id)],
    )
    assert _error(bad, 400)["details"] == {
        "blocked_categories": {"0": ['"x" is not a valid choice.']}
    }
    assert ProviderAdPreferences.objects.get().blocked_categories == ["gambling"]


def test_an_advertiser_has_no_ad_preferences(advertiser):
    session = APIClient()
    session.force_login(advertiser.memberships.get().user)

    response = session.get("/api/v1/ads/preferences")

    assert _error(response, 403)["code"] == "wrong_role"


def test_the_schema_documents_every_ads_operation():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    operations = {
        operation["operationId"]: operation.get("x-required-scope")
        for path, methods in paths.items()
        if path.startswith("/api/v1/ads/")
        for operation in methods.values()
    }

    assert operations == {
        **dict.fromkeys(
            [
                "ads_campaigns_list",
                "ads_campaigns_create",
                "ads_campaigns_retrieve",
                "ads_campaigns_update",
                "ads_campaigns_destroy",
                "ads_campaigns_pause",
                "ads_campaigns_resume",
                "ads_campaigns_end",
                "ads_units_list",
                "ads_units_create",
                "ads_units_retrieve",
                "ads_units_update",
                "ads_units_destroy",
                "ads_units_pause",
                "ads_units_resume",
                "ads_units_submit",
                "ads_reports",
                "ads_traces_list",
            ],
            "ads",
        ),
        "ads_preferences_retrieve": "licensing",
        "ads_preferences_update": "licensing",
        "ads_repository": "any",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://heat.example.com",
        "https://heat.example.com?src=ad",
        "http://heat.example.com:8080/a/b?c=d#e",
        "https://xn--bcher-kva.example/",
    ],
)
def test_any_absolute_http_address_is_a_fine_link(client, url):
    unit = _unit(client, _campaign(client)["id"], url=url)

    assert unit["url"] == url
