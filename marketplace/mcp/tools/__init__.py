"""The MCP tools: licensed search, grounded answers and the offer market, for agents.

Each tool validates its arguments as strictly as the REST API (unknown arguments are refused,
so a misspelt price limit is never ignored), calls the same use cases and returns the same
JSON as the REST API, plus a text rendering for the model to read. Every call runs in a
worker thread: the use cases use the ORM.
"""

from marketplace.mcp.tools.answers import answer_text, ask
from marketplace.mcp.tools.arguments import SEARCH_DEFAULT_RESULTS
from marketplace.mcp.tools.offers import ACTIVE, list_offers, offer_body, offers_text
from marketplace.mcp.tools.registry import (
    TOOLS,
    TOOLS_BY_NAME,
    ServerError,
    ToolSpec,
    call_tool,
    error_result,
    list_tools,
)
from marketplace.mcp.tools.search import search_licensed_content, search_text
from marketplace.mcp.tools.text import error_text

__all__ = [
    "ACTIVE",
    "SEARCH_DEFAULT_RESULTS",
    "TOOLS",
    "TOOLS_BY_NAME",
    "ServerError",
    "ToolSpec",
    "answer_text",
    "ask",
    "call_tool",
    "error_result",
    "error_text",
    "list_offers",
    "list_tools",
    "offer_body",
    "offers_text",
    "search_licensed_content",
    "search_text",
]
