"""OpenAPI links: what a POST creates points at the operations that use its id."""

import re

from drf_spectacular.generators import SchemaGenerator


def _schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    return {
        operation["operationId"]: (path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_created_resources_link_to_their_uses():
    paths = _schema()["paths"]

    created_collection = paths["/api/v1/collections"]["post"]["responses"]["201"]["links"]
    assert created_collection["CollectionsRetrieve"] == {
        "operationId": "collections_retrieve",
        "parameters": {"collection_id": "$response.body#/id"},
    }
    assert {"CollectionsUpdate", "CollectionsDestroy", "CollectionsUpload"} <= set(
        created_collection
    )
    upload = paths["/api/v1/collections/{collection_id}/uploads"]["post"]["responses"]["202"]
    assert upload["links"]["IngestionJobsRetrieve"]["parameters"] == {
        "job_id": "$response.body#/id"
    }
    new_key = paths["/api/v1/organizations/{organization_id}/api-keys"]["post"]["responses"]["201"]
    assert new_key["links"]["ApiKeysRevoke"]["parameters"] == {
        "api_key_id": "$response.body#/id",
        "organization_id": "$request.path.organization_id",
    }
    accepted = paths["/api/v1/market/offers/{offer_id}/accept"]["post"]["responses"]["201"]
    assert set(accepted["links"]) == {
        "AgreementsRetrieve",
        "AgreementsUpdate",
        "AgreementsCancel",
        "AgreementsDatasetExport",
    }
    offer = paths["/api/v1/offers"]["post"]["responses"]["201"]["links"]
    assert {"OffersRetrieve", "OffersUpdate", "OffersPublish", "OffersRetire"} <= set(offer)


def test_every_link_names_a_real_operation_and_fills_exactly_its_path_parameters():
    schema = _schema()
    operations = _operations(schema)
    links = [
        link
        for operations_of_path in schema["paths"].values()
        for operation in operations_of_path.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 25
    for link in links:
        path, _ = operations[link["operationId"]]
        assert set(link["parameters"]) == set(re.findall(r"{(\w+)}", path)), link
