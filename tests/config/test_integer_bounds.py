"""Every integer the API accepts has documented bounds that fit the column it may land in."""

import pytest
from django.apps import apps
from django.db import connection, models
from drf_spectacular.generators import SchemaGenerator

BIGINT_MAX = 2**63 - 1


def _column_maxima() -> dict[str, int]:
    """Return, per field name, the smallest maximum of any integer column of that name."""
    maxima: dict[str, int] = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.IntegerField | models.AutoField) and field.concrete:
                _, high = connection.ops.integer_field_range(field.get_internal_type())
                if high is not None:
                    maxima[field.name] = min(maxima.get(field.name, high), high)
    return maxima


def _request_integers(schema: dict):
    """Yield (where, name, schema) for every integer a client may send."""
    components = schema["components"]["schemas"]

    def walk(where, name, node):
        node = components[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node
        if node.get("type") == "integer":
            yield where, name, node
        for prop, child in node.get("properties", {}).items():
            yield from walk(where, prop, child)
        if "items" in node:
            yield from walk(where, name, node["items"])
        for child in node.get("oneOf", []) + node.get("allOf", []) + node.get("anyOf", []):
            yield from walk(where, name, child)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":  # path ids are matched by the URL converter
                    yield from walk(where, parameter["name"], parameter["schema"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(where, "body", media["schema"])


@pytest.mark.django_db
def test_every_accepted_integer_has_bounds_that_fit_its_column():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    maxima = _column_maxima()
    unbounded, too_big = [], []
    for where, name, node in _request_integers(schema):
        if "minimum" not in node or "maximum" not in node:
            unbounded.append(f"{where}: {name}")
        elif node["maximum"] > maxima.get(name, BIGINT_MAX):
            too_big.append(f"{where}: {name} <= {node['maximum']} > {maxima[name]}")

    assert unbounded == []
    assert too_big == []
