"""Serve Provenant's tools to MCP clients over stdio (one API key) or streamable HTTP."""

import contextlib
import functools
import os

import anyio
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from marketplace import errors
from marketplace.mcp import access, server

API_KEY_ENV = "PROVENANT_API_KEY"


class Command(BaseCommand):
    help = (
        "Serve the MCP tools (ask, search_licensed_content, list_offers). stdio (default) acts "
        f"for one agent API key from {API_KEY_ENV} or --api-key; --transport http serves "
        "streamable HTTP at /mcp, each request authenticated by Authorization: Bearer <api key>."
    )
    # On stdio, stdout carries the protocol: nothing else may be written there, and the
    # system checks' report would be.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
        parser.add_argument(
            "--api-key",
            help=f"stdio: the agent API key to act for (default: ${API_KEY_ENV}).",
        )
        parser.add_argument("--host", default="127.0.0.1", help="http: address to bind.")
        parser.add_argument("--port", type=int, default=8001, help="http: port to bind.")
        parser.add_argument(
            "--log-level",
            default="info",
            choices=("critical", "error", "warning", "info", "debug"),
            help="http: uvicorn's log level.",
        )

    def handle(self, *args, **options):
        if options["transport"] == "http":
            self._serve_http(options)
        else:
            self._serve_stdio(options)

    def _serve_http(self, options) -> None:
        if options["api_key"]:
            raise CommandError(
                "--api-key is for stdio; over HTTP every request carries its own key in "
                "Authorization: Bearer <api key>."
            )
        host, port = options["host"], options["port"]
        self.stderr.write(
            f"Serving MCP at http://{host}:{port}{server.MCP_PATH} "
            "(Authorization: Bearer <agent API key>)."
        )
        server.serve_http(host=host, port=port, log_level=options["log_level"])

    def _serve_stdio(self, options) -> None:
        api_key = options["api_key"] or os.environ.get(API_KEY_ENV, "")
        if not api_key.strip():
            raise CommandError(
                f"An agent API key is required: set {API_KEY_ENV} or pass --api-key. "
                "Create one in the console or with POST /api/v1/organizations/<id>/api-keys."
            )
        api_key = api_key.strip()
        try:
            access.authorize(raw_key=api_key)
        except errors.DomainError as exc:
            raise CommandError(f"This API key cannot be used: {exc.message} ({exc.code})") from exc
        finally:
            connections.close_all()
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(functools.partial(server.serve_stdio, api_key=api_key))
