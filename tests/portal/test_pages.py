import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import APIKey, Membership, User

pytestmark = pytest.mark.django_db


def test_sign_up_creates_an_owner_with_an_argon2_password_and_logs_in(settings):
    """Production settings hash with Argon2 (the suite itself uses a fast hasher)."""
    from config import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    client = Client()
    response = client.post(
        "/signup/",
        {
            "email": "New.User@Example.com",
            "password": "a long enough passphrase",
            "organization_name": "Fresh Data Co",
            "roles": ["provider", "agent"],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.user@example.com")
    assert user.password.startswith("argon2$")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner"
    assert (membership.organization.is_provider, membership.organization.is_agent) == (True, True)
    page = client.get("/", follow=True)
    assert "Fresh Data Co" in page.content.decode()


def test_sign_up_with_a_weak_password_or_taken_email_creates_nothing(make_org):
    _, existing = make_org()
    client = Client()
    weak = client.post(
        "/signup/",
        {"email": "x@example.com", "password": "123", "organization_name": "X", "roles": ["agent"]},
    )
    taken = client.post(
        "/signup/",
        {
            "email": existing.email.upper(),
            "password": "a long enough passphrase",
            "organization_name": "Y",
            "roles": ["agent"],
        },
    )
    assert weak.status_code == 400
    assert taken.status_code == 400
    assert "already exists" in taken.content.decode()
    assert User.objects.count() == 1


def test_login_then_create_a_key_shown_once_then_revoke_it():
    User.objects.create_user(email="owner@example.com", password="correct horse battery")
    client = Client()
    assert (
        client.post("/login/", {"username": "owner@example.com", "password": "wrong"}).status_code
        == 200
    )
    client.post("/signup/")  # signed-out pages still render
    logged_in = client.post(
        "/login/", {"username": "owner@example.com", "password": "correct horse battery"}
    )
    assert logged_in.status_code == 302

    from accounts import services

    org = services.create_organization(
        user_id=User.objects.get().pk, name="Keys Inc", roles=["agent"]
    )
    created = client.post(f"/orgs/{org.id}/keys/", {"name": "laptop"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    raw = re.search(r"pvn_[0-9a-f]{12}_[\w-]+", created.content.decode()).group(0)
    later = client.get(f"/orgs/{org.id}/").content.decode()
    assert raw not in later

    key = APIKey.objects.get(organization_id=org.id)
    client.post(f"/orgs/{org.id}/keys/{key.id}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_another_organizations_page_and_actions_are_404(make_org):
    _mine, me = make_org()
    theirs, _them = make_org()
    key = APIKey.objects.create(
        organization=theirs, name="theirs", prefix="abcdefabcdef", secret_hash="0" * 64
    )
    client = Client()
    client.force_login(me)
    assert client.get(f"/orgs/{theirs.id}/").status_code == 404
    assert client.post(f"/orgs/{theirs.id}/keys/", {"name": "x"}).status_code == 404
    assert client.post(f"/orgs/{theirs.id}/keys/{key.id}/revoke/").status_code == 404
    assert (
        client.post(
            f"/orgs/{theirs.id}/invitations/", {"email": me.email, "role": "owner"}
        ).status_code
        == 404
    )
    assert client.post(f"/orgs/{theirs.id}/leave/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert APIKey.objects.filter(organization=theirs).count() == 1
    assert not Membership.objects.filter(organization=theirs, user=me).exists()


def test_a_new_api_key_secret_is_never_written_to_the_session_table(make_org):
    org, owner = make_org()
    client = Client()
    client.force_login(owner)

    created = client.post(f"/orgs/{org.id}/keys/", {"name": "laptop"})
    secret = re.search(r"pvn_[0-9a-f]{12}_([\w-]+)", created.content.decode()).group(1)

    def stored_sessions() -> list[str]:
        return [s.session_data + str(s.get_decoded()) for s in Session.objects.all()]

    after_post = stored_sessions()
    client.get(f"/orgs/{org.id}/")
    after_next_page = stored_sessions()

    assert after_post
    assert not [row for row in after_post + after_next_page if secret in row]


def _errors_by_field(page: str) -> dict[str, list[str]]:
    """The error list shown with each field (its id names the field)."""
    found = {}
    for field in ("email", "password", "organization_name"):
        match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
        found[field] = re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []
    return found


def test_sign_up_shows_every_problem_at_once_next_to_its_field(make_org):
    _, existing = make_org()
    client = Client()

    response = client.post(
        "/signup/",
        {
            "email": existing.email,
            "password": "123",
            "organization_name": "   ",
            "roles": ["agent"],
        },
    )

    assert response.status_code == 400
    errors = _errors_by_field(response.content.decode())
    assert errors["email"] == ["An account with this email already exists."]
    assert errors["organization_name"] == ["This field is required."]
    assert any("too short" in e for e in errors["password"]), errors
    assert User.objects.count() == 1


def test_a_form_error_still_says_the_password_is_too_weak():
    response = Client().post(
        "/signup/", {"email": "not an email", "password": "123", "organization_name": "X"}
    )

    assert response.status_code == 400
    errors = _errors_by_field(response.content.decode())
    assert errors["email"] == ["Enter a valid email address."]
    assert any("too short" in e for e in errors["password"]), errors
    assert "This field is required." in response.content.decode()  # the roles
    assert User.objects.count() == 0
