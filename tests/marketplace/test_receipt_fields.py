"""Receipts bind what a provider needs to check its pay; verifying one says if it is metered."""

import hashlib

import pytest
from rest_framework.test import APIClient

from licensing import services as licensing
from licensing.models import LicenseAgreement, UsageEvent
from marketplace.services import receipts

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
SLEEP_QUESTION = "What happens to memory during deep sleep?"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _verify(receipt: dict) -> dict:
    return APIClient().post("/api/v1/receipts/verify", {"receipt": receipt}, format="json").json()


def test_an_answer_receipt_binds_question_answer_agent_and_each_sources_terms(market, agent_client):
    body = agent_client.post("/api/v1/answers", {"question": HEAT_QUESTION}, format="json").json()

    payload = body["receipt"]["payload"]
    assert payload["version"] == 2
    assert payload["agent_id"] == str(market.agent.id)
    assert payload["question_sha256"] == _sha256(HEAT_QUESTION)
    assert payload["answer_sha256"] == _sha256(body["answer"])
    events = {
        f"chunk_{e.chunk_id}": e for e in UsageEvent.objects.filter(answer__request_id=body["id"])
    }
    assert [s["source_id"] for s in payload["sources"]] == [s["id"] for s in body["sources"]]
    agreement = str(LicenseAgreement.objects.get(offer_id=market.energy_offer.id).id)
    for signed in payload["sources"]:
        event = events[signed["source_id"]]
        assert signed == {
            "source_id": signed["source_id"],
            "document_id": event.document_id,
            "provider_id": str(market.northwind.id),
            "offer_id": str(market.energy_offer.id),
            "offer_version": 1,
            "agreement_id": str(event.agreement_id),
            "payment_type": "use",
            "price_unit": "retrieved_source",
            "units": 1,
            "unit_price_micros": 2000,
            "amount_micros": 2000,
            "weight_ppm": event.attribution_weight_ppm,
            "cited": event.cited,
            "grounded": event.attribution_weight_ppm > 0,
        }
        assert signed["agreement_id"] == agreement
    assert _verify(body["receipt"]) == {"valid": True, "reason": "valid", "metered": True}


def test_an_altered_binding_does_not_verify(market, agent_client):
    body = agent_client.post("/api/v1/answers", {"question": HEAT_QUESTION}, format="json").json()

    for field, value in (
        ("agent_id", str(market.northwind.id)),
        ("answer_sha256", _sha256("another answer")),
        ("question_sha256", _sha256("another question")),
    ):
        altered = {**body["receipt"], "payload": {**body["receipt"]["payload"], field: value}}
        assert _verify(altered) == {
            "valid": False,
            "reason": "the signature does not match the payload",
            "metered": None,
        }


def test_a_receipt_whose_answer_was_unmetered_verifies_as_not_metered(market, agent_client):
    body = agent_client.post("/api/v1/answers", {"question": SLEEP_QUESTION}, format="json").json()

    licensing.void_use(request_id=body["id"])  # as a stream that broke off is undone

    assert _verify(body["receipt"]) == {"valid": True, "reason": "valid", "metered": False}


def test_a_version_1_receipt_signed_with_the_current_key_still_verifies(market, agent_client):
    body = agent_client.post("/api/v1/answers", {"question": HEAT_QUESTION}, format="json").json()
    version_1 = {
        key: body["receipt"]["payload"][key]
        for key in ("id", "created_at", "usage_type", "currency", "total_micros", "method")
    }
    version_1["sources"] = [
        {k: s[k] for k in ("source_id", "document_id", "provider_id", "offer_id", "weight_ppm")}
        for s in body["receipt"]["payload"]["sources"]
    ]

    receipt = receipts.sign_receipt(version_1)

    assert "version" not in receipt["payload"]
    assert _verify(receipt) == {"valid": True, "reason": "valid", "metered": True}
    assert _verify(receipts.sign_receipt({**version_1, "id": "ans_never"}))["metered"] is False


def test_a_search_receipt_binds_each_snippet_as_cited_and_grounded(market, agent_client):
    body = agent_client.get("/api/v1/search", {"q": "heat pump freezing", "limit": 2}).json()

    payload = body["receipt"]["payload"]
    assert (payload["usage_type"], payload["question_sha256"]) == (
        "search",
        _sha256("heat pump freezing"),
    )
    assert payload["answer_sha256"] == _sha256("")
    assert [(s["cited"], s["grounded"], s["amount_micros"]) for s in payload["sources"]] == [
        (True, True, 2000)
    ] * len(body["results"])
    assert _verify(body["receipt"])["metered"] is True
