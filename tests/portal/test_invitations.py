import re

import pytest
from django.test import Client

from accounts.models import Invitation, Membership, Organization, User
from tests.marketplace.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def invite(make_org, mailoutbox, django_capture_on_commit_callbacks):
    """Invite an address from the portal; return the organization and the emailed link's path."""

    def send(email, role="member"):
        org, owner = make_org(name="Acme Data")
        with django_capture_on_commit_callbacks(execute=True):
            response = _signed_in(owner).post(
                f"/orgs/{org.id}/invitations/", {"email": email, "role": role}
            )
        assert response.status_code == 302
        link = re.search(r"http://testserver(/invitations/[\w-]+/)", mailoutbox[-1].body)
        return org, link.group(1)

    return send


def test_an_existing_account_logs_in_from_the_link_and_accepts(invite):
    org, path = invite("invitee@example.com", "admin")
    User.objects.create_user(email="invitee@example.com", password="correct horse battery")
    client = Client()

    page = client.get(path)
    assert page.status_code == 200
    assert "Acme Data invites <strong>invitee@example.com</strong> to join as admin" in (
        page.content.decode()
    )
    assert not Membership.objects.filter(user__email="invitee@example.com").exists()
    logged_in = client.post(
        f"/login/?next={path}",
        {"username": "invitee@example.com", "password": "correct horse battery"},
    )
    assert logged_in["Location"] == path
    accepted = client.post(path)

    assert accepted["Location"] == f"/orgs/{org.id}/"
    assert Membership.objects.get(user__email="invitee@example.com").role == "admin"
    assert client.get(path).status_code == 410  # used once


def test_a_new_person_signs_up_from_the_link_and_joins_without_a_new_organization(invite):
    org, path = invite("newcomer@example.com")
    client = Client()

    response = client.post(path, {"password": "a long enough passphrase"})

    assert response["Location"] == f"/orgs/{org.id}/"
    user = User.objects.get(email="newcomer@example.com")
    assert user.check_password("a long enough passphrase")
    assert list(Membership.objects.filter(user=user).values_list("organization", "role")) == [
        (org.id, "member")
    ]
    assert Organization.objects.count() == 1
    assert Invitation.objects.get().accepted_by == user


def test_signing_up_from_a_link_needs_a_strong_password_and_a_free_email(invite):
    _, path = invite("newcomer@example.com")
    weak = Client().post(path, {"password": "123"})
    assert weak.status_code == 400
    UserFactory(email="newcomer@example.com")
    taken = Client().post(path, {"password": "a long enough passphrase"})
    assert taken.status_code == 400
    assert "log in to accept" in taken.content.decode()
    assert not Membership.objects.filter(user__email="newcomer@example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_another_signed_in_account_cannot_accept(invite):
    _, path = invite("invitee@example.com")
    intruder = _signed_in(UserFactory(email="intruder@example.com"))

    page = intruder.get(path).content.decode()
    response = intruder.post(path)

    assert "You are signed in as intruder@example.com" in page
    assert response.status_code == 400
    assert "This invitation is for invitee@example.com" in response.content.decode()
    assert not Membership.objects.filter(user__email="intruder@example.com").exists()


def test_an_unknown_or_revoked_link_accepts_nothing(invite):
    org, path = invite("invitee@example.com")
    owner = Membership.objects.get(organization=org, role="owner").user
    invitation = Invitation.objects.get()
    revoked = _signed_in(owner).post(f"/orgs/{org.id}/invitations/{invitation.id}/revoke/")
    invitee = _signed_in(UserFactory(email="invitee@example.com"))

    assert revoked.status_code == 302
    assert invitee.get("/invitations/not-a-real-token/").status_code == 404
    assert invitee.post(path).status_code == 410
    assert Membership.objects.filter(organization=org).count() == 1


def test_invitation_form_answers_alike_for_known_and_unknown_emails(
    make_org, mailoutbox, django_capture_on_commit_callbacks
):
    org, owner = make_org()
    UserFactory(email="known@example.com")
    client = _signed_in(owner)
    flashes = []
    for email in ("known@example.com", "ghost@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/orgs/{org.id}/invitations/", {"email": email, "role": "member"})
        page = client.get(f"/orgs/{org.id}/").content.decode()
        flashes.append(re.search(r'<p class="flash [^"]*">([^<]*)</p>', page).group(1))

    assert flashes == [
        "Invitation sent to known@example.com to join as member.",
        "Invitation sent to ghost@example.com to join as member.",
    ]
    assert len(mailoutbox) == 2
    assert Membership.objects.filter(organization=org).count() == 1


def test_a_member_leaves_from_the_portal_but_the_last_owner_cannot(make_org):
    org, owner = make_org()
    member = MembershipFactory(organization=org, role="member").user

    left = _signed_in(member).post(f"/orgs/{org.id}/leave/")
    stays = _signed_in(owner).post(f"/orgs/{org.id}/leave/", follow=True)

    assert left["Location"] == "/"
    assert "make another member an owner first" in stays.content.decode()
    assert list(Membership.objects.filter(organization=org).values_list("user", flat=True)) == [
        owner.pk
    ]


def test_invited_sign_ups_count_toward_the_sign_up_limit(invite, settings):
    settings.SIGNUP_RATE_LIMIT_PER_HOUR = 1
    _, first = invite("one@example.com")
    _, second = invite("two@example.com")
    client = Client(REMOTE_ADDR="198.51.100.7")

    ok = client.post(first, {"password": "a long enough passphrase"})
    blocked = Client(REMOTE_ADDR="198.51.100.7").post(
        second, {"password": "a long enough passphrase"}
    )

    assert ok.status_code == 302
    assert blocked.status_code == 429
    assert not User.objects.filter(email="two@example.com").exists()


def test_the_only_owner_is_told_to_name_another_owner_instead_of_offered_leave(make_org):
    org, owner = make_org(roles=("provider",))
    page = _signed_in(owner).get(f"/orgs/{org.id}/").content.decode()
    assert "make another member an owner before leaving" in page
    assert f"/orgs/{org.id}/leave/" not in page


def test_a_plain_member_is_refused_each_action_with_the_reason_and_nothing_changes(
    invite, make_org
):
    org, _path = invite("invitee@example.com")
    invitation = Invitation.objects.get()
    owner = Membership.objects.get(organization=org, role="owner").user
    key = _signed_in(owner).post(f"/orgs/{org.id}/keys/", {"name": "laptop"})
    assert key.status_code == 200
    member = _signed_in(MembershipFactory(organization=org, role="member").user)
    page = f"/orgs/{org.id}/"
    key_id = org.api_keys.get().id
    actions = [
        (f"/orgs/{org.id}/keys/", {"name": "mine"}),
        (f"/orgs/{org.id}/keys/{key_id}/revoke/", {}),
        (f"/orgs/{org.id}/invitations/", {"email": "other@example.com", "role": "member"}),
        (f"/orgs/{org.id}/invitations/{invitation.id}/revoke/", {}),
    ]

    flashes = []
    for path, data in actions:
        response = member.post(path, data)
        assert (response.status_code, response["Location"]) == (302, page), path
        flash = re.search(r'<p class="flash error">([^<]*)</p>', member.get(page).content.decode())
        flashes.append(flash.group(1))

    assert flashes == ["Only the organization&#x27;s owners and admins can do this."] * 4
    assert org.api_keys.get().revoked_at is None
    assert list(Invitation.objects.values_list("id", "revoked_at")) == [(invitation.id, None)]


def test_another_organizations_invitation_cannot_be_revoked(invite, make_org):
    org, _path = invite("invitee@example.com")
    invitation = Invitation.objects.get()
    _mine, me = make_org()

    response = _signed_in(me).post(f"/orgs/{org.id}/invitations/{invitation.id}/revoke/")

    assert response.status_code == 404
    assert Invitation.objects.get().revoked_at is None
