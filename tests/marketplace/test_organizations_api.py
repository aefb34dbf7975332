import hashlib
import re

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Invitation, Membership, Organization
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


def _invite(client, org, email, role="member"):
    return client.post(
        f"/api/v1/organizations/{org.id}/invitations", {"email": email, "role": role}, format="json"
    )


def _token_from(message) -> str:
    return re.search(r"/invitations/([\w-]+)/", message.body).group(1)


def test_adding_a_member_directly_is_gone_so_nobody_joins_without_consent(make_org):
    org, owner = make_org()
    victim = UserFactory(email="victim@example.com")

    response = _session(owner).post(
        f"/api/v1/organizations/{org.id}/members", {"email": victim.email}, format="json"
    )

    assert response.status_code == 405
    assert not Membership.objects.filter(user=victim).exists()


def test_inviting_answers_the_same_whether_or_not_the_email_has_an_account(
    make_org, mailoutbox, django_capture_on_commit_callbacks
):
    org, owner = make_org(name="Acme Data")
    UserFactory(email="known@example.com")
    client = _session(owner)

    with django_capture_on_commit_callbacks(execute=True):
        known = _invite(client, org, "Known@Example.com", "admin")
        ghost = _invite(client, org, "ghost@example.com", "admin")

    assert (known.status_code, ghost.status_code) == (201, 201)
    varying = ("id", "email", "created_at", "expires_at")
    known_rest = {k: v for k, v in known.json().items() if k not in varying}
    ghost_rest = {k: v for k, v in ghost.json().items() if k not in varying}
    assert known_rest == ghost_rest
    assert set(known.json()) == set(ghost.json())
    assert known.json()["email"] == "known@example.com"
    assert known.json()["status"] == "pending"
    assert known.json()["invited_by_email"] == owner.email
    assert "user_id" not in known.json()
    assert Membership.objects.filter(organization=org).count() == 1  # only the owner
    assert [m.to for m in mailoutbox] == [["known@example.com"], ["ghost@example.com"]]
    assert mailoutbox[0].subject == "You are invited to join Acme Data on Provenant"
    token = _token_from(mailoutbox[0])
    stored = Invitation.objects.get(email="known@example.com")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(Invitation.objects.values()))


def test_invitee_accepts_signed_in_with_the_invited_email_and_joins_with_the_role(
    make_org, mailoutbox, django_capture_on_commit_callbacks
):
    org, owner = make_org()
    invitee = UserFactory(email="invitee@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(_session(owner), org, invitee.email, "admin")
    token = _token_from(mailoutbox[0])

    accepted = _session(invitee).post("/api/v1/invitations/accept", {"token": token}, format="json")
    again = _session(invitee).post("/api/v1/invitations/accept", {"token": token}, format="json")

    assert accepted.status_code == 200
    assert (accepted.json()["id"], accepted.json()["my_role"]) == (str(org.id), "admin")
    assert Membership.objects.get(organization=org, user=invitee).role == "admin"
    invitation = Invitation.objects.get()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (invitee, True)
    assert (again.status_code, again.json()["code"]) == (409, "invitation_accepted")


def test_someone_else_cannot_accept_an_invitation_sent_to_another_email(
    make_org, mailoutbox, django_capture_on_commit_callbacks
):
    org, owner = make_org()
    with django_capture_on_commit_callbacks(execute=True):
        _invite(_session(owner), org, "invitee@example.com")
    token = _token_from(mailoutbox[0])
    intruder = UserFactory(email="intruder@example.com")

    response = _session(intruder).post(
        "/api/v1/invitations/accept", {"token": token}, format="json"
    )
    bogus = _session(intruder).post(
        "/api/v1/invitations/accept", {"token": "not-a-token"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (403, "invitation_for_another_email")
    assert (bogus.status_code, bogus.json()["code"]) == (404, "invitation_not_found")
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get().accepted_at is None


def test_expired_revoked_and_replaced_invitations_cannot_be_accepted(
    make_org, mailoutbox, django_capture_on_commit_callbacks
):
    org, owner = make_org()
    invitee = UserFactory(email="invitee@example.com")
    client = _session(owner)
    with django_capture_on_commit_callbacks(execute=True):
        first = _invite(client, org, invitee.email).json()
        second = _invite(client, org, invitee.email).json()  # replaces the first
        third = _invite(client, org, "other@example.com").json()
    replaced, _revoked, expired_token = (_token_from(m) for m in mailoutbox)
    revoke = client.post(f"/api/v1/organizations/{org.id}/invitations/{second['id']}/revoke")
    Invitation.objects.filter(id=third["id"]).update(expires_at=timezone.now())
    listed = {
        i["id"]: i["status"]
        for i in client.get(f"/api/v1/organizations/{org.id}/invitations").json()
    }

    accept = _session(invitee).post(
        "/api/v1/invitations/accept", {"token": replaced}, format="json"
    )
    other = UserFactory(email="other@example.com")
    late = _session(other).post(
        "/api/v1/invitations/accept", {"token": expired_token}, format="json"
    )

    assert (revoke.status_code, revoke.json()["status"]) == (200, "revoked")
    assert listed == {first["id"]: "revoked", second["id"]: "revoked", third["id"]: "expired"}
    assert (accept.status_code, accept.json()["code"]) == (409, "invitation_revoked")
    assert (late.status_code, late.json()["code"]) == (409, "invitation_expired")
    assert Membership.objects.filter(organization=org).count() == 1


def test_inviting_a_current_member_is_409(make_org):
    org, owner = make_org()
    member = MembershipFactory(organization=org, role="member").user
    response = _invite(_session(owner), org, member.email.upper())
    assert (response.status_code, response.json()["code"]) == (409, "already_a_member")
    assert not Invitation.objects.exists()


def test_admin_cannot_invite_owners_and_members_cannot_invite_anyone(make_org, key_client):
    org, _ = make_org()
    admin = MembershipFactory(organization=org, role="admin").user
    member = MembershipFactory(organization=org, role="member").user

    as_admin = _invite(_session(admin), org, "new@example.com", "owner")
    as_member = _invite(_session(member), org, "new@example.com")
    as_query_key = _invite(key_client(org, scopes=["query"]), org, "new@example.com")
    member_lists = _session(member).get(f"/api/v1/organizations/{org.id}/invitations")

    assert (as_admin.status_code, as_admin.json()["code"]) == (403, "not_an_owner")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "not_an_admin")
    assert (as_query_key.status_code, as_query_key.json()["code"]) == (403, "insufficient_scope")
    assert (member_lists.status_code, member_lists.json()["code"]) == (403, "not_an_admin")
    assert not Invitation.objects.exists()


def test_an_admin_key_invites_and_the_invitation_names_no_inviter(make_org, key_client):
    org, _ = make_org()
    response = _invite(key_client(org, scopes=["admin"]), org, "new@example.com")
    assert response.status_code == 201
    assert response.json()["invited_by_email"] is None


def test_invitations_per_organization_are_rate_limited(make_org, settings):
    settings.INVITATION_RATE_LIMIT_PER_HOUR = 2
    org, owner = make_org()
    client = _session(owner)
    statuses = [_invite(client, org, f"p{i}@example.com").status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    assert Invitation.objects.count() == 2


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"email": "not-an-email"},
        {"email": "a@example.com", "role": "king"},
        {"email": "a@example.com", "user_id": 1},
    ],
)
def test_bad_invitations_get_400_and_create_nothing(make_org, payload):
    org, owner = make_org()
    response = _session(owner).post(
        f"/api/v1/organizations/{org.id}/invitations", payload, format="json"
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_another_organizations_invitations_are_404(make_org, key_client):
    mine, me = make_org()
    theirs, them = make_org()
    their_invitation = _invite(_session(them), theirs, "x@example.com").json()
    for client in (_session(me), key_client(mine, scopes=["admin"])):
        assert client.get(f"/api/v1/organizations/{theirs.id}/invitations").status_code == 404
        assert _invite(client, theirs, "y@example.com").status_code == 404
        for org in (theirs, mine):
            url = f"/api/v1/organizations/{org.id}/invitations/{their_invitation['id']}/revoke"
            response = client.post(url)
            assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert list(Invitation.objects.values_list("email", "revoked_at")) == [("x@example.com", None)]


def test_a_member_leaves_and_the_last_owner_cannot(make_org):
    org, owner = make_org()
    member = MembershipFactory(organization=org, role="member")

    left = _session(member.user).post(f"/api/v1/organizations/{org.id}/leave")
    owner_leaves = _session(owner).post(f"/api/v1/organizations/{org.id}/leave")
    gone = _session(member.user).get(f"/api/v1/organizations/{org.id}")

    assert left.status_code == 204
    assert (owner_leaves.status_code, owner_leaves.json()["code"]) == (409, "last_owner")
    assert gone.status_code == 404
    assert list(Membership.objects.filter(organization=org).values_list("user", "role")) == [
        (owner.pk, "owner")
    ]


def test_an_owner_leaves_when_another_owner_stays(make_org):
    org, owner = make_org()
    other = MembershipFactory(organization=org, role="owner")
    assert _session(owner).post(f"/api/v1/organizations/{org.id}/leave").status_code == 204
    assert list(Membership.objects.filter(organization=org)) == [other]


def test_a_member_removes_their_own_membership_without_admin_rights(make_org):
    org, _ = make_org()
    member = MembershipFactory(organization=org, role="member")
    other = MembershipFactory(organization=org, role="member")
    client = _session(member.user)

    others = client.delete(f"/api/v1/organizations/{org.id}/members/{other.id}")
    mine = client.delete(f"/api/v1/organizations/{org.id}/members/{member.id}")

    assert (others.status_code, others.json()["code"]) == (403, "not_an_admin")
    assert mine.status_code == 204
    assert list(Membership.objects.filter(role="member")) == [other]


def test_keys_cannot_leave_and_nobody_leaves_an_organization_they_are_not_in(make_org, key_client):
    org, owner = make_org()
    theirs, _ = make_org()

    by_key = key_client(org, scopes=["admin"]).post(f"/api/v1/organizations/{org.id}/leave")
    elsewhere = _session(owner).post(f"/api/v1/organizations/{theirs.id}/leave")

    assert (by_key.status_code, by_key.json()["code"]) == (403, "user_required")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    assert Membership.objects.count() == 2


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
