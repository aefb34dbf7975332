"""The MCP tools: licensed search, grounded answers and the offer market, for agents.

Each tool validates its arguments as strictly as the REST API (unknown arguments are refused,
so a misspelt price limit is never ignored), calls the same use cases and returns the same
JSON as the REST API, plus a text rendering for the model to read. Every call runs in a
worker thread: the use cases use the ORM.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import mcp_types as types
from django.conf import settings

from accounts import services as accounts
from core.api.errors import error_body
from licensing import services as licensing
from marketplace import errors
from marketplace.api.answer_bodies import answer_body, search_body
from marketplace.mcp import access
from marketplace.services import answers

logger = logging.getLogger("provenant.mcp")

SEARCH_DEFAULT_RESULTS = 10
ACTIVE = "active"


class ServerError(errors.DomainError):
    status = 500
    code = "server_error"


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


def _ask_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "question": {
                "type": "string",
                "minLength": 1,
                "maxLength": settings.ANSWER_MAX_QUESTION_CHARS,
                "description": "The question to answer from licensed content.",
            },
            "max_sources": {
                "type": "integer",
                "minimum": 1,
                "maximum": answers.MAX_SOURCES,
                "default": settings.ANSWER_DEFAULT_SOURCES,
                "description": "The most sources to ground the answer in (each may cost).",
            },
            "max_price_micros": _MAX_PRICE,
            "collections": _COLLECTIONS,
        },
        "required": ["question"],
        "additionalProperties": False,
    }


def _offers_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "usage_type": {
                "type": "string",
                "enum": list(licensing.USAGE_TYPES),
                "default": "ai-input",
                "description": (
                    "The use the offers must cover: ai-input for ask, search for "
                    "search_licensed_content."
                ),
            }
        },
        "additionalProperties": False,
    }


# -- argument checks --------------------------------------------------------------------------


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


# -- results as text --------------------------------------------------------------------------


def _money(micros: int, currency: str) -> str:
    return licensing.format_price(micros, currency)


_UNITS = {
    "retrieved_source": "per source retrieved",
    "cited_source": "per source cited",
    "1k_tokens": "per 1,000 content tokens",
}


def _price(offer: dict) -> str:
    payment, currency = offer["payment_type"], offer["currency"]
    price = _money(offer["price_micros"], currency)
    if payment == "free":
        return "free"
    if payment == "attribution":
        return "free with attribution"
    if payment == "use":
        return f"{price} {_UNITS.get(offer['price_unit'], offer['price_unit'])}"
    if payment == "subscription":
        return f"{price} per {offer['period'] or 'period'}"
    if payment == "revenue_share":
        return f"{offer['revenue_share_bps'] / 100:g}% of what the answer earns"
    return f"{price} once ({payment})"


def _offer_line(number: int, offer: dict) -> str:
    line = (
        f"{number}. {offer['name']}, by {offer['provider_name']}: {_price(offer)}; "
        f"usage {', '.join(offer['usage_types'])}"
    )
    if offer.get("collections"):
        line += f"; collections {', '.join(c['name'] for c in offer['collections'])}"
    if offer.get("accepted"):
        return line + "; accepted."
    how = "accepted automatically on first use" if offer["auto_accept"] else "accept first"
    return f"{line}; {how}: POST {offer['accept_url']} (offer {offer['offer_id']})"


def _source_line(source: dict) -> str:
    license_ = source["license"]
    price = source["price"]
    line = f"[{source['number']}] {source['title']}, {source['provider']['name']}"
    if source["url"]:
        line += f", {source['url']}"
    terms = f"{license_['offer_name']} ({license_['payment_type']})"
    return f"{line}\n    license: {terms}; {_money(price['amount_micros'], price['currency'])}"


def _cost_line(body: dict, what: str) -> str:
    cost = body["cost"]
    line = (
        f"Cost: {_money(cost['total_micros'], cost['currency'])} for "
        f"{len(cost['sources'])} source(s), metered as {body['id']}"
    )
    if cost["max_price_micros"] is not None:
        line += f" (limit {_money(cost['max_price_micros'], cost['currency'])})"
    line += f". The {what} carries a signed receipt (key {body['receipt']['key_id']})."
    left_out = cost["left_out_for_price"]
    if left_out:
        titles = "; ".join(f"{item['title']} ({item['price_micros']} micros)" for item in left_out)
        line += f"\nLeft out to stay within the price limit: {titles}."
    return line


def answer_text(body: dict) -> str:
    """Return the answer with its [n] markers, the numbered sources and the cost."""
    sources = "\n".join(_source_line(s) for s in body["sources"])
    return f"{body['answer']}\n\nSources:\n{sources}\n\n{_cost_line(body, 'answer')}"


def search_text(body: dict) -> str:
    """Return each snippet under its number and source, then the cost."""
    parts = [f"{len(body['results'])} licensed snippet(s) for {body['query']!r}:"]
    for source in body["results"]:
        parts.append(f"{_source_line(source)}\n    {source['snippet']}")
    parts.append(_cost_line(body, "search"))
    return "\n\n".join(parts)


def offers_text(body: dict) -> str:
    offers = body["offers"]
    if not offers:
        return f"No published offers cover {body['usage_type']}."
    lines = [f"{len(offers)} published offer(s) covering {body['usage_type']}:"]
    lines += [_offer_line(n, offer) for n, offer in enumerate(offers, start=1)]
    return "\n".join(lines)


def error_text(exc: errors.DomainError) -> str:
    """Return the error's code, status and message; the offers that would cover a 402."""
    lines = [f"{exc.code} (HTTP {exc.status}): {exc.message}"]
    details = dict(exc.details)
    offers = details.pop("offers", None)
    if offers:
        lines.append("Offers that would cover it:")
        lines += [_offer_line(n, offer) for n, offer in enumerate(offers, start=1)]
    if details:
        lines.append(f"Details: {json.dumps(details, sort_keys=True, default=str)}")
    return "\n".join(lines)


# -- the tools --------------------------------------------------------------------------------


def search_licensed_content(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    query = _query(args)
    plan = answers.plan(
        agent_id=key.organization_id,
        api_key_id=key.id,
        request_id=answers.new_request_id("srch"),
        question=query,
        usage_type="search",
        collection_ids=_collections(args),
        max_sources=_limit(args),
        max_price_micros=args.get("max_price_micros"),
        max_snippet_chars=answers.SEARCH_SNIPPET_CHARS,
        most_sources=answers.SEARCH_MAX_RESULTS,
    )
    body = search_body(answers.search(plan), plan.question)
    return search_text(body), body


def ask(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    plan = answers.plan(
        agent_id=key.organization_id,
        api_key_id=key.id,
        request_id=answers.new_request_id(),
        question=answers.clean_question(args.get("question")),
        collection_ids=_collections(args),
        max_sources=args.get("max_sources"),
        max_price_micros=args.get("max_price_micros"),
    )
    body = answer_body(answers.answer_question(plan))
    return answer_text(body), body


def offer_body(offer: licensing.OfferInfo, *, names: dict, accepted: bool) -> dict:
    """Return an offer as in a 402's offers, with its collections, restrictions and status."""
    return {
        **answers._offer_summary(offer),
        "collections": [
            {"id": str(c), "name": names.get(str(c), "")} for c in offer.terms.collection_ids
        ],
        "citation_required": offer.terms.citation_required,
        "max_snippet_chars": offer.terms.max_snippet_chars,
        "accepted": accepted,
    }


def list_offers(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    usage_type = args.get("usage_type") or "ai-input"
    if usage_type not in licensing.USAGE_TYPES:
        raise errors.ValidationFailed(
            f"Unknown usage type {usage_type!r}.",
            details={"usage_type": [f"Choose from {', '.join(licensing.USAGE_TYPES)}."]},
        )
    actor = accounts.actor_for_key(key)
    offers = licensing.list_market_offers(actor=actor, usage_type=usage_type)
    accepted = {a.offer.id for a in licensing.list_agreements(actor=actor, status=ACTIVE)}
    names = answers.names_for(collection_ids={c for o in offers for c in o.terms.collection_ids})
    body = {
        "object": "list",
        "usage_type": usage_type,
        "offers": [offer_body(o, names=names, accepted=o.id in accepted) for o in offers],
    }
    return offers_text(body), body


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    schema: Callable[[], dict]
    run: Callable[[accounts.AuthenticatedKey, dict], tuple[str, dict]]
    read_only: bool

    def definition(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.schema(),
            annotations=types.ToolAnnotations(
                title=self.title,
                read_only_hint=self.read_only,
                destructive_hint=False,
                idempotent_hint=self.read_only,
                open_world_hint=False,
            ),
        )


TOOLS = (
    ToolSpec(
        name="search_licensed_content",
        title="Search licensed content",
        description=(
            "Search content you are licensed to use for search. Returns snippets, each with "
            "its source, provider, license terms and price. Metered: each snippet returned "
            "is a use you pay for under its offer."
        ),
        schema=_search_schema,
        run=search_licensed_content,
        read_only=False,
    ),
    ToolSpec(
        name="ask",
        title="Ask a question from licensed sources",
        description=(
            "Answer a question from content you are licensed to use, with numbered citations "
            "[n], the sources (titles, URLs, providers), attribution, the cost and a signed "
            "receipt. Metered: each source used is a use you pay for under its offer. When "
            "nothing you license covers the question, the error lists offers that would."
        ),
        schema=_ask_schema,
        run=ask,
        read_only=False,
    ),
    ToolSpec(
        name="list_offers",
        title="List license offers",
        description=(
            "List the published license offers you may accept: provider, payment type, "
            "price and unit, usage types, collections, whether they are accepted "
            "automatically, and where to accept them. Free to call."
        ),
        schema=_offers_schema,
        run=list_offers,
        read_only=True,
    ),
)
TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}


def list_tools() -> list[types.Tool]:
    return [tool.definition() for tool in TOOLS]


def _result(text: str, body: dict, *, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=body,
        is_error=is_error,
    )


def error_result(exc: errors.DomainError) -> types.CallToolResult:
    body = {"status": exc.status, **error_body(exc.code, exc.message, exc.details)}
    return _result(error_text(exc), body, is_error=True)


def _checked_arguments(tool: ToolSpec, arguments) -> dict:
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise errors.ValidationFailed("Tool arguments are a JSON object.")
    known = sorted(tool.schema()["properties"])
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise errors.ValidationFailed(
            f"Unknown arguments: {', '.join(unknown)}. This tool takes: {', '.join(known)}.",
            code="unknown_field",
            details={name: ["Unknown argument."] for name in unknown},
        )
    return {k: v for k, v in arguments.items() if v is not None}


def call_tool(
    name: str,
    arguments,
    *,
    key: accounts.AuthenticatedKey | None = None,
    raw_key: str | None = None,
) -> types.CallToolResult:
    """Run one tool call for an API key (or a raw key, checked first); errors become results."""
    try:
        if key is None:
            key = access.authorize(raw_key=raw_key)
        tool = TOOLS_BY_NAME.get(name)
        if tool is None:
            raise errors.NotFound(
                f"Unknown tool {name!r}. Tools: {', '.join(TOOLS_BY_NAME)}.", code="unknown_tool"
            )
        args = _checked_arguments(tool, arguments)
        access.count_call(key)
        text, body = tool.run(key, args)
        return _result(text, body)
    except errors.DomainError as exc:
        return error_result(exc)
    except Exception:
        logger.exception("MCP tool %r failed", name)
        return error_result(ServerError("Something went wrong on our side. It has been logged."))
