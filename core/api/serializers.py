"""Strict serializers for every REST API: unknown fields and wrong JSON types are refused."""

from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings


class StrictSerializer(serializers.Serializer[Any]):
    """A serializer that refuses fields it does not know, so typos never pass silently."""

    refuses_unknown_fields = True  # the schema says so: additionalProperties false
    min_fields = 0  # a body with fewer fields is a 400; the schema says so: minProperties
    json_types = True  # a JSON body: 0 is not false, 1 is not "1" (query strings set False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
            if len(data) < self.min_fields:
                names = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {api_settings.NON_FIELD_ERRORS_KEY: [f"Send at least one of: {names}."]}
                )
            if self.json_types:
                wrong = {
                    name: [problem]
                    for name, field in self.fields.items()
                    if name in data and (problem := json_type_problem(field, data[name]))
                }
                if wrong:
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def json_type_problem(field: serializers.Field[Any, Any, Any, Any], value: object) -> str | None:
    """Return why a JSON value does not have the type its field documents, or None.

    DRF coerces (0 to false, 5 to "5", "5" to 5); the schema promises the JSON types, so a
    value of another type is refused rather than converted.
    """
    if value is None:
        return None  # allow_null decides
    expected = {
        serializers.BooleanField: (bool,),
        serializers.CharField: (str,),
        serializers.ChoiceField: (str,),
        serializers.IntegerField: (int,),
        serializers.ListField: (list,),
    }
    for kind, types in expected.items():
        if isinstance(field, kind):
            if not isinstance(value, types) or (
                kind is serializers.IntegerField and isinstance(value, bool)
            ):
                return f"Must be of type {_JSON_NAMES[types[0]]}."
            if isinstance(field, serializers.ListField) and isinstance(value, list):
                for item in value:
                    problem = json_type_problem(field.child, item)
                    if problem:
                        return problem
            return None
    return None


_JSON_NAMES = {bool: "boolean", str: "string", int: "integer", list: "array"}


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
