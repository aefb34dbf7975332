"""The agent operator's market pages: the catalog in names, accepting with a spend cap (402 with
a top-up link when the wallet cannot pay), licences and their caps, and other tenants' ids
answering 404."""

import csv
import io
import re

import pytest
from django.test import Client

from catalog.models import Collection
from licensing import services as licensing
from licensing.models import LicenseAgreement
from tests.acting import acting_for

pytestmark = pytest.mark.django_db


def _shown_providers(html):
    return re.findall(r"from <strong>([^<]+)</strong>", html)


def _url(market, path=""):
    return f"/orgs/{market.agent.id}/{path}"


def test_the_catalog_shows_providers_collections_samples_and_terms_in_words(
    market,
    agent_browser,
):
    Collection.objects.filter(id=market.canals.id).update(
        description="Canals and their locks.", topics=["shipping", "history"]
    )
    response = agent_browser.get(_url(market, "catalog/"))

    assert response.status_code == 200
    html = response.content.decode()
    for words in (
        "Harbor Guides",
        "Per cited source",
        "Canals and their locks.",
        "1 document",
        "The Panama Canal opened in 1914",  # the sample passage
        "Pay 0.005 USD for each source an answer cites.",
        "3 offers from 3 providers",
        f"/orgs/{market.agent.id}/catalog/{market.canals_offer.id}/",
    ):
        assert words in html, words
    # Accepted offers say so and link to the licence instead of an accept button.
    agreement = licensing.list_agreements(**acting_for(market.agent), status="active")
    held = {a.offer.id: a.id for a in agreement}
    assert f"/licences/{held[market.energy_offer.id]}/" in html
    assert html.count("Review and accept") == 1


def test_the_catalog_filters_by_provider_and_by_topic(market, agent_browser):
    Collection.objects.filter(id=market.canals.id).update(topics=["shipping"])
    Collection.objects.filter(id=market.sleep.id).update(topics=["health"])

    by_provider = agent_browser.get(
        _url(market, "catalog/"), {"provider": market.harbor.slug}
    ).content.decode()
    by_topic = agent_browser.get(_url(market, "catalog/"), {"topic": "health"}).content.decode()

    assert "1 offer from 1 provider, filtered" in by_provider
    assert _shown_providers(by_provider) == ["Harbor Guides"]
    assert "1 offer from 1 provider, filtered" in by_topic
    assert _shown_providers(by_topic) == ["Helio Science"]


def test_an_unknown_filter_is_shown_next_to_its_field(market, agent_browser):
    response = agent_browser.get(_url(market, "catalog/"), {"provider": "nobody-at-all"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_provider_error"' in html
    assert "Select a valid choice" in html


def test_accepting_with_a_spend_cap_makes_a_capped_licence(market, agent_browser):
    response = agent_browser.post(
        _url(market, f"catalog/{market.canals_offer.id}/"), {"spend_cap": "2.50"}, follow=True
    )

    agreement = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.canals_offer.id)
    assert agreement.spend_cap_micros == 2_500_000
    assert response.redirect_chain[-1][0] == _url(market, f"licences/{agreement.id}/")
    html = response.content.decode()
    assert "You license Per cited source from Harbor Guides" in html
    assert "2.50" in html


def test_accepting_without_a_cap_leaves_it_uncapped(market, agent_browser):
    agent_browser.post(_url(market, f"catalog/{market.canals_offer.id}/"), {"spend_cap": ""})

    agreement = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.canals_offer.id)
    assert agreement.spend_cap_micros is None


@pytest.mark.parametrize(
    ("cap", "problem"),
    [
        ("lots", "Enter an amount like 0.002 or 49."),
        ("-1", "Enter an amount of zero or more."),
        ("0.0000001", "At most six decimals"),
    ],
)
def test_a_bad_cap_is_shown_next_to_the_field_and_nothing_is_accepted(
    market,
    agent_browser,
    cap,
    problem,
):
    response = agent_browser.post(
        _url(market, f"catalog/{market.canals_offer.id}/"), {"spend_cap": cap}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_spend_cap_error"' in html
    assert problem in html
    assert not LicenseAgreement.objects.filter(offer_id=market.canals_offer.id).exists()


def test_a_licence_the_wallet_cannot_pay_says_so_and_links_to_the_top_up(
    market,
    agent_browser,
):
    subscription = licensing.publish_offer(
        **acting_for(market.harbor),
        offer_id=licensing.create_offer(
            **acting_for(market.harbor),
            name="Monthly",
            terms=licensing.OfferTerms(
                collection_ids=(market.canals.id,),
                usage_types=("ai-input",),
                payment_type="subscription",
                price_micros=20_000_000,
                period="month",
            ),
        ).id,
    )

    response = agent_browser.post(_url(market, f"catalog/{subscription.id}/"), {"spend_cap": "50"})

    assert response.status_code == 402
    html = response.content.decode()
    assert "Your wallet cannot pay this licence" in html
    assert f'href="/orgs/{market.agent.id}/billing/"' in html
    assert "Top up your wallet" in html
    assert not LicenseAgreement.objects.filter(offer_id=subscription.id).exists()


def test_the_licences_list_shows_spend_and_caps_and_exports_csv(
    market,
    agent_browser,
):
    energy = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.energy_offer.id)
    LicenseAgreement.objects.filter(id=energy.id).update(
        spent_micros=12_000, spend_cap_micros=1_000_000
    )

    html = agent_browser.get(_url(market, "licences/")).content.decode()
    export = agent_browser.get(_url(market, "licences/"), {"format": "csv", "table": "agreements"})

    assert "Northwind Press" in html and "Helio Science" in html
    assert "0.012" in html and "1.00" in html and "No cap" in html
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == [
        "Offer",
        "Provider",
        "Collections",
        "Status",
        "Since",
        "Ends",
        "Spent",
        "Spend cap",
    ]
    by_offer = {r[0]: r for r in rows[1:]}
    assert by_offer["Per source"][1:4] == ["Northwind Press", "Energy", "Active"]
    assert by_offer["Per source"][6:] == ["0.012", "1.00"]
    assert by_offer["Attribution"][7] == "No cap"


def test_a_cap_is_raised_removed_and_never_set_below_what_was_spent(
    market,
    agent_browser,
):
    energy = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.energy_offer.id)
    LicenseAgreement.objects.filter(id=energy.id).update(spent_micros=300_000)
    page = _url(market, f"licences/{energy.id}/")

    raised = agent_browser.post(page, {"spend_cap": "5"}, follow=True)
    energy.refresh_from_db()
    assert energy.spend_cap_micros == 5_000_000
    assert "Spend cap saved." in raised.content.decode()

    lowered = agent_browser.post(page, {"spend_cap": "0.1"}, follow=True)
    energy.refresh_from_db()
    assert energy.spend_cap_micros == 300_000
    assert "its cap is set to what it spent" in lowered.content.decode()

    agent_browser.post(page, {"spend_cap": ""})
    energy.refresh_from_db()
    assert energy.spend_cap_micros is None

    bad = agent_browser.post(page, {"spend_cap": "ten"})
    energy.refresh_from_db()
    assert bad.status_code == 400
    assert 'id="id_spend_cap_error"' in bad.content.decode()
    assert energy.spend_cap_micros is None


def test_a_cancelled_licence_no_longer_takes_a_cap(market, agent_browser):
    energy = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.energy_offer.id)
    agent_browser.post(_url(market, f"licences/{energy.id}/cancel/"))

    response = agent_browser.post(_url(market, f"licences/{energy.id}/"), {"spend_cap": "1"})

    energy.refresh_from_db()
    assert energy.status == "cancelled"
    assert response.status_code == 409
    assert "This agreement is cancelled" in response.content.decode()
    assert energy.spend_cap_micros is None


def test_another_organizations_licence_is_not_found(market, make_org):
    other, owner = make_org(roles=("agent",), name="Other Agents")
    client = Client()
    client.force_login(owner)
    theirs = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.energy_offer.id)

    for path in (f"licences/{theirs.id}/", f"licences/{theirs.id}/cancel/"):
        response = client.post(f"/orgs/{other.id}/{path}", {"spend_cap": "0"})
        assert response.status_code == 404, path
    # Nor can they name the agent's organization in the URL.
    assert client.get(f"/orgs/{market.agent.id}/licences/{theirs.id}/").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.spend_cap_micros) == ("active", None)


def test_a_private_or_unknown_offer_is_not_found(market, agent_browser):
    private = licensing.publish_offer(
        **acting_for(market.harbor),
        offer_id=licensing.create_offer(
            **acting_for(market.harbor),
            name="For friends",
            terms=licensing.OfferTerms(
                collection_ids=(market.canals.id,),
                usage_types=("ai-input",),
                payment_type="free",
                allowed_agent_org_ids=(market.helio.id,),
            ),
        ).id,
    )
    for offer_id in (private.id, "00000000-0000-0000-0000-000000000000"):
        assert agent_browser.get(_url(market, f"catalog/{offer_id}/")).status_code == 404
        assert agent_browser.post(_url(market, f"catalog/{offer_id}/")).status_code == 404
    assert "For friends" not in agent_browser.get(_url(market, "catalog/")).content.decode()


def test_a_provider_only_organization_is_told_the_pages_are_for_agents(market):
    client = Client()
    client.force_login(market.harbor.memberships.get(role="owner").user)

    response = client.get(f"/orgs/{market.harbor.id}/catalog/")

    assert response.status_code == 403
    assert "organizations with the agent role" in response.content.decode()


def test_accepting_a_licensed_offer_again_leads_to_its_cap_and_changes_nothing(
    market, agent_browser
):
    energy = LicenseAgreement.objects.get(agent=market.agent, offer_id=market.energy_offer.id)

    response = agent_browser.post(
        _url(market, f"catalog/{market.energy_offer.id}/"), {"spend_cap": "1"}, follow=True
    )

    assert response.redirect_chain[-1][0] == _url(market, f"licences/{energy.id}/")
    assert "You already license this offer" in response.content.decode()
    assert LicenseAgreement.objects.filter(agent=market.agent).count() == 2
    energy.refresh_from_db()
    assert energy.spend_cap_micros is None
