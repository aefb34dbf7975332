"""The usage report counts answers, searches and content fetches apart."""

import pytest

from catalog.models import Document
from tests.marketplace.test_answers_api import HEAT_QUESTION

pytestmark = pytest.mark.django_db


def test_usage_report_counts_each_kind_of_request_apart(market, agent_client):
    document = Document.objects.filter(collection=market.energy).first()
    assert (
        agent_client.post("/api/v1/answers", {"question": HEAT_QUESTION}, format="json").status_code
        == 200
    )
    assert agent_client.get("/api/v1/search", {"q": "heat pump freezing"}).status_code == 200
    assert agent_client.get(f"/api/v1/documents/{document.id}/content").status_code == 200

    report = agent_client.get("/api/v1/usage").json()

    totals = report["totals"]
    assert (totals["answers"], totals["searches"], totals["content_fetches"]) == (1, 1, 1)
    by_type = {row["usage_type"]: row for row in report["by_usage_type"]}
    assert (by_type["search"]["answers"], by_type["search"]["searches"]) == (0, 1)
    assert (
        by_type["ai-input"]["answers"],
        by_type["ai-input"]["searches"],
        by_type["ai-input"]["content_fetches"],
    ) == (1, 0, 1)
