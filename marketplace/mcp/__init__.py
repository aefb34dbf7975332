"""Provenant's tools for MCP clients: licensed search, grounded answers, the offer market.

`server` builds the MCP server and its stdio and streamable HTTP transports; `tools` holds the
tools; `access` decides which API keys may call them. See docs/mcp.md.
"""
