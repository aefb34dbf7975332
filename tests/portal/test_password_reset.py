"""A member who forgot their password gets a one-time link by email and sets a new one."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return User.objects.create_user(email="owner@example.com", password="old passphrase here")


def _link(message) -> str:
    return re.search(r"https?://\S+/password-reset/\S+/\S+/", message.body).group(0)


def test_a_reset_link_by_email_sets_a_new_password(member, settings):
    settings.PORTAL_BASE_URL = "https://portal.example"
    client = Client()

    sent = client.post("/password-reset/", {"email": "Owner@Example.com"})

    assert sent.status_code == 302 and sent["Location"] == "/password-reset/sent/"
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert message.subject == "Reset your Provenant password"
    link = _link(message)
    assert link.startswith("https://portal.example/password-reset/")
    form = client.get(link.removeprefix("https://portal.example"), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    member.refresh_from_db()
    assert member.check_password("a brand new passphrase")
    again = Client().get(link.removeprefix("https://portal.example"), follow=True)
    assert "This link does not work" in again.content.decode()  # it worked once


def test_an_unknown_email_looks_the_same_and_sends_nothing(member):
    response = Client().post("/password-reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_forged_link_changes_nothing(member):
    page = Client().get("/password-reset/MQ/forged-token/", follow=True)

    assert "This link does not work" in page.content.decode()
    member.refresh_from_db()
    assert member.check_password("old passphrase here")


def test_a_weak_new_password_is_refused(member):
    client = Client()
    client.post("/password-reset/", {"email": "owner@example.com"})
    path = "/" + _link(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
    form = client.get(path, follow=True)

    refused = client.post(
        form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"}
    )

    assert refused.status_code == 200 and "too short" in refused.content.decode()
    member.refresh_from_db()
    assert member.check_password("old passphrase here")


def test_reset_requests_are_rate_limited(member, settings):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="198.51.100.9")
    statuses = [
        client.post("/password-reset/", {"email": "owner@example.com"}).status_code
        for _ in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_the_login_page_links_to_the_reset():
    assert 'href="/password-reset/"' in Client().get("/login/").content.decode()
