"""The provider's overview and licensees: metered, rated uses show as exact numbers, in the
charts' tables and their CSV exports, and only to the provider whose content was used."""

import csv
import io
import itertools
import re

import pytest
from django.test import Client
from django.utils import timezone

from billing import services as billing
from catalog.models import Collection, Document
from licensing import services as licensing
from tests.acting import acting_for

pytestmark = pytest.mark.django_db
_requests = itertools.count(1)


@pytest.fixture
def used(make_org):
    """A provider with two documents under a per-use offer, and an agent's two answers:
    one citing both documents (weights 60% and 40%), one retrieving one without citing it."""
    provider, owner = make_org(roles=("provider",), name="Northwind Press")
    agent, _ = make_org(roles=("agent",), name="Acme Agents")
    collection = Collection.objects.create(organization=provider, name="Energy")
    documents = [
        Document.objects.create(
            collection=collection, external_id=name, title=title, content_hash=name, status="ready"
        )
        for name, title in (("a.txt", "Heat pumps"), ("b.txt", "Insulation"))
    ]
    offer = licensing.create_offer(
        **acting_for(provider),
        name="Per source",
        terms=licensing.OfferTerms(
            collection_ids=(collection.id,),
            usage_types=("ai-input",),
            payment_type="use",
            price_micros=2000,
            price_unit="retrieved_source",
        ),
    )
    offer = licensing.publish_offer(**acting_for(provider), offer_id=offer.id)
    agreement = licensing.accept_offer(
        **acting_for(agent), offer_id=offer.id, spend_cap_micros=1_000_000
    )

    def use(document, weight, cited):
        return licensing.SourceUse(
            collection_id=collection.id,
            provider_id=provider.id,
            offer_version_id=offer.version_id,
            agreement_id=agreement.id,
            document_id=document.id,
            chunk_id=document.id,
            tokens=100,
            cited=cited,
            attribution_weight_ppm=weight,
        )

    for sources in (
        (use(documents[0], 600_000, True), use(documents[1], 400_000, True)),
        (use(documents[0], 0, False),),
    ):
        licensing.record_use(
            licensing.UseRecord(
                request_id=f"req-{next(_requests)}",
                agent_id=agent.id,
                usage_type="ai-input",
                sources=sources,
            )
        )
    billing.rate_usage()
    client = Client()
    client.force_login(owner)
    return provider, agent, client, documents


def _csv(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_overview_shows_uses_earnings_and_the_balance_exactly(used):
    provider, _, client, _ = used
    html = client.get(f"/orgs/{provider.id}/overview/?days=7").content.decode()
    # 3 uses at 2,000 micros; the platform takes 10% of each: 1,800 earned per use.
    assert '<span class="value" data-testid="answers-total">2</span>' in html
    assert '<span class="value" data-testid="earned-total">0.0054</span>' in html
    assert '<span class="value" data-testid="payable">0.0054</span>' in html
    assert html.count('<svg class="chart"') == 2
    assert "<title>" in html and "the highest is" in html


def test_every_overview_table_exports_exactly(used):
    provider, _, client, _ = used
    base = f"/orgs/{provider.id}/overview/?days=7&format=csv&table="
    today = timezone.now().date()
    daily = _csv(client, base + "daily")
    assert daily[0] == ["Day", "Answers", "Passages used", "Charged to agents", "Earned"]
    assert daily[1] == [today.isoformat(), "2", "3", "0.006", "0.0054"]
    assert len(daily) == 8
    assert all(row[1:] == ["0", "0", "0.00", "0.00"] for row in daily[2:])
    assert _csv(client, base + "documents") == [
        ["Document", "Answers", "Passages used", "Charged to agents"],
        ["Heat pumps", "2", "2", "0.004"],
        ["Insulation", "1", "1", "0.002"],
    ]
    assert _csv(client, base + "agents") == [
        ["Agent", "Answers", "Passages used", "Charged to agents"],
        ["Acme Agents", "2", "3", "0.006"],
    ]
    assert _csv(client, base + "attribution") == [
        ["Your sources' share of the answer", "Answers"],
        ["None (used, not cited)", "1"],
        ["Under 25%", "0"],
        ["25% to 50%", "0"],
        ["50% to 75%", "0"],
        ["75% to 100%", "1"],
    ]


def test_licensees_show_the_agent_its_agreement_and_spend(used):
    provider, _, client, _ = used
    [licensee] = licensing.list_licensees(**acting_for(provider))
    rows = _csv(client, f"/orgs/{provider.id}/licensees/?format=csv&table=licensees")
    assert rows == [
        [
            "Agent",
            "Offer",
            "Version",
            "Payment",
            "Status",
            "Agreed",
            "Since",
            "Ends or ended",
            "Spend cap",
            "Spent",
        ],
        [
            "Acme Agents",
            "Per source",
            "1",
            "Pay per use",
            "Active",
            "accepted",
            licensee.starts_at.strftime("%Y-%m-%d %H:%M"),
            "",
            "1.00",
            "0.006",
        ],
    ]
    page = client.get(f"/orgs/{provider.id}/licensees/").content.decode()
    assert "at least 30 days' notice" in page and "Give notice" in page


def test_a_provider_ends_an_agreement_with_notice_from_the_licensees_page(make_org, used):
    provider, _, client, _ = used
    [licensee] = licensing.list_licensees(**acting_for(provider))
    url = f"/orgs/{provider.id}/licensees/notice/"

    too_soon = client.post(url, {"agreement": licensee.agreement_id, "days": "5"}, follow=True)
    assert "Give between 30 and 3,650 days of notice." in too_soon.content.decode()
    given = client.post(url, {"agreement": licensee.agreement_id, "days": "30"}, follow=True)

    [after] = licensing.list_licensees(**acting_for(provider))
    assert after.notice_ends_at is not None
    page = given.content.decode()
    assert f"ends {after.notice_ends_at:%Y-%m-%d}" in page and "(notice given)" in page
    rival, owner = make_org(roles=("provider",), name="Rival")
    other = Client()
    other.force_login(owner)
    theirs = other.post(
        f"/orgs/{rival.id}/licensees/notice/", {"agreement": licensee.agreement_id, "days": "30"}
    )
    assert theirs.status_code == 404


def test_another_provider_sees_none_of_it_and_cannot_open_these_pages(make_org, used):
    provider, _, _, _ = used
    other, owner = make_org(roles=("provider",), name="Rival")
    client = Client()
    client.force_login(owner)
    assert client.get(f"/orgs/{provider.id}/overview/").status_code == 404
    assert client.get(f"/orgs/{provider.id}/licensees/").status_code == 404
    html = client.get(f"/orgs/{other.id}/overview/").content.decode()
    assert '<span class="value" data-testid="answers-total">0</span>' in html
    assert _csv(client, f"/orgs/{other.id}/licensees/?format=csv&table=licensees")[1:] == []


def test_earnings_leave_out_payouts_and_their_reversal(used):
    """Paying out moves the balance, not what was earned; a failed payout's reversal neither."""
    provider, _, client, _ = used
    now = timezone.now()
    payable = billing.org_account(provider.id, "provider_payable", "USD")
    clearing = billing.platform_account("stripe_clearing", "USD")
    payout = billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="test-payout-1",
            kind="payout",
            legs=(billing.debit(payable, 5000), billing.credit(clearing, 5000)),
            effective_at=now,
        )
    )
    billing.reverse_transaction(transaction_id=payout.id, memo="failed")
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="test-payout-2",
            kind="payout",
            legs=(billing.debit(payable, 1000), billing.credit(clearing, 1000)),
            effective_at=now,
        )
    )
    today = now.date()
    earned = billing.earnings_by_day(**acting_for(provider), since=today, until=today)
    assert [(e.day, e.currency, e.earned_micros) for e in earned] == [(today, "USD", 5400)]
    html = client.get(f"/orgs/{provider.id}/overview/?days=7").content.decode()
    assert '<span class="value" data-testid="earned-total">0.0054</span>' in html
    assert '<span class="value" data-testid="payable">0.0044</span>' in html


def test_a_days_chart_labels_every_fifth_day_and_the_last_without_crowding():
    from portal.charts import Bar, column_chart

    bars = [Bar(label=f"d{n}", value=n, text=str(n)) for n in range(30)]
    svg = str(column_chart(bars, chart_id="uses", title="Uses", every=5))

    labels = re.findall(r'<text x="[^"]+" y="\d+" text-anchor="(?:middle|end)">(d\d+)</text>', svg)
    assert labels == ["d0", "d5", "d10", "d15", "d20", "d29"]  # d25 would run into d29
