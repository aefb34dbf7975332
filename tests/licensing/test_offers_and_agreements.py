import pytest

from licensing import errors, services
from licensing.models import LicenseAgreement, LicenseOffer, OfferVersion
from tests.acting import acting_for

pytestmark = pytest.mark.django_db


def test_editing_a_published_offer_makes_a_new_version_and_agreements_keep_theirs(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], price_micros=2000)
    agreement = services.accept_offer(**acting_for(agent), offer_id=offer.id)

    edited = services.update_offer(
        **acting_for(provider), offer_id=offer.id, changes={"price_micros": 5000}
    )

    assert (edited.version, edited.terms.price_micros) == (2, 5000)
    assert edited.versions == (1, 2)
    kept = services.get_agreement(**acting_for(agent), agreement_id=agreement.id)
    assert (kept.offer.version, kept.offer.terms.price_micros) == (1, 2000)
    terms = services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms
    assert [(t.version, t.price_micros) for t in terms] == [(1, 2000)]


def test_editing_a_draft_changes_it_in_place(provider, make_collection, make_offer):
    offer = make_offer(provider, [make_collection(provider)], publish=False)
    edited = services.update_offer(
        **acting_for(provider), offer_id=offer.id, changes={"price_micros": 7}
    )
    assert (edited.version, edited.terms.price_micros) == (1, 7)
    assert OfferVersion.objects.filter(offer_id=offer.id).count() == 1


def test_accepting_twice_returns_the_same_agreement(provider, agent, make_collection, make_offer):
    offer = make_offer(provider, [make_collection(provider)])
    first = services.accept_offer(**acting_for(agent), offer_id=offer.id)
    second = services.accept_offer(**acting_for(agent), offer_id=offer.id)
    assert first.id == second.id
    assert LicenseAgreement.objects.count() == 1


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"price_micros": -1}, "price_micros"),
        (
            {
                "payment_type": "revenue_share",
                "price_micros": 0,
                "revenue_share_bps": 10_001,
                "price_unit": "none",
            },
            "revenue_share_bps",
        ),
        ({"usage_types": ("ai-everything",)}, "usage_types"),
        ({"payment_type": "subscription", "price_unit": "period"}, "period"),
        ({"payment_type": "free", "price_micros": 5, "price_unit": "none"}, "price_micros"),
        ({"price_unit": "period"}, "price_unit"),
        ({"currency": "XYZ"}, "currency"),
        ({"territories": ("usa",)}, "territories"),
    ],
)
def test_invalid_terms_are_refused_and_nothing_is_written(
    provider, make_collection, make_offer, terms, field
):
    collection = make_collection(provider)
    with pytest.raises(errors.ValidationFailed) as raised:
        make_offer(provider, [collection], **terms)
    assert field in raised.value.details
    assert LicenseOffer.objects.count() == 0


def test_another_providers_collection_cannot_be_offered(
    make_org, provider, make_collection, make_offer
):
    other, _ = make_org(roles=("provider",))
    with pytest.raises(errors.NotFound):
        make_offer(provider, [make_collection(other)])
    assert LicenseOffer.objects.count() == 0


def test_retired_offers_cannot_be_accepted_and_denying_ones_are_not_found(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    retired = make_offer(provider, [collection], name="Old")
    services.retire_offer(**acting_for(provider), offer_id=retired.id)
    denying = make_offer(provider, [collection], name="Not you", denied_agent_org_ids=(agent.id,))

    with pytest.raises(errors.OfferNotAcceptable, match="retired"):
        services.accept_offer(**acting_for(agent), offer_id=retired.id)
    with pytest.raises(errors.NotFound):
        services.accept_offer(**acting_for(agent), offer_id=denying.id)
    assert LicenseAgreement.objects.count() == 0


def test_entitlements_follow_agreements_auto_accept_and_usage_types(
    provider, agent, make_collection, make_offer
):
    agreed, auto, training_only, unlicensed = (make_collection(provider) for _ in range(4))
    offer = make_offer(provider, [agreed], price_micros=3000)
    make_offer(
        provider,
        [auto],
        auto_accept=True,
        payment_type="attribution",
        price_micros=0,
        price_unit="none",
        name="Open",
    )
    make_offer(provider, [training_only], auto_accept=True, usage_types=("ai-train",), name="Train")
    services.accept_offer(**acting_for(agent), offer_id=offer.id)

    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")

    assert set(ent.collection_ids) == {agreed.id, auto.id}
    assert ent.for_collection(auto.id).agreement_id is None
    assert ent.for_collection(auto.id).citation_required is True
    assert ent.for_collection(unlicensed.id) is None
    train = services.get_entitlements(agent_id=agent.id, usage_type="ai-train")
    assert set(train.collection_ids) == {training_only.id}


def test_entitlements_change_at_once_when_an_agreement_is_cancelled(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection])
    agreement = services.accept_offer(**acting_for(agent), offer_id=offer.id)
    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").collection_ids

    services.cancel_agreement(**acting_for(agent), agreement_id=agreement.id)

    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input").terms == ()


def test_ai_all_and_all_cover_the_narrower_usages(provider, agent, make_collection, make_offer):
    collection = make_collection(provider)
    make_offer(provider, [collection], auto_accept=True, usage_types=("ai-all",))
    ent = services.get_entitlements
    assert ent(agent_id=agent.id, usage_type="ai-train").collection_ids == {collection.id}
    assert ent(agent_id=agent.id, usage_type="search").collection_ids == frozenset()


def test_quote_prices_each_unit(provider, agent, make_collection, make_offer):
    collection = make_collection(provider)
    per_source = make_offer(provider, [collection], price_micros=2500, name="A")
    per_tokens = make_offer(
        provider, [collection], price_micros=1000, price_unit="1k_tokens", name="B"
    )
    q1 = services.quote(**acting_for(agent), offer_id=per_source.id, sources=3)
    q2 = services.quote(**acting_for(agent), offer_id=per_tokens.id, sources=2, tokens=1500)
    assert (q1.units, q1.amount_micros) == (3, 7500)
    assert (q2.units, q2.amount_micros) == (3000, 3000)
