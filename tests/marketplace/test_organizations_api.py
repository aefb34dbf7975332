import pytest
from rest_framework.test import APIClient

from marketplace.models import Membership, Organization
from tests.marketplace.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_user_lists_only_their_organizations_with_their_role(make_org):
    mine, me = make_org(roles=("provider", "agent"), name="Mine")
    make_org(name="Theirs")

    response = _session(me).get("/api/v1/organizations")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": str(mine.id),
            "name": "Mine",
            "slug": mine.slug,
            "roles": ["provider", "agent"],
            "my_role": "owner",
            "created_at": response.json()[0]["created_at"],
        }
    ]


def test_another_organization_is_404_for_detail_and_members(make_org, key_client):
    mine, me = make_org()
    theirs, _ = make_org()
    for client in (_session(me), key_client(mine, scopes=["admin"])):
        for url in (
            f"/api/v1/organizations/{theirs.id}",
            f"/api/v1/organizations/{theirs.id}/members",
        ):
            response = client.get(url)
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


def test_signed_in_user_creates_an_organization_they_own(make_org):
    _, me = make_org()
    response = _session(me).post(
        "/api/v1/organizations", {"name": "New Co", "roles": ["advertiser"]}, format="json"
    )
    assert response.status_code == 201
    org = Organization.objects.get(id=response.json()["id"])
    assert (org.is_advertiser, org.is_agent, org.is_provider) == (True, False, False)
    assert Membership.objects.get(organization=org).role == "owner"


def test_api_key_cannot_create_organizations(make_org, key_client):
    org, _ = make_org()
    response = key_client(org, scopes=["admin"]).post(
        "/api/v1/organizations", {"name": "Shadow", "roles": ["agent"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "user_required"


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({}, "invalid", "name"),
        ({"name": "A"}, "invalid", "roles"),
        ({"name": "", "roles": ["agent"]}, "invalid", "name"),
        ({"name": "x" * 121, "roles": ["agent"]}, "invalid", "name"),
        ({"name": "A", "roles": []}, "invalid", "roles"),
        ({"name": "A", "roles": ["king"]}, "invalid", "roles"),
        ({"name": "A", "roles": "agent"}, "invalid", "roles"),
        ({"name": ["A"], "roles": ["agent"]}, "invalid", "name"),
        ({"name": "A", "roles": ["agent"], "plan": "gold"}, "unknown_field", "plan"),
    ],
)
def test_bad_organization_payloads_get_400_and_create_nothing(make_org, payload, code, field):
    _, me = make_org()
    before = Organization.objects.count()

    response = _session(me).post("/api/v1/organizations", payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert field in response.json()["details"]
    assert Organization.objects.count() == before


def test_malformed_json_gets_400_in_the_error_format(make_org):
    _, me = make_org()
    response = _session(me).post(
        "/api/v1/organizations", data='{"name": "A",', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error"
    assert body["message"].startswith("JSON parse error")
    assert body["details"] == {}


def test_a_json_list_instead_of_an_object_gets_400(make_org):
    _, me = make_org()
    response = _session(me).post("/api/v1/organizations", ["A"], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_owner_adds_a_member_by_email_and_lists_members(make_org):
    org, owner = make_org()
    newcomer = UserFactory(email="newcomer@example.com")
    client = _session(owner)

    added = client.post(
        f"/api/v1/organizations/{org.id}/members",
        {"email": "Newcomer@Example.com", "role": "admin"},
        format="json",
    )

    assert added.status_code == 201
    assert added.json()["user_id"] == newcomer.pk
    emails = [m["email"] for m in client.get(f"/api/v1/organizations/{org.id}/members").json()]
    assert emails == [owner.email, "newcomer@example.com"]
    again = client.post(
        f"/api/v1/organizations/{org.id}/members", {"email": newcomer.email}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_a_member"


def test_adding_an_unknown_email_gets_400(make_org):
    org, owner = make_org()
    response = _session(owner).post(
        f"/api/v1/organizations/{org.id}/members", {"email": "ghost@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "user_not_found"


def test_admin_cannot_make_owners_and_members_cannot_add_anyone(make_org):
    org, _ = make_org()
    admin = MembershipFactory(organization=org, role="admin").user
    member = MembershipFactory(organization=org, role="member").user
    target = UserFactory()
    url = f"/api/v1/organizations/{org.id}/members"

    as_admin = _session(admin).post(url, {"email": target.email, "role": "owner"}, format="json")
    as_member = _session(member).post(url, {"email": target.email}, format="json")

    assert (as_admin.status_code, as_admin.json()["code"]) == (403, "not_an_owner")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "not_an_admin")
    assert not Membership.objects.filter(user=target).exists()


def test_last_owner_cannot_be_removed_or_demoted(make_org):
    org, owner = make_org()
    membership = Membership.objects.get(organization=org, user=owner)
    client = _session(owner)
    url = f"/api/v1/organizations/{org.id}/members/{membership.id}"

    demote = client.patch(url, {"role": "member"}, format="json")
    remove = client.delete(url)

    assert (demote.status_code, demote.json()["code"]) == (409, "last_owner")
    assert (remove.status_code, remove.json()["code"]) == (409, "last_owner")
    assert Membership.objects.get(id=membership.id).role == "owner"


def test_owner_changes_roles_and_removes_members(make_org):
    org, owner = make_org()
    membership = MembershipFactory(organization=org, role="member")
    client = _session(owner)
    url = f"/api/v1/organizations/{org.id}/members/{membership.id}"

    assert client.patch(url, {"role": "admin"}, format="json").json()["role"] == "admin"
    assert client.delete(url).status_code == 204
    assert not Membership.objects.filter(id=membership.id).exists()


def test_members_of_another_organization_cannot_be_touched(make_org):
    mine, me = make_org()
    theirs, _ = make_org()
    their_member = MembershipFactory(organization=theirs, role="member")
    client = _session(me)
    for url in (
        f"/api/v1/organizations/{theirs.id}/members/{their_member.id}",
        f"/api/v1/organizations/{mine.id}/members/{their_member.id}",
    ):
        assert client.patch(url, {"role": "admin"}, format="json").status_code == 404
        assert client.delete(url).status_code == 404
    assert Membership.objects.get(id=their_member.id).role == "member"
