"""The MCP server: tools over streamable HTTP and stdio, metered like the REST API.

Transport tests serve the real app (uvicorn in a thread, or `manage.py mcp_server` as a child
process) and talk to it with the official MCP client, so their data must be committed: they
use transactional databases. Error mapping is tested on the tool calls directly.
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
import uvicorn
from django.conf import settings as django_settings
from django.db import connection
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from rest_framework.test import APIClient

from catalog.models import Document
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.mcp import server as mcp_server
from marketplace.mcp import tools
from marketplace.services import receipts
from tests.acting import acting_for

ROOT = Path(__file__).resolve().parents[2]
HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"
CANAL_QUESTION = "When did the Panama Canal open?"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the market's owners' passwords cheaply: these tests never log in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _nothing_metered() -> bool:
    return AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0


def _text(result) -> str:
    return "\n".join(block.text for block in result.content)


@contextlib.contextmanager
def serving(app):
    """Serve an ASGI app on a free loopback port in a thread; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive()


@pytest.fixture
def mcp_url(transactional_db):
    with serving(mcp_server.http_app()) as url:
        yield f"{url}/mcp"


def run_session(url: str, api_key: str, work):
    """Open an MCP session over streamable HTTP with the key and return `await work(session)`."""

    async def main():
        headers = {"Authorization": f"Bearer {api_key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return anyio.run(main)


def call(url: str, api_key: str, name: str, arguments: dict | None = None):
    async def work(session):
        return await session.call_tool(name, arguments or {})

    return run_session(url, api_key, work)


# -- streamable HTTP ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_http_lists_the_three_tools_with_strict_schemas(market, make_key, mcp_url):
    async def work(session):
        return (await session.list_tools()).tools

    listed = {t.name: t for t in run_session(mcp_url, make_key(market.agent), work)}

    assert sorted(listed) == ["ask", "list_offers", "search_licensed_content"]
    assert listed["ask"].input_schema["required"] == ["question"]
    assert listed["search_licensed_content"].input_schema["required"] == ["query"]
    assert listed["search_licensed_content"].input_schema["properties"]["limit"]["maximum"] == 50
    for tool in listed.values():
        assert tool.input_schema["additionalProperties"] is False
    assert listed["list_offers"].annotations.read_only_hint is True
    assert listed["ask"].annotations.read_only_hint is False


@pytest.mark.django_db(transaction=True)
def test_http_ask_answers_with_citations_cost_and_receipt_and_meters_it(market, make_key, mcp_url):
    result = call(mcp_url, make_key(market.agent), "ask", {"question": HEAT_QUESTION})

    assert result.is_error is False, _text(result)
    body = result.structured_content
    assert body["object"] == "answer"
    assert body["id"].startswith("ans_")
    assert "[1]" in body["answer"]
    sources = body["sources"]
    assert sources
    assert {s["provider"]["name"] for s in sources} == {"Northwind Press"}
    assert body["cost"]["total_micros"] == 2000 * len(sources)
    assert receipts.verify_receipt(body["receipt"]).valid

    text = _text(result)
    assert text.startswith(body["answer"])
    assert "\n\nSources:\n[1] " in text
    for source in sources:
        assert f"[{source['number']}] {source['title']}, Northwind Press, {source['url']}" in text
    assert f"Cost: USD 0.{2000 * len(sources):06d} for {len(sources)} source(s)" in text
    assert body["id"] in text

    record = AnswerRecord.objects.get(request_id=body["id"])
    assert record.usage_type == "ai-input"
    assert record.total_micros == 2000 * len(sources)
    assert record.agent_id == market.agent.id
    assert record.api_key_id is not None
    assert UsageEvent.objects.filter(answer=record).count() == len(sources)


@pytest.mark.django_db(transaction=True)
def test_http_search_returns_licensed_snippets_with_terms_and_meters_them(
    market, make_key, mcp_url
):
    arguments = {"query": "heat pump freezing", "limit": 3}
    result = call(mcp_url, make_key(market.agent), "search_licensed_content", arguments)

    assert result.is_error is False, _text(result)
    body = result.structured_content
    assert body["object"] == "search"
    assert body["id"].startswith("srch_")
    assert 1 <= len(body["results"]) <= 3
    for snippet in body["results"]:
        assert snippet["license"]["offer_id"] == str(market.energy_offer.id)
        assert snippet["price"] == {"units": 1, "amount_micros": 2000, "currency": "USD"}
        assert len(snippet["snippet"]) <= 400
        assert snippet["snippet"] in _text(result)
    record = AnswerRecord.objects.get(request_id=body["id"])
    assert record.usage_type == "search"
    assert record.total_micros == 2000 * len(body["results"])


@pytest.mark.django_db(transaction=True)
def test_http_list_offers_shows_terms_collections_and_how_to_accept(market, make_key, mcp_url):
    result = call(mcp_url, make_key(market.agent), "list_offers")

    assert result.is_error is False, _text(result)
    body = result.structured_content
    assert body["usage_type"] == "ai-input"
    offers = {o["name"]: o for o in body["offers"]}
    assert sorted(offers) == ["Attribution", "Per cited source", "Per source"]
    canals = offers["Per cited source"]
    assert canals == {
        "offer_id": str(market.canals_offer.id),
        "name": "Per cited source",
        "provider_id": str(market.harbor.id),
        "provider_name": "Harbor Guides",
        "version": 1,
        "usage_types": ["ai-input", "search"],
        "payment_type": "use",
        "price_micros": 5000,
        "price_unit": "cited_source",
        "currency": "USD",
        "period": "",
        "revenue_share_bps": 0,
        "auto_accept": False,
        "accept_url": f"/api/v1/market/offers/{market.canals_offer.id}/accept",
        "collections": [{"id": str(market.canals.id), "name": "Canals"}],
        "citation_required": False,
        "max_snippet_chars": None,
        "accepted": False,
    }
    assert offers["Per source"]["accepted"] is True
    assert (
        "Per cited source, by Harbor Guides: USD 0.005000 per source cited; usage ai-input, "
        f"search; collections Canals; accept first: POST {canals['accept_url']}"
    ) in _text(result)


@pytest.mark.django_db(transaction=True)
def test_http_unlicensed_question_is_a_402_tool_error_with_offers_and_nothing_metered(
    market, make_key, mcp_url
):
    result = call(mcp_url, make_key(market.agent), "ask", {"question": CANAL_QUESTION})

    assert result.is_error is True
    body = result.structured_content
    assert body["status"] == 402
    assert body["code"] == "license_required"
    assert body["details"]["offers"][0]["offer_id"] == str(market.canals_offer.id)
    text = _text(result)
    assert text.startswith("license_required (HTTP 402): No content you are licensed to use")
    assert "1. Per cited source, by Harbor Guides: USD 0.005000 per source cited" in text
    assert f"/api/v1/market/offers/{market.canals_offer.id}/accept" in text
    assert "Traceback" not in text
    assert _nothing_metered()


@pytest.mark.django_db(transaction=True)
def test_http_without_a_valid_agent_key_is_refused(market, make_key, mcp_url):
    def post(headers):
        response = httpx2.post(mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
        return response.status_code, response.json().get("code"), response.headers

    status, code, headers = post({})
    assert (status, code) == (401, "missing_api_key")
    assert headers["WWW-Authenticate"] == 'Bearer realm="mcp"'
    assert post({"Authorization": "Bearer pvn_bad_key"})[:2] == (401, "invalid_api_key")
    provider_key = make_key(market.northwind)
    assert post({"Authorization": f"Bearer {provider_key}"})[:2] == (403, "insufficient_scope")
    good = post({"Authorization": f"Bearer {make_key(market.agent)}"})
    assert good[0] == 200


# -- one access check for every interface -------------------------------------------------------

QUERY_REFUSAL = (403, "insufficient_scope", "This API key lacks the 'query' scope.")
ROLE_REFUSAL = (403, "wrong_role", "This needs an organization with the agent role.")


def _refusal(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def _rest_and_openai_refusals(client, document_id) -> dict:
    question = {"role": "user", "content": HEAT_QUESTION}
    return {
        "REST answers": _refusal(
            client.post("/api/v1/answers", {"question": HEAT_QUESTION}, format="json")
        ),
        "REST usage": _refusal(client.get("/api/v1/usage")),
        "REST content": _refusal(client.get(f"/api/v1/documents/{document_id}/content")),
        "OpenAI chat": _refusal(
            client.post(
                "/v1/chat/completions",
                {"model": "provenant", "messages": [question]},
                format="json",
            )
        ),
    }


@pytest.mark.django_db(transaction=True)
def test_every_interface_refuses_a_key_without_the_query_scope_alike(market, make_key, mcp_url):
    key = make_key(market.agent, scopes=["licensing"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    document = Document.objects.filter(collection=market.energy).first()

    refusals = _rest_and_openai_refusals(client, document.id)
    tool = tools.call_tool("ask", {"question": HEAT_QUESTION}, raw_key=key).structured_content
    refusals["MCP tool"] = (tool["status"], tool["code"], tool["message"])
    refusals["MCP HTTP"] = _refusal(
        httpx2.post(
            mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {key}"}
        )
    )

    assert refusals == dict.fromkeys(refusals, QUERY_REFUSAL)
    assert len(refusals) == 6
    assert _nothing_metered()


def test_rest_and_openai_refuse_a_member_of_no_agent_organization_alike(market):
    client = APIClient()
    client.force_login(market.northwind.memberships.get(role="owner").user)
    document = Document.objects.filter(collection=market.energy).first()

    refusals = _rest_and_openai_refusals(client, document.id)

    assert refusals == dict.fromkeys(refusals, ROLE_REFUSAL)
    assert _nothing_metered()


# -- tool calls: arguments, errors, limits -------------------------------------------------------


def test_unknown_arguments_are_refused_not_ignored(market, make_key):
    result = tools.call_tool("ask", {"question": HEAT_QUESTION, "max_price": 1}, raw_key=None)
    assert result.structured_content["code"] == "missing_api_key"

    result = tools.call_tool(
        "ask", {"question": HEAT_QUESTION, "max_price": 1}, raw_key=make_key(market.agent)
    )

    assert result.is_error is True
    assert result.structured_content == {
        "status": 400,
        "code": "unknown_field",
        "message": (
            "Unknown arguments: max_price. This tool takes: allow_sponsored, collections, "
            "max_price_micros, max_sources, question."
        ),
        "details": {"max_price": ["Unknown argument."]},
    }
    assert _nothing_metered()


@pytest.mark.parametrize(
    ("name", "arguments", "code", "field"),
    [
        ("ask", {"question": "  "}, "empty_question", "question"),
        ("ask", {"question": "x" * 2001}, "question_too_long", "question"),
        ("ask", {"question": HEAT_QUESTION, "max_sources": 0}, "invalid", "max_sources"),
        ("ask", {"question": HEAT_QUESTION, "max_price_micros": -1}, "invalid", "max_price_micros"),
        ("ask", {"question": HEAT_QUESTION, "collections": ["nope"]}, "invalid", "collections"),
        ("search_licensed_content", {"query": ""}, "empty_question", "query"),
        ("search_licensed_content", {"query": "heat", "limit": 51}, "invalid", "limit"),
        ("search_licensed_content", {"query": "heat", "limit": True}, "invalid", "limit"),
        ("list_offers", {"usage_type": "everything"}, "invalid", "usage_type"),
    ],
)
def test_bad_arguments_are_400_tool_errors(market, make_key, name, arguments, code, field):
    result = tools.call_tool(name, arguments, raw_key=make_key(market.agent))

    assert result.is_error is True
    assert result.structured_content["status"] == 400
    assert result.structured_content["code"] == code
    assert field in result.structured_content["details"]
    assert _text(result).startswith(f"{code} (HTTP 400): ")
    assert _nothing_metered()


def test_collections_may_come_as_a_json_string(market, make_key):
    result = tools.call_tool(
        "ask",
        {"question": HEAT_QUESTION, "collections": f'["{market.energy.id}"]'},
        raw_key=make_key(market.agent),
    )

    assert result.is_error is False, _text(result)


def test_a_price_limit_below_any_source_is_a_402_tool_error(market, make_key):
    result = tools.call_tool(
        "ask", {"question": HEAT_QUESTION, "max_price_micros": 1}, raw_key=make_key(market.agent)
    )

    assert result.is_error is True
    assert result.structured_content["code"] == "price_limit_too_low"
    assert result.structured_content["details"]["cheapest_source_micros"] == 2000
    assert _text(result).startswith("price_limit_too_low (HTTP 402): max_price_micros is below")
    assert '"cheapest_source_micros": 2000' in _text(result)
    assert _nothing_metered()


def test_nothing_in_the_market_is_a_404_tool_error(market, make_key):
    result = tools.call_tool(
        "search_licensed_content",
        {"query": "volcanic glass obsidian knapping"},
        raw_key=make_key(market.agent),
    )

    assert result.structured_content["code"] == "no_matching_content"
    assert result.structured_content["status"] == 404
    assert _nothing_metered()


def test_the_rate_limit_is_shared_with_the_rest_api(market, make_key, api_client):
    key = make_key(market.agent, rate_limit_per_minute=2)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get("/api/v1/usage").status_code == 200
    assert tools.call_tool("list_offers", {}, raw_key=key).is_error is False

    result = tools.call_tool("ask", {"question": HEAT_QUESTION}, raw_key=key)

    assert result.is_error is True
    assert result.structured_content["status"] == 429
    assert result.structured_content["code"] == "throttled"
    assert 1 <= result.structured_content["details"]["retry_after_s"] <= 60
    assert _nothing_metered()


def test_a_revoked_key_or_one_without_the_query_scope_cannot_call(market, make_key):
    from accounts import services

    no_query = make_key(market.agent, scopes=["licensing"])
    result = tools.call_tool("list_offers", {}, raw_key=no_query)
    assert (result.structured_content["status"], result.structured_content["code"]) == (
        403,
        "insufficient_scope",
    )

    key = make_key(market.agent)
    owner = market.agent.memberships.get(role="owner").user
    actor = services.actor_for_user(user_id=owner.pk)
    listed = services.list_api_keys(actor=actor, organization_id=market.agent.id)
    for info in listed:
        services.revoke_api_key(actor=actor, organization_id=market.agent.id, api_key_id=info.id)

    result = tools.call_tool("list_offers", {}, raw_key=key)

    assert (result.structured_content["status"], result.structured_content["code"]) == (
        401,
        "invalid_api_key",
    )


def test_an_unexpected_failure_is_a_server_error_without_a_traceback(market, make_key, monkeypatch):
    from marketplace.services import answers

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(answers, "answer_question", broken)

    result = tools.call_tool("ask", {"question": HEAT_QUESTION}, raw_key=make_key(market.agent))

    assert result.is_error is True
    assert result.structured_content == {
        "status": 500,
        "code": "server_error",
        "message": "Something went wrong on our side. It has been logged.",
        "details": {},
    }
    assert "secret" not in _text(result)
    assert "Traceback" not in _text(result)


def test_an_unknown_tool_is_a_tool_error(market, make_key):
    result = tools.call_tool("delete_everything", {}, raw_key=make_key(market.agent))

    assert result.is_error is True
    assert result.structured_content["code"] == "unknown_tool"


def test_offers_an_agent_may_not_accept_are_not_listed(market, make_key):
    from licensing import services as licensing

    licensing.update_offer(
        **acting_for(market.harbor),
        offer_id=market.canals_offer.id,
        changes={"denied_agent_org_ids": (market.agent.id,)},
    )

    result = tools.call_tool(
        "list_offers", {"usage_type": "search"}, raw_key=make_key(market.agent)
    )

    names = [o["name"] for o in result.structured_content["offers"]]
    assert names == ["Attribution", "Per source"]


def test_a_query_only_key_lists_offers_and_sees_which_it_holds(market, make_key):
    result = tools.call_tool("list_offers", {}, raw_key=make_key(market.agent, scopes=["query"]))

    assert result.is_error is False, _text(result)
    offers = result.structured_content["offers"]
    assert [(o["name"], o["accepted"]) for o in offers] == [
        ("Per cited source", False),
        ("Attribution", True),
        ("Per source", True),
    ]


# -- stdio --------------------------------------------------------------------------------------


def _child_env(tmp_path) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "PROVENANT_DATA_DIR": str(tmp_path / "data"),
        "RETRIEVAL_INDEX_DIR": str(django_settings.RETRIEVAL_INDEX_DIR),
        "RETRIEVAL_BACKEND": django_settings.RETRIEVAL_BACKEND,
        "RETRIEVAL_RELOAD_INTERVAL_S": "0",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "RECEIPT_SIGNING_KEY"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if os.environ.get("DATABASE_URL"):
        # The child must open the test database, not the one DATABASE_URL names.
        url = urlsplit(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()
    return env


def _skip_unless_a_child_process_can_open_the_database() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "the SQLite test database lives in this process's memory, where a child process "
            "cannot open it; this test runs on PostgreSQL (DATABASE_URL), as in CI"
        )


def _manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "mcp_server", *args]


def test_stdio_refuses_to_start_without_a_key(tmp_path):
    env = {**os.environ, **_child_env(tmp_path)}
    env.pop("PROVENANT_API_KEY", None)
    env.pop("DATABASE_URL", None)

    finished = subprocess.run(_manage(), env=env, capture_output=True, text=True, timeout=60)

    assert finished.returncode == 1
    assert "An agent API key is required: set PROVENANT_API_KEY or pass --api-key" in (
        finished.stderr
    )
    assert finished.stdout == ""


@pytest.mark.django_db(transaction=True)
def test_stdio_serves_the_tools_for_its_key(market, make_key, tmp_path):
    _skip_unless_a_child_process_can_open_the_database()
    env = _child_env(tmp_path)
    refused = subprocess.run(
        _manage("--api-key", "pvn_bad_key"),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "This API key cannot be used: Invalid API key. (invalid_api_key)" in refused.stderr

    params = StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "manage.py"), "mcp_server"],
        env={**env, "PROVENANT_API_KEY": make_key(market.agent)},
        cwd=str(ROOT),
    )

    async def main():
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            answered = await session.call_tool("ask", {"question": HEAT_QUESTION})
            refused = await session.call_tool("ask", {"question": CANAL_QUESTION})
            return listed, answered, refused

    listed, answered, refused = anyio.run(main)

    assert sorted(t.name for t in listed.tools) == ["ask", "list_offers", "search_licensed_content"]
    assert answered.is_error is False, _text(answered)
    body = answered.structured_content
    assert "[1]" in body["answer"]
    assert receipts.verify_receipt(body["receipt"]).valid
    assert (
        AnswerRecord.objects.get(request_id=body["id"]).total_micros == body["cost"]["total_micros"]
    )
    assert refused.is_error is True
    assert refused.structured_content["code"] == "license_required"
    assert AnswerRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_demos_example_client_prints_a_cited_answer(market, make_key, tmp_path):
    _skip_unless_a_child_process_can_open_the_database()
    env = {**os.environ, **_child_env(tmp_path), "PROVENANT_API_KEY": make_key(market.agent)}
    script = [sys.executable, str(ROOT / "examples" / "mcp_ask.py")]

    answered = subprocess.run(
        [*script, HEAT_QUESTION], env=env, capture_output=True, text=True, timeout=60
    )
    refused = subprocess.run(
        [*script, CANAL_QUESTION], env=env, capture_output=True, text=True, timeout=60
    )

    assert answered.returncode == 0, answered.stderr
    assert "[1]" in answered.stdout
    assert "Sources:" in answered.stdout
    assert refused.returncode == 1
    assert refused.stderr.startswith("license_required (HTTP 402): ")
    assert "Offers that would cover it:" in refused.stderr
    assert AnswerRecord.objects.count() == 1


# -- mounted beside Django ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_asgi_application_serves_mcp_beside_django(market, make_key):
    from config.asgi import application

    with serving(application) as url:
        public_key = httpx2.get(f"{url}/api/v1/receipts/public-key")
        offers = call(f"{url}/mcp", make_key(market.agent), "list_offers")
        unauthenticated = httpx2.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)

    assert public_key.status_code == 200
    assert public_key.json()["algorithm"] == "Ed25519"
    assert offers.is_error is False
    assert len(offers.structured_content["offers"]) == 3
    assert unauthenticated.status_code == 401
    assert LicenseAgreement.objects.filter(agent=market.agent).count() == 2
