"""Click URLs: a signed token counts one click per serving and redirects to the unit's URL as it
was served; forged, replayed and expired tokens count nothing."""

import time
import uuid

import pytest
from django.core import signing

from ads import services as ads
from ads.models import AdEvent
from ads.services.clicks import SALT
from tests.acting import owner_of
from tests.ads.conftest import serve


@pytest.fixture
def served(agent, approved_unit):
    unit = approved_unit(bid_type="cpc", max_bid_micros=50_000)
    (serving,) = serve(agent, "req-click", [unit], prices=[40_000]).servings
    return serving


def clicks():
    return AdEvent.objects.filter(kind="click").count()


def test_a_click_is_counted_once_and_redirects_to_the_units_url(client, served):
    first = client.get(served.click_path)
    again = client.get(served.click_path)

    assert served.click_path.startswith("/c/")
    assert (first.status_code, first["Location"]) == (302, served.url)
    assert (again.status_code, again["Location"]) == (302, served.url)
    assert clicks() == 1
    click = AdEvent.objects.get(kind="click")
    assert (click.idempotency_key, click.amount_micros, click.status) == (
        f"click:{served.id}",
        40_000,
        "pending",
    )
    assert first["Referrer-Policy"] == "no-referrer"
    assert "no-store" in first["Cache-Control"]


def test_a_replayed_click_counts_nothing_through_the_service(served):
    token = served.click_path.removeprefix("/c/")

    first = ads.record_click(token=token)
    replay = ads.record_click(token=token)

    assert (first.counted, replay.counted) == (True, False)
    assert clicks() == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature changed
        lambda token: str(uuid.uuid4()) + token[36:],  # another serving, same signature
        lambda token: signing.TimestampSigner(salt="another").sign(token.split(":")[0]),
        lambda token: signing.TimestampSigner(salt=SALT).sign(str(uuid.uuid4())),  # unserved
        lambda token: "not-a-token",
    ],
)
def test_a_forged_click_token_is_refused_plainly_and_counts_nothing(client, served, forge):
    token = forge(served.click_path.removeprefix("/c/"))

    response = client.get(f"/c/{token}")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert not response.has_header("Location")
    assert clicks() == 0


def test_an_expired_click_token_is_gone_and_counts_nothing(client, served, settings, monkeypatch):
    settings.ADS_CLICK_TTL_S = 60
    later = time.time() + 61
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = client.get(served.click_path)

    assert response.status_code == 410
    assert not response.has_header("Location")
    assert clicks() == 0


def test_the_redirect_goes_where_the_served_version_pointed_whatever_the_request_says(
    client, served, advertiser
):
    ads.update_unit(
        actor=owner_of(advertiser), unit_id=served.unit_id, url="https://elsewhere.example.com/"
    )

    response = client.get(served.click_path + "?next=https://evil.example.com/")

    assert response["Location"] == "https://heat.example.com/quote?src=provenant"
    assert clicks() == 1


def test_a_click_url_answers_get_only(client, served):
    response = client.post(served.click_path)

    assert response.status_code == 405
    assert clicks() == 0
