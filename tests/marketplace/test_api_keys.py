import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts_services
from accounts.models import APIKey
from marketplace import errors
from tests.marketplace.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _keys_url(org):
    return f"/api/v1/organizations/{org.id}/api-keys"


def test_created_key_is_shown_once_and_stored_only_as_prefix_and_hash(make_org):
    org, owner = make_org(roles=("agent",))
    client = APIClient()
    client.force_login(owner)

    response = client.post(_keys_url(org), {"name": "production agent"}, format="json")

    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith(f"pvn_{body['prefix']}_")
    assert body["scopes"] == ["query", "licensing", "billing"]
    stored = APIKey.objects.get(id=body["id"])
    secret = raw.split("_", 2)[2]
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(APIKey.objects.filter(id=body["id"]).values().get())
    listing = client.get(_keys_url(org)).json()
    assert [k["id"] for k in listing] == [body["id"]]
    assert "key" not in listing[0]
    assert listing[0]["is_active"] is True


def test_bearer_key_authenticates_and_records_last_use(make_org, make_key):
    org, _ = make_org()
    raw = make_key(org)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get("/api/v1/organizations")

    assert response.status_code == 200
    assert [o["id"] for o in response.json()] == [str(org.id)]
    assert APIKey.objects.get(organization=org).last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer pvn_000000000000_notthesecret",
        "Bearer nonsense",
        "Bearer",
        "Bearer a b",
        "Bearer pvn_" + "x" * 300,
    ],
)
def test_wrong_keys_get_the_same_401(make_org, make_key, header):
    make_key(make_org()[0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/organizations")

    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_api_key",
        "message": "Invalid API key.",
        "details": {},
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_revoked_key_gets_401_with_the_same_body_as_a_wrong_key(make_org, make_key):
    org, owner = make_org()
    raw = make_key(org)
    key = APIKey.objects.get(organization=org)
    client = APIClient()
    client.force_login(owner)
    revoke = client.post(f"{_keys_url(org)}/{key.id}/revoke")
    assert revoke.status_code == 200
    assert revoke.json()["is_active"] is False

    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = agent.get("/api/v1/organizations")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_a_key_used_a_moment_ago_is_refused_as_soon_as_it_is_revoked(
    make_org, make_key, django_assert_num_queries
):
    org, owner = make_org()
    raw = make_key(org)
    key = APIKey.objects.get(organization=org)
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert agent.get("/api/v1/organizations").status_code == 200
    with django_assert_num_queries(0):  # the key's row now comes from the cache
        assert accounts_services.authenticate_api_key(raw_key=raw).id == key.id
    assert (
        accounts_services.authenticate_api_key(raw_key=raw[:-1] + "x") is None
    )  # the secret still counts

    actor = accounts_services.actor_for_user(user_id=owner.pk)
    accounts_services.revoke_api_key(actor=actor, organization_id=org.id, api_key_id=key.id)

    assert agent.get("/api/v1/organizations").status_code == 401


def test_a_request_that_read_the_key_before_its_revocation_cannot_cache_it(
    make_org, make_key, monkeypatch
):
    from accounts.services import api_keys

    org, owner = make_org()
    raw = make_key(org)
    key = APIKey.objects.get(organization=org)
    actor = accounts_services.actor_for_user(user_id=owner.pk)
    load = api_keys._load_key

    def revoked_meanwhile(prefix):
        entry = load(prefix)  # the row as it was: active
        accounts_services.revoke_api_key(actor=actor, organization_id=org.id, api_key_id=key.id)
        return entry

    monkeypatch.setattr(api_keys, "_load_key", revoked_meanwhile)
    accounts_services.authenticate_api_key(raw_key=raw)  # valid when it was read
    monkeypatch.setattr(api_keys, "_load_key", load)

    assert accounts_services.authenticate_api_key(raw_key=raw) is None


def test_last_use_is_written_once_per_resolution_period(make_org, make_key, settings):
    settings.API_KEY_LAST_USED_RESOLUTION_S = 3600
    org, _ = make_org()
    raw = make_key(org)
    accounts_services.authenticate_api_key(raw_key=raw)
    first = APIKey.objects.get(organization=org).last_used_at
    APIKey.objects.filter(organization=org).update(last_used_at=None)
    accounts_services.authenticate_api_key(raw_key=raw)
    assert first is not None
    assert APIKey.objects.get(organization=org).last_used_at is None  # not written again


def test_revoking_twice_keeps_the_first_revocation_time(make_org, make_key):
    org, owner = make_org()
    make_key(org)
    key = APIKey.objects.get(organization=org)
    actor = accounts_services.actor_for_user(user_id=owner.pk)
    first = accounts_services.revoke_api_key(actor=actor, organization_id=org.id, api_key_id=key.id)
    second = accounts_services.revoke_api_key(
        actor=actor, organization_id=org.id, api_key_id=key.id
    )
    assert first.revoked_at == second.revoked_at


def test_expired_key_gets_401(make_org, make_key):
    org, _ = make_org()
    raw = make_key(org, expires_at=timezone.now() + timedelta(seconds=30))
    APIKey.objects.filter(organization=org).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/organizations").status_code == 401


def test_anonymous_requests_get_401(make_org):
    org, _ = make_org()
    client = APIClient()
    for url in ("/api/v1/organizations", _keys_url(org), f"/api/v1/organizations/{org.id}"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_key_without_admin_scope_cannot_manage_keys(make_org, key_client):
    org, _ = make_org()
    client = key_client(org, scopes=["query"])

    response = client.post(_keys_url(org), {"name": "escalation"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert APIKey.objects.filter(organization=org).count() == 1


def test_key_with_admin_scope_manages_its_own_organizations_keys(make_org, key_client):
    org, _ = make_org()
    client = key_client(org, scopes=["admin", "query"])

    response = client.post(_keys_url(org), {"name": "ci", "scopes": ["query"]}, format="json")

    assert response.status_code == 201
    assert response.json()["scopes"] == ["query"]


def test_another_organizations_keys_are_404_for_listing_and_revoking(make_org, key_client):
    mine, me = make_org()
    theirs, them = make_org()
    admin_key_client = key_client(mine, scopes=["admin"])
    their_key_id = accounts_services.create_api_key(
        actor=accounts_services.actor_for_user(user_id=them.pk),
        organization_id=theirs.id,
        name="theirs",
    ).key.id
    session = APIClient()
    session.force_login(me)

    for client in (admin_key_client, session):
        assert client.get(_keys_url(theirs)).status_code == 404
        assert client.post(_keys_url(theirs), {"name": "x"}, format="json").status_code == 404
        response = client.post(f"{_keys_url(theirs)}/{their_key_id}/revoke")
        assert response.status_code == 404
        assert response.json() == {
            "code": "not_found",
            "message": "Organization not found.",
            "details": {},
        }
        # Their key id under my organization is also just "not found".
        assert client.post(f"{_keys_url(mine)}/{their_key_id}/revoke").status_code == 404
    assert APIKey.objects.get(id=their_key_id).revoked_at is None


def test_plain_member_cannot_see_or_create_keys(make_org):
    org, _ = make_org()
    member = MembershipFactory(organization=org, role="member").user
    client = APIClient()
    client.force_login(member)

    assert client.get(_keys_url(org)).status_code == 403
    response = client.post(_keys_url(org), {"name": "mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_admin"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "scopes": ["root"]}, "scopes"),
        ({"name": "ok", "scopes": []}, "scopes"),
        ({"name": "ok", "scopes": "query"}, "scopes"),
        ({"name": "ok", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"name": "ok", "expires_at": "yesterday"}, "expires_at"),
        ({"name": "ok", "colour": "blue"}, "colour"),
    ],
)
def test_bad_key_requests_get_400_and_create_nothing(make_org, payload, field):
    org, owner = make_org()
    client = APIClient()
    client.force_login(owner)

    response = client.post(_keys_url(org), payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] in {"invalid", "unknown_field"}
    assert field in body["details"]
    assert APIKey.objects.filter(organization=org).count() == 0


def test_scopes_outside_the_organizations_roles_are_refused(make_org):
    org, owner = make_org(roles=("agent",))
    with pytest.raises(errors.ValidationFailed, match="do not allow: ads"):
        accounts_services.create_api_key(
            actor=accounts_services.actor_for_user(user_id=owner.pk),
            organization_id=org.id,
            name="ads",
            scopes=["ads"],
        )


def test_past_expiry_is_refused(make_org):
    org, owner = make_org()
    client = APIClient()
    client.force_login(owner)
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = client.post(_keys_url(org), {"name": "old", "expires_at": past}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == {"expires_at": ["Must be in the future."]}
