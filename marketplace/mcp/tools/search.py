"""The search_licensed_content tool: licensed snippets, each metered as a search."""

from django.conf import settings

from accounts import services as accounts
from marketplace.api.answer_bodies import search_body
from marketplace.mcp.tools.arguments import (
    _COLLECTIONS,
    _MAX_PRICE,
    SEARCH_DEFAULT_RESULTS,
    _collections,
    _limit,
    _query,
)
from marketplace.mcp.tools.text import _cost_line, _source_line
from marketplace.services import answers


def _search_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": settings.ANSWER_MAX_QUESTION_CHARS,
                "description": "What to search for.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": answers.SEARCH_MAX_RESULTS,
                "default": SEARCH_DEFAULT_RESULTS,
                "description": "How many snippets to return.",
            },
            "collections": _COLLECTIONS,
            "max_price_micros": _MAX_PRICE,
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def search_text(body: dict) -> str:
    """Return each snippet (or, unlicensed for search, only its link) under its number and
    source, then the cost."""
    parts = [f"{len(body['results'])} licensed snippet(s) for {body['query']!r}:"]
    for source in body["results"]:
        snippet = source["snippet"]
        if snippet is None:
            snippet = "(title and link only: your licence for it does not permit search)"
        parts.append(f"{_source_line(source)}\n    {snippet}")
    parts.append(_cost_line(body, "search"))
    return "\n\n".join(parts)


def search_licensed_content(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    query = _query(args)
    plan = answers.plan_search(
        agent_id=key.organization_id,
        api_key_id=key.id,
        query=query,
        collection_ids=_collections(args),
        limit=_limit(args),
        max_price_micros=args.get("max_price_micros"),
    )
    body = search_body(answers.search(plan), plan.question)
    return search_text(body), body
