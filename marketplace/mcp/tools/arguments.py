"""Arguments the tools share: their schemas, and the checks the schemas cannot make."""

import json

from marketplace import errors
from marketplace.services import answers

SEARCH_DEFAULT_RESULTS = 10

_COLLECTIONS = {
    "type": "array",
    "items": {"type": "string", "format": "uuid"},
    "minItems": 1,
    "description": "Only use these collections (ids). Default: every collection you license.",
}
_MAX_PRICE = {
    "type": "integer",
    "minimum": 0,
    "description": (
        "The most this call may cost, in micro-units of the currency (1 USD = 1,000,000). "
        "Cheaper relevant sources are chosen to stay within it."
    ),
}


def _query(args: dict) -> str:
    return answers.clean_question(args.get("query"), field="query")


def _limit(args: dict) -> int:
    limit = args.get("limit")
    if limit is None:
        return SEARCH_DEFAULT_RESULTS
    most = answers.SEARCH_MAX_RESULTS
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise errors.ValidationFailed(
            f"limit is an integer between 1 and {most}.", details={"limit": [f"1 to {most}."]}
        )
    return limit


def _collections(args: dict):
    """Return the collections argument; a JSON array or comma list sent as a string is read."""
    value = args.get("collections")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [item.strip() for item in value.split(",") if item.strip()]
    return value
