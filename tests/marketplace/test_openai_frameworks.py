"""Agents built on LangChain or LlamaIndex reach Provenant by changing their OpenAI base URL."""

import threading
import time

import httpx
import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from licensing.models import AnswerRecord, UsageEvent

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"


def _request_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


@pytest.fixture
def http_client():
    """An HTTP client the test closes, so the live server's request threads end with it."""
    before = _request_threads()
    client = httpx.Client(timeout=30)
    yield client
    client.close()
    deadline = time.monotonic() + 10  # let the server finish before the database is flushed
    while _request_threads() - before and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def chat_model(live_server, market, make_key, http_client):
    return ChatOpenAI(
        base_url=f"{live_server.url}/v1",
        api_key=make_key(market.agent),
        model="provenant",
        max_retries=0,
        http_client=http_client,
    )


def test_langchain_chat_model_gets_a_cited_metered_answer(chat_model):
    message = chat_model.invoke([HumanMessage(HEAT_QUESTION)])

    assert "[1]" in message.content
    assert message.usage_metadata["output_tokens"] > 0
    answer = AnswerRecord.objects.get()
    assert message.response_metadata["id"] == answer.request_id
    assert UsageEvent.objects.filter(answer=answer).count() == answer.sources_count > 0


def test_langchain_streaming_yields_the_same_kind_of_answer(chat_model):
    chunks = list(chat_model.stream([HumanMessage(HEAT_QUESTION)]))

    text = "".join(chunk.content for chunk in chunks)
    assert "[1]" in text
    assert len(chunks) > 1
    assert AnswerRecord.objects.count() == 1


def test_llamaindex_openai_like_model_gets_a_cited_metered_answer(
    live_server, market, make_key, http_client
):
    llm = OpenAILike(
        model="provenant",
        api_base=f"{live_server.url}/v1",
        api_key=make_key(market.agent),
        is_chat_model=True,
        context_window=8192,
        max_retries=0,
        http_client=http_client,
    )
    response = llm.chat([ChatMessage(role="user", content=HEAT_QUESTION)])

    assert "[1]" in response.message.content
    answer = AnswerRecord.objects.get()
    assert response.raw.id == answer.request_id
    assert UsageEvent.objects.filter(answer=answer).count() == answer.sources_count > 0
