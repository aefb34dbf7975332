"""Every operation in the schema names its scope, and only keys with that scope get past it."""

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts import services as accounts_services
from catalog.models import Chunk, Collection, Document
from core.api.schema import ANONYMOUS_EXTENSION, SCOPE_EXTENSION
from core.api.scopes import ANY_SCOPE, NO_AUTH
from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement
from marketplace import errors
from tests.acting import acting_for

pytestmark = pytest.mark.django_db


def _operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def _url(path: str, operation: dict) -> str:
    kinds = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "path"}

    def value(match):
        schema = kinds[match.group(1)]
        if schema.get("type") == "integer":
            return "1"
        if schema.get("format") == "uuid":
            return str(uuid.uuid4())
        return "provenant"

    return re.sub(r"\{(\w+)\}", value, path)


def test_every_operation_documents_its_scope():
    undocumented = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations()
        if operation.get(SCOPE_EXTENSION) not in (*accounts_services.SCOPES, ANY_SCOPE, NO_AUTH)
    ]

    assert undocumented == []


def test_only_keys_with_the_documented_scope_get_past_the_scope_check(make_org, key_client):
    org, _ = make_org(roles=("provider", "agent", "advertiser"))
    clients = {scope: key_client(org, scopes=[scope]) for scope in accounts_services.SCOPES}
    wrong = []
    for path, method, operation in _operations():
        required = operation[SCOPE_EXTENSION]
        url = _url(path, operation)
        for scope, client in clients.items():
            response = getattr(client, method)(url, data={}, format="json")
            refused = response.status_code == 403 and response.json().get("code") == (
                "insufficient_scope"
            )
            allowed = required in (ANY_SCOPE, NO_AUTH, scope)
            if refused == allowed:
                wrong.append((method.upper(), path, scope, response.status_code))
        anonymous = getattr(APIClient(), method)(url, data={}, format="json")
        keyless = required == NO_AUTH or operation.get(ANONYMOUS_EXTENSION, False)
        if (anonymous.status_code == 401) == keyless:
            wrong.append((method.upper(), path, "no key", anonymous.status_code))

    assert wrong == []


@pytest.fixture
def priced_document(make_org):
    provider, _ = make_org(roles=("provider",))
    collection = Collection.objects.create(organization=provider, name="Energy")
    text = "Tides follow the moon."
    document = Document.objects.create(
        collection=collection,
        external_id="d1",
        title="Tides",
        content_hash="h1",
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
        name="Per fetch",
        auto_accept=False,
        terms=licensing.OfferTerms(
            collection_ids=(collection.id,),
            usage_types=("ai-input",),
            payment_type="use",
            price_micros=3000,
            price_unit="retrieved_source",
        ),
    )
    licensing.publish_offer(**acting_for(provider), offer_id=offer.id)
    return document, offer


def test_query_only_key_cannot_accept_an_offer_through_crawler_max_price(
    make_org, key_client, priced_document
):
    document, offer = priced_document
    agent, _ = make_org(roles=("agent",))
    query_only = key_client(agent, scopes=["query"])

    response = query_only.get(
        f"/api/v1/documents/{document.id}/content", HTTP_CRAWLER_MAX_PRICE="USD 0.01"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert response.json()["details"] == {"offer_id": str(offer.id), "price_micros": 3000}
    assert LicenseAgreement.objects.count() == 0
    assert AnswerRecord.objects.count() == 0


def test_query_only_key_fetches_under_an_agreement_a_licensing_key_made(
    make_org, key_client, priced_document
):
    document, offer = priced_document
    agent, _ = make_org(roles=("agent",))
    key_client(agent, scopes=["licensing"]).post(f"/api/v1/market/offers/{offer.id}/accept")

    response = key_client(agent, scopes=["query"]).get(f"/api/v1/documents/{document.id}/content")

    assert response.status_code == 200
    assert response["crawler-charged"] == "USD 0.003000"
    assert LicenseAgreement.objects.count() == 1


@pytest.mark.parametrize("scope", ["billing", "query", "licensing"])
def test_keys_without_admin_cannot_list_members_emails(make_org, key_client, scope):
    org, _ = make_org(roles=("agent",))

    response = key_client(org, scopes=[scope]).get(f"/api/v1/organizations/{org.id}/members")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_member_listing_service_refuses_a_key_without_admin(make_org):
    org, _ = make_org(roles=("agent",))
    actor = accounts_services.actor_for_api_key(
        api_key_id=uuid.uuid4(), organization_id=org.id, scopes=["billing"]
    )

    with pytest.raises(errors.PermissionDenied) as error:
        accounts_services.list_members(actor=actor, organization_id=org.id)

    assert error.value.code == "insufficient_scope"


def test_the_one_scope_check_refuses_keys_not_members():
    key = accounts_services.actor_for_api_key(
        api_key_id=uuid.uuid4(), organization_id=uuid.uuid4(), scopes=["billing"]
    )
    member = accounts_services.actor_for_user(user_id=1)

    accounts_services.require_scope(member, "licensing")
    accounts_services.require_scope(key, "licensing", "billing")
    with pytest.raises(errors.PermissionDenied) as refused:
        accounts_services.require_scope(key, "licensing", "query")

    assert (refused.value.status, refused.value.code) == (403, "insufficient_scope")
    assert refused.value.message == "This API key lacks the 'licensing' or 'query' scope."


def test_a_key_acts_for_its_own_organization_only(make_org, key_client):
    agent, _ = make_org(roles=("agent",))
    other, _ = make_org(roles=("agent",))
    client = key_client(agent, scopes=["licensing"])

    own = client.get("/api/v1/agreements", HTTP_X_ORGANIZATION=str(agent.id))
    another = client.get("/api/v1/agreements", HTTP_X_ORGANIZATION=str(other.id))

    assert own.status_code == 200
    assert (another.status_code, another.json()["code"]) == (404, "not_found")


def test_a_member_acts_for_their_one_organization_with_the_role(make_org, api_client):
    provider, owner = make_org(roles=("provider",))
    agent, _ = make_org(roles=("agent",), owner=owner)
    api_client.force_login(owner)
    actor = accounts_services.actor_for_user(user_id=owner.pk)

    paths = ("/api/v1/offers", "/api/v1/provider/usage/events", "/api/v1/market/offers")
    statuses = [api_client.get(path).status_code for path in paths]
    acting = {
        role: accounts_services.acting_organization(actor=actor, role=role, scope="licensing").id
        for role in ("provider", "agent")
    }

    assert statuses == [200, 200, 200]
    assert acting == {"provider": provider.id, "agent": agent.id}


def test_a_member_of_two_agent_organizations_names_one(make_org, api_client):
    first, owner = make_org(roles=("agent",))
    second, _ = make_org(roles=("agent",), owner=owner)
    api_client.force_login(owner)

    unnamed = api_client.get("/api/v1/agreements")
    named = api_client.get("/api/v1/agreements", HTTP_X_ORGANIZATION=str(second.id))
    by_query = api_client.get("/api/v1/agreements", {"organization": str(first.id)})

    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "organization_required")
    assert (named.status_code, by_query.status_code) == (200, 200)


def test_operations_answered_without_a_key_say_so_in_their_security():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/documents/{document_id}/content",):
        operation = schema["paths"][path]["get"]
        assert operation[ANONYMOUS_EXTENSION] is True
        assert {} in operation["security"]  # anonymous is allowed: the reply is a 402 price
    answers = schema["paths"]["/api/v1/answers"]["post"]
    assert {} not in answers["security"]
