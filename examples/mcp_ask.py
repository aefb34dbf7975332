"""Ask Provenant a question through MCP, the way any MCP client does.

The official `mcp` client starts `manage.py mcp_server` over stdio, with the agent key from
PROVENANT_API_KEY and this process's environment (so it uses the same database and settings),
and calls the `ask` tool:

    PROVENANT_API_KEY=pvn_... .venv/bin/python examples/mcp_ask.py "How do canal locks work?"

It prints what the tool gives an agent: the cited answer, its sources and licences, and what
it cost. Exit status 1 if the tool refuses (no licence, price limit, bad key), with the
reason on stderr.
"""

import os
import sys
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]


async def ask(question: str) -> tuple[bool, str]:
    """Return (refused, the tool's text) for one `ask` call."""
    server = StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "manage.py"), "mcp_server"],
        env=dict(os.environ),  # the key, and DATABASE_URL and the rest when they are set
        cwd=str(ROOT),
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("ask", {"question": question})
    return result.is_error, "\n".join(part.text for part in result.content if part.type == "text")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not os.environ.get("PROVENANT_API_KEY"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    refused, text = anyio.run(ask, argv[1])
    print(text, file=sys.stderr if refused else sys.stdout)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
