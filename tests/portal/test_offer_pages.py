"""The offer editor: drafts, bad terms next to their fields, publishing, versions, the price
preview (priced by licensing's own code) and the RSL preview; other tenants' offers are 404."""

import csv
import io

import pytest
from django.test import Client

from catalog import services as catalog
from licensing import services as licensing
from tests.acting import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(make_org):
    org, owner = make_org(roles=("provider",), name="Northwind Press")
    client = Client()
    client.force_login(owner)
    collection = catalog.create_collection(
        actor=owner_of(org), organization_id=org.id, name="Energy"
    )
    return org, client, collection


def _form(collection, **changes):
    data = {
        "name": "Per use",
        "collections": [str(collection.id)],
        "usage_types": ["ai-input"],
        "payment_type": "use",
        "price": "0.002",
        "price_unit": "retrieved_source",
        "period": "",
        "revenue_share": "",
        "revenue_share_min": "",
        "territories": "",
    }
    data.update(changes)
    return data


def test_a_draft_is_created_with_exact_terms(provider):
    org, client, collection = provider
    response = client.post(
        f"/orgs/{org.id}/offers/new/",
        _form(collection, citation_required="on", territories="us, gb", max_snippet_chars="300"),
    )
    [offer] = licensing.list_offers(actor=owner_of(org), organization_id=org.id)
    assert response.status_code == 302
    assert response["Location"] == f"/orgs/{org.id}/offers/{offer.id}/"
    assert (offer.name, offer.status, offer.version) == ("Per use", "draft", 1)
    terms = offer.terms
    assert terms.collection_ids == (collection.id,)
    assert (terms.payment_type, terms.price_micros, terms.price_unit) == (
        "use",
        2000,
        "retrieved_source",
    )
    assert (terms.citation_required, terms.territories, terms.max_snippet_chars) == (
        True,
        ("US", "GB"),
        300,
    )


@pytest.mark.parametrize(
    ("changes", "field", "message", "status"),
    [
        ({"price": "abc"}, "price", "Enter an amount like 0.002 or 49.", 400),
        ({"price": "0.0000001"}, "price", "At most six decimals", 400),
        ({"price": ""}, "price", "A use offer needs a price above zero.", 400),
        ({"payment_type": "subscription", "price": "10"}, "period", "A subscription needs", 400),
        (
            {"payment_type": "revenue_share", "revenue_share": "150"},
            "revenue_share",
            "Between 0",
            400,
        ),
        ({"usage_types": []}, "usage_types", "This field is required.", 400),
        ({"territories": "USA"}, "territories", "ISO 3166-1 alpha-2", 400),
        ({"name": ""}, "name", "This field is required.", 400),
    ],
)
def test_bad_terms_are_shown_next_to_their_field_and_nothing_is_saved(
    provider, changes, field, message, status
):
    org, client, collection = provider
    response = client.post(f"/orgs/{org.id}/offers/new/", _form(collection, **changes))
    html = response.content.decode()
    assert response.status_code == status
    error_list = html.split(f'id="id_{field}_error"', 1)[1].split("</ul>", 1)[0]
    assert message in error_list
    assert licensing.list_offers(actor=owner_of(org), organization_id=org.id) == []


def test_publishing_lists_the_offer_in_rsl_and_an_edit_makes_version_two(provider):
    org, client, collection = provider
    client.post(f"/orgs/{org.id}/offers/new/", _form(collection))
    [offer] = licensing.list_offers(actor=owner_of(org), organization_id=org.id)
    draft_page = client.get(f"/orgs/{org.id}/offers/{offer.id}/").content.decode()
    assert "How it will read once published" in draft_page
    assert "&lt;amount currency=&quot;USD&quot;&gt;0.002&lt;/amount&gt;" in draft_page

    published = client.post(f"/orgs/{org.id}/offers/{offer.id}/publish/", follow=True)
    assert "is published" in published.content.decode()
    listing = client.get(f"/orgs/{org.id}/offers/").content.decode()
    assert f"/api/v1/market/offers/{offer.id}" in listing  # the RSL document on the page

    client.post(f"/orgs/{org.id}/offers/{offer.id}/", _form(collection, price="0.003"))
    changed = licensing.get_offer(actor=owner_of(org), offer_id=offer.id, organization_id=org.id)
    assert (changed.version, changed.terms.price_micros, changed.status) == (2, 3000, "published")

    client.post(f"/orgs/{org.id}/offers/{offer.id}/retire/")
    retired = licensing.get_offer(actor=owner_of(org), offer_id=offer.id, organization_id=org.id)
    assert retired.status == "retired"
    again = client.post(f"/orgs/{org.id}/offers/{offer.id}/publish/", follow=True)
    assert "cannot be published again" in again.content.decode()


@pytest.mark.parametrize(
    ("query", "headline", "earns"),
    [
        (
            {"price": "0.002", "price_unit": "retrieved_source", "passages": "2"},
            "An answer citing 2 passages costs the agent 0.004 USD.",
            "You earn 0.0036 USD of it, after the platform&#x27;s 10% take.",
        ),
        (
            # 10,000 micros per 1,000 tokens, a passage counted as 200 tokens: 2,000 each.
            {"price": "0.01", "price_unit": "1k_tokens", "passages": "3"},
            "An answer citing 3 passages costs the agent 0.006 USD.",
            "You earn 0.0054 USD of it",
        ),
        (
            {"price": "0.005", "price_unit": "cited_source", "passages": "1"},
            "An answer citing 1 passage costs the agent 0.005 USD.",
            "You earn 0.0045 USD of it",
        ),
    ],
)
def test_the_price_preview_prices_as_answers_are_priced(provider, query, headline, earns):
    org, client, _ = provider
    response = client.get(
        f"/orgs/{org.id}/offers/preview/", {"payment_type": "use", **query}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert headline in html
    assert earns in html
    assert "<html" not in html


def test_the_preview_of_other_payment_types_and_of_a_bad_price(provider):
    org, client, _ = provider
    url = f"/orgs/{org.id}/offers/preview/"
    subscription = client.get(
        url, {"payment_type": "subscription", "price": "49", "period": "month"}
    )
    assert "The agent pays 49.00 USD per month" in subscription.content.decode()
    free = client.get(url, {"payment_type": "attribution"}).content.decode()
    assert "costs the agent nothing and must cite you" in free
    bad = client.get(url, {"payment_type": "use", "price": "-1"}).content.decode()
    assert "Enter an amount of zero or more." in bad


def test_offers_export_as_csv_exactly(provider):
    org, client, collection = provider
    client.post(f"/orgs/{org.id}/offers/new/", _form(collection, name="=cmd"))
    response = client.get(f"/orgs/{org.id}/offers/?format=csv&table=offers")
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["Name", "Status", "Version", "Payment", "Price", "Collections", "Published"],
        ["'=cmd", "Draft", "1", "Pay per use", "0.002 USD per source retrieved", "Energy", ""],
    ]


def test_another_providers_offer_is_404_everywhere_and_unchanged(make_org, provider):
    org, client, _ = provider
    other, _ = make_org(roles=("provider",), name="Rival")
    theirs = catalog.create_collection(actor=owner_of(other), organization_id=other.id, name="X")
    offer = licensing.create_offer(
        actor=owner_of(other),
        organization_id=other.id,
        name="Theirs",
        terms=licensing.OfferTerms(
            collection_ids=(theirs.id,),
            usage_types=("ai-input",),
            payment_type="use",
            price_micros=1000,
            price_unit="retrieved_source",
        ),
    )
    base = f"/orgs/{org.id}/offers/{offer.id}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/", _form(theirs)).status_code == 404
    assert client.post(f"{base}/publish/").status_code == 404
    assert client.post(f"{base}/retire/").status_code == 404
    assert client.get(f"/orgs/{other.id}/offers/").status_code == 404
    # Their collection is not a choice in this provider's editor.
    refused = client.post(f"/orgs/{org.id}/offers/new/", _form(theirs))
    assert refused.status_code == 400
    unchanged = licensing.get_offer(actor=owner_of(other), offer_id=offer.id)
    assert (unchanged.status, unchanged.version) == ("draft", 1)
