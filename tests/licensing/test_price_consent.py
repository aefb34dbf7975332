"""Price consent: ceilings on auto-accept offers, crawler fetches that buy one fetch only, and
spend caps that change without losing what was spent."""

import pytest
from rest_framework.test import APIClient

from billing import services as billing
from catalog.models import Document
from licensing import services
from licensing.models import AnswerRecord, LicenseAgreement, PriceCeiling, UsageEvent
from tests.acting import acting_for
from tests.marketplace.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(agent, key_client):
    return key_client(agent, scopes=["licensing", "query"])


def _ceilings_url(org) -> str:
    return f"/api/v1/organizations/{org.id}/price-ceilings"


def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _content(client, document, **headers):
    return client.get(f"/api/v1/documents/{document.id}/content", **headers)


# -- the ceilings -----------------------------------------------------------------------------


def test_an_agent_starts_with_the_default_ceilings(agent, agent_client, settings):
    settings.AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS = 7_000
    settings.AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS = 30_000

    response = agent_client.get(_ceilings_url(agent))

    assert response.status_code == 200
    assert response.json() == {
        "per_source_micros": 7_000,
        "per_answer_micros": 30_000,
        "currency": "USD",
        "is_default": True,
        "updated_at": None,
    }
    assert PriceCeiling.objects.count() == 0


def test_an_agent_changes_one_ceiling_and_keeps_the_other(agent, agent_client, settings):
    settings.AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS = 30_000

    response = agent_client.patch(_ceilings_url(agent), {"per_source_micros": 2_500}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["per_source_micros"], body["per_answer_micros"]) == (2_500, 30_000)
    assert body["is_default"] is False
    row = PriceCeiling.objects.get()
    assert (row.agent_id, row.per_source_micros, row.per_answer_micros) == (agent.id, 2_500, 30_000)
    assert agent_client.get(_ceilings_url(agent)).json()["per_source_micros"] == 2_500


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"per_source_micros": -1},
        {"per_answer_micros": 10**15 + 1},
        {"per_source_micros": "100"},
        {"per_source_micros": None},
        {"per_source_micros": 100, "max": 5},
    ],
)
def test_bad_ceilings_are_400_and_change_nothing(agent, agent_client, body):
    response = agent_client.patch(_ceilings_url(agent), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"code", "message"}
    assert PriceCeiling.objects.count() == 0


def test_another_organizations_ceilings_are_404_and_nothing_is_written(agent, make_org, key_client):
    other, other_owner = make_org(roles=("agent",))
    as_key = key_client(other, scopes=["licensing"])
    as_member = _session(other_owner)

    for client in (as_key, as_member):
        read = client.get(_ceilings_url(agent))
        write = client.patch(_ceilings_url(agent), {"per_source_micros": 10**9}, format="json")
        assert (read.status_code, read.json()["code"]) == (404, "not_found")
        assert (write.status_code, write.json()["code"]) == (404, "not_found")
    assert PriceCeiling.objects.count() == 0


def test_only_owners_admins_and_licensing_keys_change_the_ceilings(agent, key_client):
    member = MembershipFactory(organization=agent, role="member").user
    admin = MembershipFactory(organization=agent, role="admin").user
    body = {"per_source_micros": 1}

    as_member = _session(member).patch(_ceilings_url(agent), body, format="json")
    as_query_key = key_client(agent, scopes=["query"]).patch(
        _ceilings_url(agent), body, format="json"
    )

    assert (as_member.status_code, as_member.json()["code"]) == (403, "not_an_admin")
    assert (as_query_key.status_code, as_query_key.json()["code"]) == (403, "insufficient_scope")
    assert _session(member).get(_ceilings_url(agent)).status_code == 200
    assert PriceCeiling.objects.count() == 0
    as_admin = _session(admin).patch(_ceilings_url(agent), body, format="json")
    assert as_admin.status_code == 200
    assert PriceCeiling.objects.get().per_source_micros == 1


def test_a_provider_has_no_price_ceilings(provider, key_client):
    response = key_client(provider, scopes=["licensing"]).get(_ceilings_url(provider))

    assert (response.status_code, response.json()["code"]) == (403, "wrong_role")


# -- auto-accept within the ceilings ------------------------------------------------------------


def test_an_auto_accept_offer_above_the_ceiling_entitles_nothing_until_it_is_raised(
    provider, agent, make_collection, make_offer, agent_client
):
    collection = make_collection(provider)
    make_offer(provider, [collection], auto_accept=True, price_micros=5_000_000)

    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms == ()
    refused = _content(agent_client, Document.objects.get())
    assert refused.status_code == 402
    assert (LicenseAgreement.objects.count(), AnswerRecord.objects.count()) == (0, 0)

    agent_client.patch(
        _ceilings_url(agent),
        {"per_source_micros": 5_000_000, "per_answer_micros": 5_000_000},
        format="json",
    )

    terms = services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms
    assert [(t.collection_id, t.auto_accepted) for t in terms] == [(collection.id, True)]
    served = _content(agent_client, Document.objects.get())
    assert served.status_code == 200
    assert served["crawler-charged"] == "USD 5.000000"


def test_the_per_answer_ceiling_bounds_one_source_too(provider, agent, make_collection, make_offer):
    collection = make_collection(provider)
    make_offer(provider, [collection], auto_accept=True, price_micros=3_000)
    services.set_price_ceilings(
        **acting_for(agent), per_source_micros=10_000, per_answer_micros=2_999
    )

    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms == ()


def test_an_offer_the_agent_accepted_is_used_whatever_the_ceiling(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], price_micros=5_000_000)
    services.set_price_ceilings(**acting_for(agent), per_source_micros=0, per_answer_micros=0)
    services.accept_offer(**acting_for(agent), offer_id=offer.id)

    terms = services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms

    assert [(t.offer_id, t.auto_accepted) for t in terms] == [(offer.id, False)]


def test_an_agreement_auto_accept_made_stays_bound_by_the_ceiling_until_accepted(
    provider, agent, make_collection, make_offer, agent_client
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], auto_accept=True, price_micros=4_000)
    assert _content(agent_client, Document.objects.get()).status_code == 200
    made = LicenseAgreement.objects.get()
    assert made.origin == "auto_accept"

    services.set_price_ceilings(**acting_for(agent), per_source_micros=3_000)

    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms == ()
    assert _content(agent_client, Document.objects.get()).status_code == 402
    accepted = services.accept_offer(**acting_for(agent), offer_id=offer.id)
    assert (accepted.id, accepted.origin) == (made.id, "accepted")
    assert _content(agent_client, Document.objects.get()).status_code == 200
    assert UsageEvent.objects.count() == 2


def test_a_per_1k_tokens_auto_offer_serves_only_passages_within_the_ceiling(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    make_offer(
        provider, [collection], auto_accept=True, price_micros=100_000, price_unit="1k_tokens"
    )
    services.set_price_ceilings(**acting_for(agent), per_source_micros=5_000)
    entitlements = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")

    small = entitlements.choose(collection.id, tokens=50)  # 5,000 micros
    large = entitlements.choose(collection.id, tokens=51)  # 5,100 micros

    assert small is not None and small.price_unit == "1k_tokens"
    assert large is None


# -- crawler fetches --------------------------------------------------------------------------


def test_a_crawler_price_buys_one_fetch_and_no_standing_agreement(
    provider, agent, make_collection, make_offer, agent_client
):
    make_offer(provider, [make_collection(provider)], price_micros=3_000)
    document = Document.objects.get()

    paid = _content(agent_client, document, HTTP_CRAWLER_MAX_PRICE="USD 0.01")
    again = _content(agent_client, document)

    assert paid.status_code == 200
    assert paid["crawler-charged"] == "USD 0.003000"
    assert again.status_code == 402
    bought = LicenseAgreement.objects.get()
    assert (bought.origin, bought.status) == ("single_fetch", "expired")
    assert (bought.spend_cap_micros, bought.spent_micros) == (3_000, 3_000)
    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms == ()
    listed = agent_client.get("/api/v1/agreements").json()
    assert [(a["origin"], a["status"]) for a in listed] == [("single_fetch", "expired")]


def test_crawler_accept_standing_accepts_the_offer_for_later_fetches(
    provider, make_collection, make_offer, agent_client
):
    offer = make_offer(provider, [make_collection(provider)], price_micros=3_000)
    document = Document.objects.get()

    paid = _content(
        agent_client,
        document,
        HTTP_CRAWLER_MAX_PRICE="USD 0.003",
        HTTP_CRAWLER_ACCEPT="standing",
    )
    again = _content(agent_client, document)

    assert (paid.status_code, again.status_code) == (200, 200)
    agreement = LicenseAgreement.objects.get()
    assert (agreement.offer_id, agreement.origin, agreement.status) == (
        offer.id,
        "accepted",
        "active",
    )
    assert (agreement.spend_cap_micros, agreement.spent_micros) == (None, 6_000)


def test_an_auto_accept_offer_fetched_at_a_crawler_price_makes_no_standing_agreement(
    provider, agent, make_collection, make_offer, agent_client
):
    make_offer(provider, [make_collection(provider)], auto_accept=True, price_micros=2_000)

    paid = _content(agent_client, Document.objects.get(), HTTP_CRAWLER_MAX_PRICE="USD 0.002")

    assert paid.status_code == 200
    assert list(LicenseAgreement.objects.values_list("origin", "status")) == [
        ("single_fetch", "expired")
    ]
    terms = services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms
    assert [t.agreement_id for t in terms] == [None]  # still only offered


def test_an_auto_accept_subscription_is_bought_by_a_fetch_only_standing_and_at_its_price(
    provider, agent, make_collection, make_offer, agent_client
):
    make_offer(
        provider,
        [make_collection(provider)],
        auto_accept=True,
        payment_type="subscription",
        price_unit="period",
        period="month",
        price_micros=20_000,
    )
    services.set_price_ceilings(**acting_for(agent), per_source_micros=20_000)
    billing.grant_credit(organization_id=agent.id, amount_micros=20_000, idempotency_key="w")
    document = Document.objects.get()
    standing = {"HTTP_CRAWLER_ACCEPT": "standing"}

    one_fetch = _content(agent_client, document, HTTP_CRAWLER_MAX_PRICE="USD 1")
    too_cheap = _content(agent_client, document, HTTP_CRAWLER_MAX_PRICE="USD 0.019", **standing)
    assert (one_fetch.status_code, too_cheap.status_code) == (402, 402)
    assert LicenseAgreement.objects.count() == 0

    bought = _content(agent_client, document, HTTP_CRAWLER_MAX_PRICE="USD 0.02", **standing)

    assert bought.status_code == 200
    agreement = LicenseAgreement.objects.get()
    assert (agreement.origin, agreement.status) == ("accepted", "active")
    assert agreement.ends_at is not None  # a month's subscription
    # Bought standing, it is paid as any accepted subscription is: its first month, at once.
    line = billing.balance_of(organization_id=agent.id).currencies[0]
    assert (line.wallet_micros, line.receivable_micros) == (0, 0)
    assert billing.get_transaction(idempotency_key=f"subscription:{agreement.id}:0") is not None


def test_a_crawler_price_below_the_agents_agreement_is_402_and_charges_nothing(
    provider, agent, make_collection, make_offer, agent_client
):
    offer = make_offer(provider, [make_collection(provider)], price_micros=3_000)
    services.accept_offer(**acting_for(agent), offer_id=offer.id)

    refused = _content(agent_client, Document.objects.get(), HTTP_CRAWLER_MAX_PRICE="USD 0.0029")

    assert refused.status_code == 402
    assert refused["crawler-price"] == "USD 0.003000"
    assert (UsageEvent.objects.count(), LicenseAgreement.objects.count()) == (0, 1)


def test_a_retried_single_fetch_is_one_licence_and_one_charge(
    provider, make_collection, make_offer, agent_client
):
    make_offer(provider, [make_collection(provider)], price_micros=3_000)
    headers = {"HTTP_CRAWLER_MAX_PRICE": "USD 0.01", "HTTP_IDEMPOTENCY_KEY": "crawl-1"}

    responses = [_content(agent_client, Document.objects.get(), **headers) for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1]["crawler-charged"] == "USD 0.003000"
    assert (LicenseAgreement.objects.count(), UsageEvent.objects.count()) == (1, 1)


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"HTTP_CRAWLER_ACCEPT": "standing"}, "crawler-max-price"),  # accepting at no price
        ({"HTTP_CRAWLER_MAX_PRICE": "USD 1", "HTTP_CRAWLER_ACCEPT": "forever"}, "crawler-accept"),
    ],
)
def test_a_bad_crawler_accept_is_400_and_charges_nothing(
    provider, make_collection, make_offer, agent_client, headers, field
):
    make_offer(provider, [make_collection(provider)], price_micros=3_000)

    response = _content(agent_client, Document.objects.get(), **headers)

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert list(response.json()["details"]) == [field]
    assert (LicenseAgreement.objects.count(), AnswerRecord.objects.count()) == (0, 0)


def test_crawler_accept_standing_needs_the_licensing_scope(
    provider, agent, make_collection, make_offer, key_client
):
    make_offer(provider, [make_collection(provider)], auto_accept=True, price_micros=2_000)
    query_only = key_client(agent, scopes=["query"])

    response = _content(
        query_only,
        Document.objects.get(),
        HTTP_CRAWLER_MAX_PRICE="USD 1",
        HTTP_CRAWLER_ACCEPT="standing",
    )

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert (LicenseAgreement.objects.count(), AnswerRecord.objects.count()) == (0, 0)


# -- spend caps -------------------------------------------------------------------------------


def _held(provider, agent, make_collection, make_offer, *, cap, price=2_000):
    offer = make_offer(provider, [make_collection(provider)], price_micros=price)
    return services.accept_offer(**acting_for(agent), offer_id=offer.id, spend_cap_micros=cap)


def test_a_spend_cap_is_raised_and_what_was_spent_stays(
    provider, agent, make_collection, make_offer, agent_client
):
    agreement = _held(provider, agent, make_collection, make_offer, cap=2_000)
    assert _content(agent_client, Document.objects.get()).status_code == 200
    assert _content(agent_client, Document.objects.get()).status_code == 402  # cap reached

    raised = agent_client.patch(
        f"/api/v1/agreements/{agreement.id}", {"spend_cap_micros": 4_000}, format="json"
    )

    assert raised.status_code == 200, raised.json()
    assert (raised.json()["spend_cap_micros"], raised.json()["spent_micros"]) == (4_000, 2_000)
    assert _content(agent_client, Document.objects.get()).status_code == 200
    assert LicenseAgreement.objects.get().spent_micros == 4_000


def test_a_cap_lowered_below_what_was_spent_stops_further_charges(
    provider, agent, make_collection, make_offer, agent_client
):
    agreement = _held(provider, agent, make_collection, make_offer, cap=None)
    for _ in range(2):
        assert _content(agent_client, Document.objects.get()).status_code == 200

    lowered = agent_client.patch(
        f"/api/v1/agreements/{agreement.id}", {"spend_cap_micros": 1_000}, format="json"
    )

    assert lowered.status_code == 200
    assert (lowered.json()["spend_cap_micros"], lowered.json()["spent_micros"]) == (4_000, 4_000)
    refused = _content(agent_client, Document.objects.get())
    assert (refused.status_code, refused.json()["code"]) == (402, "spend_cap_reached")
    assert UsageEvent.objects.count() == 2
    removed = agent_client.patch(
        f"/api/v1/agreements/{agreement.id}", {"spend_cap_micros": None}, format="json"
    )
    assert removed.json()["spend_cap_micros"] is None
    assert _content(agent_client, Document.objects.get()).status_code == 200


def test_another_agents_agreement_cap_is_404_and_unchanged(
    provider, agent, make_org, key_client, make_collection, make_offer
):
    agreement = _held(provider, agent, make_collection, make_offer, cap=5_000)
    other, _ = make_org(roles=("agent",))

    response = key_client(other, scopes=["licensing"]).patch(
        f"/api/v1/agreements/{agreement.id}", {"spend_cap_micros": 10**12}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert LicenseAgreement.objects.get().spend_cap_micros == 5_000


@pytest.mark.parametrize("body", [{}, {"spend_cap_micros": -1}, {"spend_cap_micros": "5"}])
def test_a_bad_cap_is_400(provider, agent, make_collection, make_offer, agent_client, body):
    agreement = _held(provider, agent, make_collection, make_offer, cap=5_000)

    response = agent_client.patch(f"/api/v1/agreements/{agreement.id}", body, format="json")

    assert response.status_code == 400
    assert LicenseAgreement.objects.get().spend_cap_micros == 5_000


def test_a_cancelled_agreements_cap_is_409(
    provider, agent, make_collection, make_offer, agent_client
):
    agreement = _held(provider, agent, make_collection, make_offer, cap=5_000)
    services.cancel_agreement(**acting_for(agent), agreement_id=agreement.id)

    response = agent_client.patch(
        f"/api/v1/agreements/{agreement.id}", {"spend_cap_micros": 9_000}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "agreement_not_active")
    assert LicenseAgreement.objects.get().spend_cap_micros == 5_000
