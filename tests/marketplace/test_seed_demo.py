"""seed_demo: providers with real articles, offers of every payment type, an agent with licences,
working examples, and a second run that duplicates nothing."""

import io
import json
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import APIKey, Membership, Organization, User
from ads.models import AdUnit, Campaign
from catalog import services as catalog_services
from catalog.models import Chunk, Collection, Document, IngestionJob
from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement, LicenseOffer, OfferVersion
from marketplace.demo import CONTENT_DIR
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

PROVIDERS = {
    "Northwind Press": {"Energy & Climate Explainers", "History Desk"},
    "Meridian Health & Science": {"Health Explainers", "Research Roundups"},
    "Wayfarer Guides": {"Kitchen Science", "Travel Guides"},
    "Stackwise Docs": {"Web Platform Guides", "Python Internals"},
}
ACCEPTED = {
    "Explainers, pay per retrieved source": 5_000_000,
    "Health Explainers, pay per cited source": 10_000_000,
    "Kitchen Science, per 1,000 tokens": None,
    "Travel Guides, free": None,
    "Developer docs, 20% revenue share": None,
    "Northwind archive, training licence": None,  # ai-train only: no answer uses it
}
QUESTIONS = [
    (
        "How does a heat pump keep working in freezing weather?",
        "How a heat pump keeps a home warm, even in freezing weather",
    ),
    ("Why does sourdough rise?", "Why sourdough rises: the wild yeast and bacteria in a starter"),
    (
        "What does Cache-Control no-cache mean?",
        "HTTP caching headers: Cache-Control, ETag and revalidation",
    ),
    (
        "How does caffeine keep you awake?",
        "Why caffeine keeps you awake, and how long it lasts",
    ),
    (
        "Why can't Python threads run in parallel? The GIL",
        "Python's GIL: what the global interpreter lock does and how to work around it",
    ),
    (
        "How do the Panama Canal locks lift ships?",
        "The Panama Canal: how it was built and how its locks lift ships",
    ),
    (
        "How do I prevent altitude sickness?",
        "Altitude sickness: how to recognise it and how to prevent it",
    ),
]


@pytest.fixture(autouse=True)
def _isolated_index_and_fast_hashing(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _key(output: str) -> str:
    return re.search(r"^PROVENANT_API_KEY=(\S+)$", output, re.M).group(1)


def _agent_id():
    return Organization.objects.get(name="Acme Agents").id


def _counts() -> dict[str, int]:
    models = (
        User,
        Organization,
        Membership,
        Collection,
        Document,
        Chunk,
        IngestionJob,
        LicenseOffer,
        OfferVersion,
        LicenseAgreement,
        Campaign,
        AdUnit,
    )
    return {model.__name__: model.objects.count() for model in models}


def test_seed_prints_a_working_key_and_examples_and_is_repeatable():
    first = _seed()
    second = _seed()

    raw_first, raw_second = _key(first), _key(second)
    assert Organization.objects.count() == 7  # 4 providers, an agent, 2 advertisers
    assert APIKey.objects.filter(revoked_at__isnull=True).count() == 1
    auth = f'-H "Authorization: Bearer {raw_second}"'
    host = "http://127.0.0.1:8000"
    assert f"curl -s {auth} {host}/api/v1/organizations" in second
    assert (
        f'curl -s -X POST {host}/api/v1/answers {auth} -H "Content-Type: application/json" '
        '-d \'{"question": "How does a heat pump keep working in freezing weather?"}\''
    ) in second
    assert f'curl -s "{host}/api/v1/search?q=why+does+sourdough+rise" {auth}' in second
    assert f'OpenAI(base_url="{host}/v1", api_key="{raw_second}")' in second
    assert 'client.chat.completions.create(model="provenant", messages=[' in second
    assert "print(r.choices[0].message.content)" in second
    assert (
        f"PROVENANT_API_KEY={raw_second} .venv/bin/python examples/mcp_ask.py "
        '"How does caffeine keep you awake?"'
    ) in second
    assert "agent@demo.provenant.dev / provenant-demo   (Acme Agents)" in second
    assert f"curl -s {host}/api/v1/usage {auth}" in second
    assert (
        f"log in at {host}/login/ as provider@demo.provenant.dev and open "
        f"{host}/api/v1/provider/usage/events"
    ) in second
    assert "provider@demo.provenant.dev / provenant-demo   (Northwind Press)" in second

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_second}")
    response = client.get("/api/v1/organizations")
    assert response.status_code == 200
    assert [o["name"] for o in response.json()] == ["Acme Agents"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_first}")
    assert client.get("/api/v1/organizations").status_code == 401


def test_every_printed_example_gets_a_cited_metered_answer():
    from marketplace.management.commands.seed_demo import (
        ANSWER_QUESTION,
        CHAT_QUESTION,
        MCP_QUESTION,
        SEARCH_QUERY,
    )

    output = _seed()
    for question in (ANSWER_QUESTION, CHAT_QUESTION, MCP_QUESTION, SEARCH_QUERY):
        assert json.dumps(question)[1:-1] in output or question.replace(" ", "+") in output
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(output)}")

    answer = client.post("/api/v1/answers", {"question": ANSWER_QUESTION}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["citations"] and answer.json()["cost"]["total_micros"] > 0
    chat = client.post(
        "/v1/chat/completions",
        {"model": "provenant", "messages": [{"role": "user", "content": CHAT_QUESTION}]},
        format="json",
    )
    assert chat.status_code == 200, chat.json()
    assert re.search(r"\[\d+\]", chat.json()["choices"][0]["message"]["content"])
    search = client.get("/api/v1/search", {"q": SEARCH_QUERY})
    assert search.status_code == 200, search.json()
    assert search.json()["results"]
    mcp = client.post("/api/v1/answers", {"question": MCP_QUESTION}, format="json")
    assert mcp.status_code == 200, mcp.json()  # what examples/mcp_ask.py asks, through REST
    # Besides the seed's own first answers (rated into the ledger: tests/billing).
    assert AnswerRecord.objects.exclude(request_id__startswith="demo-").count() == 4
    provider = APIClient()
    assert provider.login(username="provider@demo.provenant.dev", password="provenant-demo")
    earned = provider.get("/api/v1/provider/usage/events").json()["results"]
    assert earned and all(e["provider_id"] == earned[0]["provider_id"] for e in earned)
    assert sum(e["amount_micros"] for e in earned) > 0


def test_seed_creates_providers_with_real_articles():
    _seed()

    providers = Organization.objects.filter(is_provider=True)
    assert {
        org.name: set(org.collections.values_list("name", flat=True)) for org in providers
    } == PROVIDERS
    files = sorted(CONTENT_DIR.glob("*/*/*.md"))
    assert len(files) == 33
    documents = Document.objects.select_related("collection__organization")
    assert documents.count() == 33
    assert documents.filter(status=Document.Status.READY).count() == 33
    domains = {
        "Northwind Press": "https://northwind-press.example/",
        "Meridian Health & Science": "https://meridian-health.example/",
        "Wayfarer Guides": "https://wayfarer-guides.example/",
        "Stackwise Docs": "https://stackwise-docs.example/",
    }
    for document in documents:
        assert document.source_url.startswith(domains[document.collection.organization.name])
        assert document.external_id == document.source_url
        assert document.title and document.author and document.published_at is not None
        assert 200 <= len(document.text.split()) <= 600, document.title
        assert "lorem" not in document.text.lower()
        assert document.chunks.count() >= 2
    heat_pump = documents.get(title__startswith="How a heat pump")
    assert heat_pump.author == "Dana Whitfield"
    assert heat_pump.published_at.date().isoformat() == "2024-11-18"
    assert heat_pump.collection.name == "Energy & Climate Explainers"


def test_questions_find_the_article_that_answers_them():
    _seed()
    collection_ids = list(Collection.objects.values_list("id", flat=True))

    for question, title in QUESTIONS:
        hits = catalog_services.search_chunks(query=question, collection_ids=collection_ids, k=5)
        assert hits, question
        assert hits[0].document_title == title, (question, [h.document_title for h in hits])


def test_offers_cover_every_payment_type():
    _seed()

    offers = licensing.list_published_offers(agent_id=None)
    assert len(offers) == 8
    assert LicenseOffer.objects.exclude(status="published").count() == 0
    by_type: dict[str, list] = {}
    for offer in offers:
        by_type.setdefault(offer.terms.payment_type, []).append(offer)
    assert sorted(by_type) == [
        "attribution",
        "free",
        "purchase",
        "revenue_share",
        "subscription",
        "use",
    ]
    assert sorted((o.terms.price_unit, o.terms.price_micros) for o in by_type["use"]) == [
        ("1k_tokens", 1_000),
        ("cited_source", 5_000),
        ("retrieved_source", 2_000),
    ]
    (subscription,) = by_type["subscription"]
    assert (subscription.terms.period, subscription.terms.price_micros) == ("month", 49_000_000)
    (share,) = by_type["revenue_share"]
    assert share.terms.revenue_share_bps == 2_000
    (purchase,) = by_type["purchase"]
    assert purchase.terms.usage_types == ("ai-train",)
    assert purchase.terms.price_micros == 1_500_000_000
    (attribution,) = by_type["attribution"]
    assert attribution.terms.citation_required is True
    for offer in offers:
        if offer.terms.payment_type != "purchase":
            assert {"ai-input", "search"} <= set(offer.terms.usage_types), offer.name
    assert sorted(o.terms.max_snippet_chars for o in offers if o.terms.max_snippet_chars) == [
        500,
        800,
    ]
    assert sorted(o.name for o in offers if o.auto_accept) == [
        "History Desk, free with attribution",
        "Travel Guides, free",
    ]


def test_agent_is_licensed_for_every_collection_but_research_roundups():
    _seed()
    agent_id = _agent_id()

    agent = Organization.objects.get(id=agent_id)
    agreements = licensing.list_agreements(**acting_for(agent), status="active")
    assert {a.offer.name: a.spend_cap_micros for a in agreements} == ACCEPTED
    research = Collection.objects.get(name="Research Roundups")
    expected = set(Collection.objects.exclude(id=research.id).values_list("id", flat=True))
    for usage_type in ("ai-input", "search"):
        entitlements = licensing.get_entitlements(agent_id=agent_id, usage_type=usage_type)
        assert set(entitlements.collection_ids) == expected
    (research_offer,) = licensing.list_published_offers(
        agent_id=agent_id, collection_id=research.id
    )
    assert research_offer.auto_accept is False
    assert research_offer.name not in ACCEPTED


def test_printed_402_example_is_refused_and_a_licensed_document_is_served():
    output = _seed()
    match = re.search(r"curl -si \S+/api/v1/documents/(\d+)/content .*# 402", output)
    document = Document.objects.get(id=int(match.group(1)))
    assert document.collection.name == "Research Roundups"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(output)}")
    response = client.get(f"/api/v1/documents/{document.id}/content")
    assert response.status_code == 402
    assert response.json()["code"] == "payment_required"
    travel = Document.objects.filter(collection__name="Travel Guides").order_by("id").first()
    response = client.get(f"/api/v1/documents/{travel.id}/content")
    assert response.status_code == 200
    assert response.content.decode() == travel.text


def test_second_run_duplicates_nothing():
    first = _seed()
    before = _counts()
    versions = dict(Document.objects.values_list("id", "version"))

    second = _seed()

    assert _counts() == before
    assert before == {
        "User": 8,  # an owner per organization and the demo operator
        "Organization": 7,
        "Membership": 7,
        "Collection": 8,
        "Document": 33,
        "Chunk": before["Chunk"],
        "IngestionJob": 8,
        "LicenseOffer": 8,
        "OfferVersion": 8,
        "LicenseAgreement": 6,
        "Campaign": 4,
        "AdUnit": 5,
    }
    assert set(AdUnit.objects.values_list("review_state", flat=True)) == {"approved"}
    funds = "prepaid funds: Brightside Ads $50.00, Fieldnote Outfitters $50.00."  # granted once
    assert funds in first and funds in second
    assert dict(Document.objects.values_list("id", "version")) == versions
    assert "33 documents (33 ingested now)" in first
    assert "33 documents (0 ingested now)" in second
    assert APIKey.objects.count() == 2
    assert APIKey.objects.filter(revoked_at__isnull=True).count() == 1


def test_the_printed_sponsored_example_gets_a_labelled_item_beside_the_same_answer_and_pays(
    django_capture_on_commit_callbacks,
):
    from billing import services as billing
    from marketplace.management.commands.seed_demo import ANSWER_QUESTION

    output = _seed()
    line = next(x for x in output.splitlines() if '"allow_sponsored": true' in x)
    body = json.loads(re.search(r"-d '(\{.*\})'", line).group(1))
    assert body == {"question": ANSWER_QUESTION, "allow_sponsored": True}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(output)}")
    brightside = Organization.objects.get(name="Brightside Ads")
    northwind = Organization.objects.get(name="Northwind Press")
    agent = Organization.objects.get(name="Acme Agents")

    def balance(org):
        return billing.balance_of(organization_id=org.id).currencies[0]

    before = {org.name: balance(org) for org in (brightside, northwind, agent)}
    plain = client.post("/api/v1/answers", {"question": ANSWER_QUESTION}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):  # the impression is charged on commit
        sponsored = client.post("/api/v1/answers", body, format="json").json()

    assert plain["sponsored"] == []
    assert (sponsored["answer"], sponsored["citations"]) == (plain["answer"], plain["citations"])
    assert sponsored["attribution"] == plain["attribution"]
    (item,) = sponsored["sponsored"]
    assert item["label"] == "Sponsored"
    assert item["advertiser"]["name"] == item["paid_by"]["name"] == "Brightside Ads"
    assert item["title"] == "Heat pumps, installed in a week"
    assert item["context_use"] == "presentation_only"

    reporter = APIClient()
    assert reporter.login(username="advertiser@demo.provenant.dev", password="provenant-demo")
    report = reporter.get("/api/v1/ads/reports").json()
    spend = report["totals"]["spend_micros"]
    assert report["totals"]["impressions"] == 1
    assert spend > 0
    paid = (
        before["Brightside Ads"].advertiser_prepaid_micros
        - balance(brightside).advertiser_prepaid_micros
    )
    agent_share = balance(agent).wallet_micros - before["Acme Agents"].wallet_micros
    provider_share = balance(northwind).payable_micros - before["Northwind Press"].payable_micros
    # The platform's take and the agent's share (30% each by default), the rest to the sources
    # that grounded the answer (all Northwind Press's), exact to the micro.
    platform, agent_part, sources = billing.largest_remainder(spend, [3_000, 3_000, 4_000])
    assert (paid, agent_share, provider_share) == (spend, agent_part, sources)
    assert provider_share > 0 and platform > 0
