"""The JSON parser every API view uses: the standard one, with a limit on nesting."""

from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def json_depth_exceeds(data: object, limit: int) -> bool:
    """Return whether arrays and objects in `data` nest deeper than `limit` (no recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[object]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """Parse JSON, refusing documents nested deeper than `API_JSON_MAX_DEPTH`.

    Deep nesting is never a real request; left alone it reaches code that recurses
    (validation, fingerprints, the database's JSON) and ends in a RecursionError.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:  # any JSON value: an array as well as an object
        limit = settings.API_JSON_MAX_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON nests deeper than {limit} levels.") from exc
        if json_depth_exceeds(data, limit):
            raise ParseError(f"JSON nests deeper than {limit} levels.")
        return data
