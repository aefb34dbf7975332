"""Provenant as an MCP server: stdio with one API key, or streamable HTTP with a key per request.

The streamable HTTP app is stateless (no MCP sessions kept in memory) and answers with plain
JSON, so any number of web nodes can serve it behind a load balancer. Every HTTP request is
authenticated by `Authorization: Bearer <api key>` before it reaches MCP.
"""

import functools
from collections.abc import Callable
from importlib import metadata
from typing import Any

import anyio.to_thread
import mcp_types as types
from django.db import connections
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from core.api.errors import error_body
from marketplace import errors
from marketplace.mcp import access, tools

SERVER_NAME = "provenant"
MCP_PATH = "/mcp"
STATE_KEY = "provenant_api_key"
INSTRUCTIONS = (
    "Provenant answers questions and searches content that its providers license to agents. "
    "Use `ask` for an answer grounded in licensed sources, with numbered citations [n], the "
    "sources' URLs and providers, and what the answer cost; cite the sources when you use the "
    "answer. Use `search_licensed_content` for snippets with their license terms. Both are "
    "metered and charged to your organization; pass max_price_micros to cap the cost. When "
    "nothing you license covers a question, the error lists offers that would; `list_offers` "
    "lists every offer you may accept."
)


def _version() -> str:
    try:
        return metadata.version("provenant")
    except metadata.PackageNotFoundError:
        return ""


def _closing_connections(fn: Callable[..., Any], *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()  # this worker thread's connections only


async def run_in_thread(fn: Callable[..., Any], /, *args, **kwargs) -> Any:
    """Run ORM work in a worker thread, closing the thread's database connections after."""
    return await anyio.to_thread.run_sync(
        functools.partial(_closing_connections, fn, *args, **kwargs)
    )


def _request_key(ctx) -> Any:
    """Return the API key the HTTP middleware authenticated for this request, if any."""
    request = getattr(ctx, "request", None)
    if request is None:
        return None
    return request.scope.get("state", {}).get(STATE_KEY)


def build_server(*, api_key: str | None = None) -> Server:
    """Return the MCP server; with `api_key` (stdio) every call acts for that key."""

    async def on_list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.list_tools())

    async def on_call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await run_in_thread(
            tools.call_tool,
            params.name,
            params.arguments,
            key=_request_key(ctx),
            raw_key=api_key,
        )

    return Server(
        SERVER_NAME,
        version=_version(),
        title="Provenant",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def serve_stdio(*, api_key: str) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    server = build_server(api_key=api_key)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class APIKeyMiddleware:
    """Refuse HTTP requests without a valid agent API key (401, 403); pass the key on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            key = await run_in_thread(access.authorize, raw_key=_bearer_token(scope))
        except errors.DomainError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="mcp"'} if exc.status == 401 else None
            response = JSONResponse(
                error_body(exc.code, exc.message, exc.details),
                status_code=exc.status,
                headers=headers,
            )
            await response(scope, receive, send)
            return
        state = {**scope.get("state", {}), STATE_KEY: key}
        await self.app({**scope, "state": state}, receive, send)


def http_app(*, path: str = MCP_PATH, host: str = "127.0.0.1", check_host: bool = True) -> ASGIApp:
    """Return the streamable HTTP app serving MCP at `path`.

    Its lifespan must run (uvicorn and hypercorn run it). Bound to a loopback `host`, the
    Host and Origin headers are checked against it (DNS rebinding); `check_host=False`
    turns that off where a proxy or Django's own host has already decided.
    """
    server = build_server()
    security = (
        None if check_host else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    app = server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=True,
        json_response=True,
        host=host,
        transport_security=security,
    )
    return APIKeyMiddleware(app)


def with_mcp(django_app: ASGIApp, *, path: str = MCP_PATH) -> ASGIApp:
    """Return an ASGI app serving MCP at `path` and everything else with `django_app`.

    The lifespan goes to the MCP app (Django's ASGI handler does not take one).
    """
    mcp_app = http_app(path=path, check_host=False)

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (scope["type"] == "http" and scope["path"] == path):
            await mcp_app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    return application


def serve_http(*, host: str, port: int, log_level: str = "info") -> None:
    """Serve MCP over streamable HTTP at http://host:port/mcp until interrupted."""
    import uvicorn

    uvicorn.run(http_app(host=host), host=host, port=port, log_level=log_level, lifespan="on")
