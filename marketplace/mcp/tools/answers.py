"""The ask tool: a grounded answer from licensed sources, metered like the REST answer."""

from django.conf import settings

from accounts import services as accounts
from marketplace.api.answer_bodies import answer_body
from marketplace.mcp.tools.arguments import _COLLECTIONS, _MAX_PRICE, _collections
from marketplace.mcp.tools.text import _cost_line, _source_line
from marketplace.services import answers


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


def answer_text(body: dict) -> str:
    """Return the answer with its [n] markers, the numbered sources and the cost."""
    sources = "\n".join(_source_line(s) for s in body["sources"])
    return f"{body['answer']}\n\nSources:\n{sources}\n\n{_cost_line(body, 'answer')}"


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
