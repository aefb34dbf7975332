"""Licensing services check who acts themselves: another tenant's actor or ids are refused, and
nothing is written."""

import pytest

from accounts import services as accounts
from catalog.models import Document
from licensing import errors, services
from licensing.models import AnswerRecord, LicenseAgreement, LicenseOffer, OfferVersion
from tests.acting import acting_for, owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_of(make_key):
    """Return a function giving a new API key of `org` with `scopes`, as the interfaces act."""

    def make(org, *scopes) -> accounts.Actor:
        raw_key = make_key(org, scopes=list(scopes))
        return accounts.actor_for_key(accounts.authenticate_api_key(raw_key=raw_key))

    return make


def _offer_rows(offer_id) -> tuple:
    offer = LicenseOffer.objects.get(id=offer_id)
    versions = OfferVersion.objects.filter(offer_id=offer_id).count()
    return offer.name, offer.status, offer.auto_accept, offer.current_version_id, versions


@pytest.fixture
def rival(make_org):
    org, _owner = make_org(roles=("provider",), name="Rival Press")
    return org


@pytest.fixture
def other_agent(make_org):
    org, _owner = make_org(roles=("agent",), name="Other Agents")
    return org


def test_another_provider_cannot_see_or_change_an_offer(
    provider, rival, make_collection, make_offer
):
    draft = make_offer(provider, [make_collection(provider)], publish=False)
    before = _offer_rows(draft.id)
    theirs = acting_for(rival)

    attempts = [
        lambda: services.get_offer(**theirs, offer_id=draft.id),
        lambda: services.update_offer(
            **theirs, offer_id=draft.id, name="Mine now", changes={"price_micros": 1}
        ),
        lambda: services.publish_offer(**theirs, offer_id=draft.id),
        lambda: services.retire_offer(**theirs, offer_id=draft.id),
    ]
    for attempt in attempts:
        with pytest.raises(errors.NotFound):
            attempt()

    assert services.list_offers(**theirs) == []
    assert _offer_rows(draft.id) == before


def test_acting_for_an_organization_one_does_not_belong_to_is_404(
    provider, rival, make_collection, make_offer, key_of
):
    offer = make_offer(provider, [make_collection(provider)])
    before = _offer_rows(offer.id)
    as_member = {"actor": owner_of(rival), "organization_id": provider.id}
    as_key = {"actor": key_of(rival, accounts.LICENSING), "organization_id": provider.id}

    for theirs in (as_member, as_key):
        with pytest.raises(errors.NotFound):
            services.list_offers(**theirs)
        with pytest.raises(errors.NotFound):
            services.retire_offer(**theirs, offer_id=offer.id)
        with pytest.raises(errors.NotFound):
            services.create_offer(
                **theirs,
                name="Planted",
                terms=services.OfferTerms(
                    collection_ids=offer.terms.collection_ids,
                    usage_types=("ai-input",),
                    payment_type="free",
                ),
            )

    assert _offer_rows(offer.id) == before
    assert LicenseOffer.objects.count() == 1


def test_an_offer_over_another_providers_collection_is_refused(provider, rival, make_collection):
    theirs = make_collection(rival)

    with pytest.raises(errors.NotFound):
        services.create_offer(
            **acting_for(provider),
            name="Borrowed",
            terms=services.OfferTerms(
                collection_ids=(theirs.id,), usage_types=("ai-input",), payment_type="free"
            ),
        )

    assert LicenseOffer.objects.count() == 0


def test_another_agent_cannot_see_or_cancel_an_agreement(
    provider, agent, other_agent, make_collection, make_offer
):
    offer = make_offer(provider, [make_collection(provider)])
    agreement = services.accept_offer(**acting_for(agent), offer_id=offer.id)
    theirs = acting_for(other_agent)

    with pytest.raises(errors.NotFound):
        services.get_agreement(**theirs, agreement_id=agreement.id)
    with pytest.raises(errors.NotFound):
        services.cancel_agreement(**theirs, agreement_id=agreement.id)
    with pytest.raises(errors.NotFound):
        services.cancel_agreement(
            actor=owner_of(other_agent), organization_id=agent.id, agreement_id=agreement.id
        )

    assert services.list_agreements(**theirs) == []
    assert services.list_entitlements(**theirs, usage_type="ai-input").terms == ()
    row = LicenseAgreement.objects.get(id=agreement.id)
    assert (row.status, row.cancelled_at, row.agent_id) == ("active", None, agent.id)


def test_each_side_needs_its_role(provider, agent, make_collection, make_offer):
    offer = make_offer(provider, [make_collection(provider)])
    before = _offer_rows(offer.id)

    with pytest.raises(errors.PermissionDenied) as as_agent:
        services.retire_offer(**acting_for(agent), offer_id=offer.id)
    with pytest.raises(errors.PermissionDenied) as as_provider:
        services.accept_offer(**acting_for(provider), offer_id=offer.id)

    assert (as_agent.value.code, as_provider.value.code) == ("wrong_role", "wrong_role")
    assert as_agent.value.message == "This needs an organization with the provider role."
    assert _offer_rows(offer.id) == before
    assert LicenseAgreement.objects.count() == 0


def test_a_key_needs_the_licensing_scope_to_change_licences(
    provider, agent, make_collection, make_offer, key_of
):
    offer = make_offer(provider, [make_collection(provider)])
    before = _offer_rows(offer.id)
    query_only = key_of(agent, accounts.QUERY)

    refusals = []
    for attempt in (
        lambda: services.retire_offer(actor=key_of(provider, accounts.CATALOG), offer_id=offer.id),
        lambda: services.accept_offer(actor=query_only, offer_id=offer.id),
    ):
        with pytest.raises(errors.PermissionDenied) as refused:
            attempt()
        refusals.append((refused.value.status, refused.value.code))

    assert refusals == [(403, "insufficient_scope")] * 2
    assert _offer_rows(offer.id) == before
    assert LicenseAgreement.objects.count() == 0
    # Reading what it could license is part of asking: a query key sees the market.
    assert [o.id for o in services.list_market_offers(actor=query_only)] == [offer.id]


def test_usage_of_another_organization_is_404(provider, rival, agent, other_agent, key_of):
    for role, mine, theirs in (
        (accounts.AGENT, agent, other_agent),
        (accounts.PROVIDER, provider, rival),
    ):
        with pytest.raises(errors.NotFound):
            services.summarize_usage(actor=owner_of(theirs), organization_id=mine.id, role=role)
        with pytest.raises(errors.NotFound):
            services.list_usage(
                actor=key_of(theirs, accounts.LICENSING), organization_id=mine.id, role=role
            )


def test_a_member_of_two_agents_names_the_one_they_act_for(
    provider, agent, make_org, make_collection, make_offer
):
    offer = make_offer(provider, [make_collection(provider)])
    member = agent.memberships.get(role="owner").user
    second, _ = make_org(roles=("agent",), name="Second Agents", owner=member)
    actor = accounts.actor_for_user(user_id=member.pk)

    with pytest.raises(errors.ValidationFailed) as unnamed:
        services.accept_offer(actor=actor, offer_id=offer.id)
    agreement = services.accept_offer(actor=actor, organization_id=second.id, offer_id=offer.id)

    assert unnamed.value.code == "organization_required"
    assert agreement.agent_id == second.id
    assert list(LicenseAgreement.objects.values_list("agent_id", flat=True)) == [second.id]


def test_paid_content_is_fetched_only_for_the_actors_own_agent(
    provider, agent, other_agent, make_collection, make_offer, key_of
):
    collection = make_collection(provider)
    make_offer(provider, [collection], price_micros=3000)
    document = Document.objects.get(collection=collection)
    fetch = {"document_id": document.id, "max_price_micros": 10_000}

    with pytest.raises(errors.NotFound):
        services.fetch_licensed_content(
            actor=owner_of(other_agent), organization_id=agent.id, **fetch
        )
    with pytest.raises(errors.PermissionDenied) as as_provider:
        services.fetch_licensed_content(**acting_for(provider), **fetch)
    with pytest.raises(errors.PermissionDenied) as query_only:
        services.fetch_licensed_content(actor=key_of(agent, accounts.QUERY), **fetch)

    assert as_provider.value.code == "wrong_role"
    assert query_only.value.code == "insufficient_scope"  # accepting the offer needs licensing
    assert LicenseAgreement.objects.count() == 0
    assert AnswerRecord.objects.count() == 0

    grant = services.fetch_licensed_content(
        actor=key_of(agent, accounts.QUERY, accounts.LICENSING), **fetch
    )
    assert (grant.document_id, grant.charged_micros) == (document.id, 3000)
    assert list(LicenseAgreement.objects.values_list("agent_id", flat=True)) == [agent.id]
