"""ASGI entry point: Django, with the MCP server's streamable HTTP app at /mcp beside it.

Serve it with an ASGI server that runs the lifespan (uvicorn, hypercorn), e.g.
`uvicorn config.asgi:application`; the MCP app needs it. See docs/mcp.md.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

# Imported once Django is set up: the MCP tools use the apps' services.
from marketplace.mcp.server import with_mcp  # noqa: E402

application = with_mcp(django_application)
