"""The tools an agent may call, and one call: checked arguments, a result or an error."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import mcp_types as types

from accounts import services as accounts
from core.api.errors import error_body
from marketplace import errors
from marketplace.mcp import access
from marketplace.mcp.tools.answers import _ask_schema, ask
from marketplace.mcp.tools.offers import _offers_schema, list_offers
from marketplace.mcp.tools.search import _search_schema, search_licensed_content
from marketplace.mcp.tools.text import error_text

logger = logging.getLogger("provenant.mcp")


class ServerError(errors.DomainError):
    status = 500
    code = "server_error"


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
