"""Inputs that once brought a 500 or a wrong answer: each is a 4xx in the one error format."""

import json
from uuid import uuid4

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from catalog.models import Document
from core.api.errors import csrf_failure
from licensing.models import AnswerRecord, UsageEvent
from tests.acting import acting_for

pytestmark = pytest.mark.django_db

SERVER_ERROR = "server_error"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) >= {"code", "message", "details"}
    return body


@pytest.fixture
def provider_key(make_org, key_client):
    org, _ = make_org(roles=("provider",), name="Northwind Press")
    return org, key_client(org, scopes=["catalog", "licensing"])


@pytest.fixture
def agent_key(make_org, key_client):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    return org, key_client(org, scopes=["query", "licensing"])


@pytest.mark.parametrize("value", ["", "not-a-uuid", "12"])
def test_collections_with_a_malformed_organization_id_is_400(provider_key, value):
    _org, client = provider_key

    response = client.get("/api/v1/collections", {"organization_id": value})

    assert response.status_code == 400
    assert _error(response)["details"] == {"organization_id": ["Must be a valid UUID."]}


@pytest.mark.parametrize(
    "query",
    [
        {"since": "9999-12-30", "until": "9999-12-31"},
        {"until": "0001-01-02"},
        {"since": "0001-01-01", "until": "0001-01-02"},
    ],
)
def test_usage_with_dates_at_the_calendar_edges_is_400(agent_key, query):
    _org, client = agent_key

    response = client.get("/api/v1/usage", query)

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"


def test_offer_with_an_integer_beyond_its_column_is_400(provider_key):
    org, client = provider_key
    from catalog.models import Collection

    collection = Collection.objects.create(organization=org, name="Energy")

    response = client.post(
        "/api/v1/offers",
        {
            "name": "Big",
            "collection_ids": [str(collection.id)],
            "usage_types": ["ai-input"],
            "payment_type": "attribution",
            "max_snippet_chars": 2147483648,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(_error(response)["details"]) == ["max_snippet_chars"]


@pytest.mark.parametrize("before_id", ["99999999999999999999", "9223372036854775808"])
def test_usage_events_page_beyond_a_bigint_is_400(agent_key, before_id):
    _org, client = agent_key

    response = client.get("/api/v1/usage/events", {"before_id": before_id})

    assert response.status_code == 400
    assert list(_error(response)["details"]) == ["before_id"]


@pytest.mark.parametrize("price", ["1e1000000", "USD 1e1000000", "99999999999999999999999"])
def test_content_with_an_enormous_crawler_max_price_is_400(agent_key, price):
    _org, client = agent_key

    response = client.get("/api/v1/documents/1/content", HTTP_CRAWLER_MAX_PRICE=price)

    assert response.status_code == 400
    assert _error(response)["details"] == {"crawler-max-price": ["At most 1000000000 USD."]}
    assert AnswerRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "authenticated"),
    [
        ("post", "/api/v1/receipts/verify", False),
        ("post", "/api/v1/answers", True),
        ("post", "/v1/chat/completions", True),
    ],
)
def test_json_nested_too_deep_is_400_before_anything_reads_it(
    agent_key, method, path, authenticated
):
    _org, client = agent_key
    client = client if authenticated else APIClient()

    response = getattr(client, method)(
        path, data='{"receipt": ' + _deep(1000) + "}", content_type="application/json"
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_json_nested_within_the_limit_is_read(agent_key):
    response = APIClient().post(
        "/api/v1/receipts/verify",
        data='{"receipt": ' + _deep(20) + "}",
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["valid"] is False


def test_json_body_over_the_upload_limit_is_413_in_the_error_format(agent_key, settings):
    _org, client = agent_key
    body = json.dumps({"question": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})

    response = client.post("/api/v1/answers", data=body, content_type="application/json")

    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"
    assert AnswerRecord.objects.count() == 0


def test_unauthenticated_json_body_over_the_limit_is_413(settings):
    body = json.dumps({"receipt": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})

    response = APIClient().post(
        "/api/v1/receipts/verify", data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/elsewhere", "/v1/nothing"])
def test_unsafe_methods_on_unknown_api_paths_are_json_404_not_a_csrf_page(method, path):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(path, data="{}", content_type="application/json")

    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "Not found.", "details": {}}


def test_session_request_without_a_csrf_token_is_a_json_403(make_org):
    _org, owner = make_org()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(
        "/api/v1/organizations", data='{"name": "X"}', content_type="application/json"
    )

    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_csrf_failure_view_answers_json_under_the_api_and_html_elsewhere():
    factory = RequestFactory()

    api = csrf_failure(factory.post("/api/v1/anything"), reason="CSRF cookie not set.")
    page = csrf_failure(factory.post("/accounts/login/"), reason="CSRF cookie not set.")

    assert api.status_code == page.status_code == 403
    assert json.loads(api.content) == {
        "code": "csrf_failed",
        "message": "CSRF check failed: CSRF cookie not set.",
        "details": {},
    }
    assert page["Content-Type"].startswith("text/html")


def test_method_not_allowed_outside_drf_is_json(make_org):
    response = Client().put("/api/schema/", data="{}", content_type="application/json")

    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_portal_pages_keep_their_html_errors():
    response = Client().get("/no-such-page")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_last_usage_page_has_no_next_before_id(
    agent_key, provider_key, make_org, key_client, settings
):
    from catalog.models import Chunk, Collection
    from licensing import services as licensing

    agent, client = agent_key
    provider, _ = provider_key
    collection = Collection.objects.create(organization=provider, name="Energy")
    for n in range(3):
        text = f"Document {n} about tides."
        document = Document.objects.create(
            collection=collection,
            external_id=f"d{n}",
            title=f"D{n}",
            content_hash=f"h{n}",
            status=Document.Status.READY,
            text=text,
        )
        Chunk.objects.create(
            document=document,
            collection=collection,
            ordinal=0,
            text=text,
            char_start=0,
            char_end=len(text),
            token_count=5,
        )
    offer = licensing.create_offer(
        **acting_for(provider),
        name="Free",
        auto_accept=True,
        terms=licensing.OfferTerms(
            collection_ids=(collection.id,), usage_types=("ai-input",), payment_type="attribution"
        ),
    )
    licensing.publish_offer(**acting_for(provider), offer_id=offer.id)
    licensing.accept_offer(**acting_for(agent), offer_id=offer.id)
    for document in Document.objects.all():
        assert client.get(f"/api/v1/documents/{document.id}/content").status_code == 200
    ids = list(UsageEvent.objects.order_by("-id").values_list("id", flat=True))

    first = client.get("/api/v1/usage/events", {"limit": 2}).json()
    last = client.get("/api/v1/usage/events", {"limit": 2, "before_id": ids[1]}).json()
    exact = client.get("/api/v1/usage/events", {"limit": 3}).json()

    assert ([e["id"] for e in first["results"]], first["next_before_id"]) == (ids[:2], ids[1])
    assert ([e["id"] for e in last["results"]], last["next_before_id"]) == (ids[2:], None)
    assert ([e["id"] for e in exact["results"]], exact["next_before_id"]) == (ids, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"usage_type": "ai-input", "cited": 0}, "cited"),
        ({"usage_type": "ai-input", "sources": "2"}, "sources"),
        ({"usage_type": 1}, "usage_type"),
    ],
)
def test_json_values_of_another_type_are_refused_not_coerced(agent_key, body, field):
    _org, client = agent_key

    response = client.post(f"/api/v1/market/offers/{uuid4()}/quote", body, format="json")

    assert response.status_code == 400
    assert list(_error(response)["details"]) == [field]


def test_list_items_of_another_type_are_refused(provider_key):
    _org, client = provider_key

    response = client.post("/api/v1/collections", {"name": "X", "topics": [0]}, format="json")

    assert response.status_code == 400
    assert _error(response)["details"] == {"topics": ["Must be of type string."]}


@pytest.mark.parametrize(
    ("path", "query"),
    [("/api/v1/market/offers", "usage_type="), ("/api/v1/usage", "until=")],
)
def test_empty_query_values_are_refused_not_ignored(agent_key, path, query):
    _org, client = agent_key

    response = client.get(f"{path}?{query}")

    assert response.status_code == 400


@pytest.mark.parametrize("status", ["", "pending"])
def test_agreements_with_an_unknown_status_filter_are_400(agent_key, status):
    _org, client = agent_key

    response = client.get(f"/api/v1/agreements?status={status}")

    assert response.status_code == 400
    assert list(_error(response)["details"]) == ["status"]


def test_a_patch_that_names_no_field_is_400_and_the_schema_says_so(make_org, key_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert schema["PatchedPriceCeilingsUpdateRequest"]["minProperties"] == 1
    assert schema["PatchedAgreementUpdateRequest"]["minProperties"] == 1
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    ceilings = paths["/api/v1/organizations/{organization_id}/price-ceilings"]["patch"]
    assert ceilings["requestBody"]["required"] is True

    org, _ = make_org(roles=["agent"])
    response = key_client(org, scopes=["licensing"]).patch(
        f"/api/v1/organizations/{org.id}/price-ceilings", {}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"] == {
        "non_field_errors": ["Send at least one of: per_source_micros, per_answer_micros."]
    }


def test_an_empty_paging_parameter_is_400_not_the_default(make_org, key_client):
    org, _ = make_org(roles=["provider"])
    client = key_client(org, scopes=["licensing"])
    for query in ("limit=", "before_id=", "before_id=&limit="):
        response = client.get(f"/api/v1/provider/usage/events?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "invalid"


def test_the_schemas_not_blank_pattern_agrees_with_how_text_is_trimmed():
    import re

    from core.api.schema import NOT_ONLY_WHITESPACE

    pattern = re.compile(NOT_ONLY_WHITESPACE)
    disagree = [
        hex(code)
        for code in range(0x110000)
        if bool(pattern.search(chr(code))) != bool(chr(code).strip())
    ]
    assert disagree == []
