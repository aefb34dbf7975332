"""Ad money: what each event charges, how it is shared, once, and what stops it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ads import errors
from ads import services as ads
from ads.models import AdEvent, Campaign
from billing import services as billing
from billing.models import Account, Transaction
from licensing import services as licensing
from tests.acting import owner_of
from tests.ads.conftest import fund, meter, payable, prepaid, serve, wallet


@pytest.fixture(autouse=True)
def shares(settings):
    settings.ADS_PLATFORM_TAKE_BPS = 3000
    settings.ADS_AGENT_SHARE_BPS = 3000


def platform_revenue(currency="USD"):
    row = Account.objects.filter(
        organization__isnull=True, purpose="platform_revenue", currency=currency
    ).first()
    return 0 if row is None else -row.balance_micros


@pytest.fixture
def second_provider(make_org):
    org, _ = make_org(roles=("provider",), name="Southwind Review")
    return org


@pytest.fixture
def third_provider(make_org):
    org, _ = make_org(roles=("provider",), name="Eastwind Digest")
    return org


def test_largest_remainder_is_exact_and_gives_zero_weights_nothing():
    assert billing.largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert billing.largest_remainder(1001, [3000, 3000, 4000]) == [300, 300, 401]
    assert billing.largest_remainder(7, [0, 5, 0, 5]) == [0, 4, 0, 3]
    assert billing.largest_remainder(7, [0, 0]) == [0, 0]
    assert billing.largest_remainder(0, [1, 2]) == [0, 0]
    with pytest.raises(ValueError):
        billing.largest_remainder(5, [1, -1])


def test_an_ad_events_split_adds_up_to_the_micro_by_largest_remainder(provider, second_provider):
    sources = [
        licensing.SourceWeight(1, provider.id, 333_333),
        licensing.SourceWeight(2, second_provider.id, 666_667),
    ]

    split = billing.ad_revenue_split(amount_micros=1001, sources=sources)

    # 1001 x (30%, 30%, 40%) = 300.3, 300.3, 400.4: the spare micro goes to the sources' part;
    # 401 x (1/3, 2/3) = 133.67, 267.33: the spare micro goes to the larger remainder.
    assert split.platform_micros == 300
    assert split.agent_micros == 300
    assert dict(split.providers) == {provider.id: 134, second_provider.id: 267}


def test_a_providers_sources_are_added_up_before_the_split(provider, second_provider):
    sources = [
        licensing.SourceWeight(1, provider.id, 250_000),
        licensing.SourceWeight(2, second_provider.id, 500_000),
        licensing.SourceWeight(3, provider.id, 250_000),
    ]

    split = billing.ad_revenue_split(amount_micros=10_000, sources=sources)

    assert dict(split.providers) == {provider.id: 2000, second_provider.id: 2000}


def test_an_impression_charges_the_advertiser_and_pays_platform_agent_and_sources_by_weight(
    advertiser,
    agent,
    provider,
    second_provider,
    third_provider,
    approved_unit,
    license_of,
):
    fund(advertiser, 10_000_000)
    unit = approved_unit()
    request_id = meter(
        agent,
        [
            (license_of(provider, agent), 333_333),
            (license_of(second_provider, agent), 666_667),
            (license_of(third_provider, agent), 0),
        ],
    )

    # 1,001,999 micros per 1,000 served: 1,001.999 a serving, charged 1,001 (rounded down).
    serve(agent, request_id, [unit], prices=[1_001_999])
    run = ads.charge_ad_events()

    assert run.charged == 1
    assert prepaid(advertiser) == 10_000_000 - 1001
    assert platform_revenue() == 300
    assert wallet(agent) == 300
    assert payable(provider) == 134
    assert payable(second_provider) == 267
    assert payable(third_provider) == 0  # weight 0: nothing
    event = AdEvent.objects.get()
    assert (event.status, event.amount_micros) == ("charged", 1001)
    posted = Transaction.objects.get(id=event.transaction_id)
    assert (posted.kind, posted.external_ref) == ("ad_revenue", request_id)
    assert posted.idempotency_key == f"ad:impression:{event.serving_id}"
    assert Campaign.objects.get(id=unit.campaign_id).spent_micros == 1001
    assert billing.check_ledger().ok


def test_an_answer_no_source_grounded_leaves_the_sources_part_to_the_platform(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent), 0)])

    serve(agent, request_id, [unit], prices=[1_000_000])
    ads.charge_ad_events()

    assert prepaid(advertiser) == 1_000_000 - 1000
    assert (platform_revenue(), wallet(agent), payable(provider)) == (700, 300, 0)


def test_recording_an_answer_twice_serves_and_charges_once(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent), 1_000_000)])

    first = serve(agent, request_id, [unit])
    again = serve(agent, request_id, [unit], prices=[3_000_000])
    ads.charge_ad_events()
    ads.charge_ad_events()

    assert first.created and not again.created
    assert [s.id for s in again.servings] == [s.id for s in first.servings]
    assert again.servings[0].price_micros == 1_000_000  # the first record stands
    assert AdEvent.objects.count() == 1
    assert Transaction.objects.filter(kind="ad_revenue").count() == 1
    assert prepaid(advertiser) == 1_000_000 - 1000


def test_a_request_id_served_to_one_agent_is_refused_for_another(
    advertiser, agent, make_org, approved_unit
):
    other, _ = make_org(roles=("agent",))
    unit = approved_unit()
    serve(agent, "shared-request", [unit])

    with pytest.raises(errors.Conflict) as caught:
        serve(other, "shared-request", [unit])

    assert caught.value.code == "request_id_used"


def test_a_cpc_impression_is_free_and_its_click_pays_the_price(
    advertiser, agent, provider, approved_unit, license_of, client
):
    fund(advertiser, 1_000_000)
    unit = approved_unit(bid_type="cpc", max_bid_micros=50_000)
    request_id = meter(agent, [(license_of(provider, agent), 1_000_000)])
    (serving,) = serve(agent, request_id, [unit], prices=[40_000]).servings

    impression = AdEvent.objects.get(kind="impression")
    client.get(serving.click_path)
    ads.charge_ad_events()

    assert (impression.status, impression.amount_micros) == ("free", 0)
    click = AdEvent.objects.get(kind="click")
    assert (click.status, click.amount_micros) == ("charged", 40_000)
    assert prepaid(advertiser) == 1_000_000 - 40_000
    assert (platform_revenue(), wallet(agent), payable(provider)) == (12_000, 12_000, 16_000)


def test_the_charge_never_exceeds_the_budget_held_for_the_last_serving(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent), 1_000_000)])

    ads.record_serving(
        request_id=request_id,
        auction_id="a-1",
        agent_id=agent.id,
        winners=[
            ads.ServedUnit(
                unit_id=unit.id, unit_version=1, price_micros=2_000_000, max_charge_micros=7
            )
        ],
    )
    ads.charge_ad_events()

    assert AdEvent.objects.get().amount_micros == 7
    assert prepaid(advertiser) == 1_000_000 - 7


def test_when_the_prepaid_funds_cannot_pay_the_charge_is_refused_and_the_campaign_stops(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 4000)
    unit = approved_unit()
    agreement = license_of(provider, agent)
    requests = [meter(agent, [(agreement, 1_000_000)]) for _ in range(3)]
    for request_id in requests:
        serve(agent, request_id, [unit], prices=[2_000_000])  # 2,000 micros each

    run = ads.charge_ad_events()

    assert (run.charged, run.unfunded) == (2, 1)
    assert prepaid(advertiser) == 0  # never below
    statuses = list(AdEvent.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["charged", "charged", "unfunded"]
    campaign = Campaign.objects.get(id=unit.campaign_id)
    assert (campaign.status, campaign.spent_micros) == ("out_of_funds", 4000)
    assert unit.id not in {u.unit_id for u in ads.eligible_units()}
    assert Transaction.objects.filter(kind="ad_revenue").count() == 2
    assert billing.check_ledger().ok


def test_a_campaign_stopped_for_want_of_funds_resumes_once_they_hold_something(
    advertiser, agent, provider, approved_unit, license_of
):
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent), 1_000_000)])
    serve(agent, request_id, [unit])
    ads.charge_ad_events()
    actor = owner_of(advertiser)

    with pytest.raises(errors.CampaignOutOfFunds):
        ads.resume_campaign(actor=actor, campaign_id=unit.campaign_id)
    fund(advertiser, 1_000_000)
    resumed = ads.resume_campaign(actor=actor, campaign_id=unit.campaign_id)

    assert resumed.status == "active"


def test_an_event_past_its_campaigns_budget_charges_nothing(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 10_000_000)
    unit = approved_unit(max_bid_micros=2_000_000, campaign={"total_budget_micros": 2_000_000})
    Campaign.objects.filter(id=unit.campaign_id).update(spent_micros=1_999_000)
    agreement = license_of(provider, agent)
    fits, too_much = (meter(agent, [(agreement, 1_000_000)]) for _ in range(2))
    serve(agent, fits, [unit], prices=[1_000_000])  # 1,000: exactly what is left
    serve(agent, too_much, [unit], prices=[1_000_000])

    run = ads.charge_ad_events()

    assert (run.charged, run.over_budget) == (1, 1)
    assert Campaign.objects.get(id=unit.campaign_id).spent_micros == 2_000_000
    assert prepaid(advertiser) == 10_000_000 - 1000


def test_an_event_whose_answer_was_never_metered_waits_then_is_void(
    advertiser, agent, approved_unit, settings
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    serve(agent, "never-delivered", [unit])

    waiting = ads.charge_ad_events()
    later = timezone.now() + timedelta(seconds=settings.ADS_UNMETERED_VOID_S + 1)
    voided = ads.charge_ad_events(now=later)

    assert (waiting.waiting, voided.void) == (1, 1)
    assert AdEvent.objects.get().status == "void"
    assert prepaid(advertiser) == 1_000_000
    assert not Transaction.objects.filter(kind="ad_revenue").exists()


def test_one_answer_shows_its_licence_fees_and_its_ad_revenue_together(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent, price_micros=2000), 1_000_000)])
    serve(agent, request_id, [unit])

    billing.rate_usage()
    ads.charge_ad_events()
    found = billing.answer_transactions(request_id=request_id)

    assert [t.kind for t in found] == ["use", "ad_revenue"]
    provider_entries = [
        e.amount_micros for t in found for e in t.entries if e.organization_id == provider.id
    ]
    assert provider_entries == [-1800, -400]  # the fee less the take; the ad revenue's 40%
    assert billing.check_ledger().ok


def test_billing_check_finds_ad_revenue_not_paid_from_prepaid_funds(agent, advertiser):
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="ad:bogus",
            kind="ad_revenue",
            legs=(
                billing.debit(billing.org_account(agent.id, "agent_receivable", "USD"), 10),
                billing.credit(billing.platform_account("platform_revenue", "USD"), 10),
            ),
            effective_at=timezone.now(),
        )
    )

    report = billing.check_ledger()

    assert not report.ok
    assert any("advertiser's prepaid" in p for p in report.problems)


def test_a_recorded_impression_is_charged_once_the_recording_commits(
    advertiser, agent, provider, approved_unit, license_of, django_capture_on_commit_callbacks
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    request_id = meter(agent, [(license_of(provider, agent), 1_000_000)])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        serve(agent, request_id, [unit])

    assert len(callbacks) == 1  # the charging task, run eagerly
    assert AdEvent.objects.get().status == "charged"
    assert prepaid(advertiser) == 1_000_000 - 1000


def test_the_periodic_tasks_are_registered_and_run(db):
    from ads import tasks
    from config.celery import app

    app.loader.import_default_modules()
    for name in ("ads.charge_ad_events", "ads.purge_auction_traces"):
        assert name in app.tasks
    assert tasks.charge_ad_events() == {
        "charged": 0,
        "unfunded": 0,
        "over_budget": 0,
        "void": 0,
        "waiting": 0,
    }
    assert tasks.purge_auction_traces() == 0


def test_a_campaigns_spend_of_record_counts_charged_and_pending_events(
    advertiser, agent, provider, approved_unit, license_of
):
    fund(advertiser, 1_000_000)
    unit = approved_unit()
    agreement = license_of(provider, agent)
    serve(agent, meter(agent, [(agreement, 1_000_000)]), [unit], prices=[2_000_000])
    ads.charge_ad_events()  # 2,000 charged
    serve(agent, meter(agent, [(agreement, 1_000_000)]), [unit], prices=[3_000_000])  # pending

    (spend,) = ads.campaign_spend(campaign_ids=[unit.campaign_id], day=timezone.now().date())
    (yesterday,) = ads.campaign_spend(
        campaign_ids=[unit.campaign_id], day=timezone.now().date() - timedelta(days=1)
    )

    assert (spend.spent_micros, spend.spent_on_day_micros) == (5000, 5000)
    assert (yesterday.spent_micros, yesterday.spent_on_day_micros) == (5000, 0)
    assert spend.total_budget_micros == 100_000_000
