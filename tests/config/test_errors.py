import pytest
from rest_framework.test import APIClient

from accounts import services

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404():
    for path in ("/api/v1/nothing-here", "/api/v2/organizations", "/v1/unknown"):
        response = APIClient().get(path)
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_wrong_method_is_a_json_405(make_org, key_client):
    org, _ = make_org()
    response = key_client(org).delete("/api/v1/organizations")
    assert response.status_code == 405
    assert response.json() == {
        "code": "method_not_allowed",
        "message": 'Method "DELETE" not allowed.',
        "details": {},
    }


def test_unexpected_failure_is_a_json_500_without_internals(make_org, key_client, monkeypatch):
    org, _ = make_org()
    client = key_client(org)

    def explode(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(services, "list_organizations", explode)
    response = client.get("/api/v1/organizations")

    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "Something went wrong on our side. It has been logged.",
        "details": {},
    }
    assert "hunter2" not in response.content.decode()


def test_unsupported_media_type_is_415(make_org):
    _org, owner = make_org()
    client = APIClient()
    client.force_login(owner)
    response = client.post("/api/v1/organizations", data="name=A", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/organizations/{organization_id}/api-keys" in paths
    components = schema.json()["components"]["schemas"]
    # COMPONENT_SPLIT_REQUEST: request bodies have their own exact schema.
    assert "APIKeyCreateRequest" in components
    assert "key" not in components["APIKeyCreateRequest"]["properties"]
    assert client.get("/api/docs/").status_code == 200
