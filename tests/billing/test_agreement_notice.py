"""A provider ends an agent's agreement with notice: access ends then; a subscription runs to
the end of the last period that begins before then and is charged nothing past it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import Transaction
from licensing import errors as licensing_errors
from licensing import services as licensing
from licensing.models import LicenseAgreement
from licensing.services.cache import invalidate
from tests.acting import acting_for
from tests.billing.test_agreement_charges import MONTH, PRICE, funded, monthly  # noqa: F401

pytestmark = pytest.mark.django_db


def _entitled(agent, collection_id) -> bool:
    found = licensing.list_entitlements(**acting_for(agent), usage_type="ai-input")
    return collection_id in found.collection_ids


def test_a_per_use_agreement_ends_when_the_notice_does(agent, provider, make_offer, accept):
    offer = make_offer(provider, price_micros=2000)
    agreement = accept(agent, offer)
    collection = offer.terms.collection_ids[0]

    ended = licensing.give_notice(**acting_for(provider), agreement_id=agreement.id, days=30)

    row = LicenseAgreement.objects.get(id=agreement.id)
    assert row.notice_ends_at == ended.notice_ends_at == row.ends_at
    assert timedelta(days=29, hours=23) < row.ends_at - timezone.now() <= timedelta(days=30)
    assert _entitled(agent, collection)  # it runs as agreed until then
    LicenseAgreement.objects.filter(id=agreement.id).update(ends_at=timezone.now())  # then
    invalidate()  # the entitlement cache, as the notice's own write does
    assert not _entitled(agent, collection)


def test_a_subscription_is_not_renewed_past_its_notice(
    agent,
    provider,
    monthly,  # noqa: F811
    accept,
    funded,  # noqa: F811
):
    funded(3 * PRICE)
    subscription = accept(agent, monthly)
    starts = LicenseAgreement.objects.get(id=subscription.id).starts_at
    licensing.give_notice(**acting_for(provider), agreement_id=subscription.id, days=45)

    # The second period begins before the notice ends: charged, and runs its whole month.
    assert billing.charge_agreements(now=starts + MONTH + timedelta(minutes=1)).charged == 1
    # The third begins after: nothing is charged and the licence ends with the second.
    assert billing.charge_agreements(now=starts + 2 * MONTH + timedelta(minutes=1)).charged == 0

    assert Transaction.objects.filter(kind="subscription").count() == 2
    assert LicenseAgreement.objects.get(id=subscription.id).ends_at == starts + 2 * MONTH
    assert billing.check_ledger().ok


@pytest.mark.parametrize("days", [0, 29, 3651, -5])
def test_too_little_or_too_much_notice_is_refused(agent, provider, make_offer, accept, days):
    agreement = accept(agent, make_offer(provider, price_micros=2000))

    with pytest.raises(licensing_errors.ValidationFailed):
        licensing.give_notice(**acting_for(provider), agreement_id=agreement.id, days=days)

    assert LicenseAgreement.objects.get(id=agreement.id).notice_ends_at is None


def test_only_the_offers_provider_gives_notice(agent, provider, make_org, make_offer, accept):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    other, _ = make_org(roles=("provider",))

    for actor in (other, agent):
        with pytest.raises((licensing_errors.NotFound, licensing_errors.PermissionDenied)):
            licensing.give_notice(**acting_for(actor), agreement_id=agreement.id, days=30)

    assert LicenseAgreement.objects.get(id=agreement.id).notice_ends_at is None


def test_a_purchase_does_not_end_by_notice(agent, provider, make_offer, accept):
    billing.grant_credit(organization_id=agent.id, amount_micros=10_000_000, idempotency_key="p")
    purchase = make_offer(
        provider,
        payment_type="purchase",
        price_micros=5_000_000,
        price_unit="one_off",
        usage_types=("ai-train",),
    )
    agreement = accept(agent, purchase)

    with pytest.raises(licensing_errors.Conflict) as refused:
        licensing.give_notice(**acting_for(provider), agreement_id=agreement.id, days=30)

    assert refused.value.code == "purchase_not_ended"


def test_notice_over_the_api_and_another_providers_id(
    agent, provider, make_org, make_offer, accept, key_client
):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    other, _ = make_org(roles=("provider",))
    url = f"/api/v1/provider/agreements/{agreement.id}/notice"

    mine = key_client(provider, scopes=["licensing"]).post(url, {"days": 60}, format="json")
    theirs = key_client(other, scopes=["licensing"]).post(url, {"days": 60}, format="json")
    bad = key_client(provider, scopes=["licensing"]).post(url, {"days": "soon"}, format="json")

    assert mine.status_code == 200, mine.json()
    assert mine.json()["notice_ends_at"] is not None and mine.json()["agent_name"] == agent.name
    assert theirs.status_code == 404
    assert bad.status_code == 400
