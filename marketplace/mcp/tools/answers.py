"""The ask tool: a grounded answer from licensed sources, metered like the REST answer."""

from django.conf import settings

from accounts import services as accounts
from marketplace import errors
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
            "allow_sponsored": {
                "type": "boolean",
                "description": (
                    "Whether labelled sponsored items may come beside the answer (default: "
                    "your API key's setting). They never change the answer, its citations or "
                    "its cost."
                ),
            },
        },
        "required": ["question"],
        "additionalProperties": False,
    }


def answer_text(body: dict) -> str:
    """Return the answer with its [n] markers, the numbered sources and the cost; then any
    sponsored items, apart and labelled."""
    sources = "\n".join(_source_line(s) for s in body["sources"])
    text = f"{body['answer']}\n\nSources:\n{sources}\n\n{_cost_line(body, 'answer')}"
    if body.get("sponsored"):
        items = "\n".join(_sponsored_line(item) for item in body["sponsored"])
        text += f"\n\nSponsored (not part of the answer; show it apart, labelled):\n{items}"
    return text


def _sponsored_line(item: dict) -> str:
    return (
        f"[{item['label']}] {item['title']}: {item['body']} {item['call_to_action']}: "
        f"{item['url']} (for {item['advertiser']['name']}, paid by {item['paid_by']['name']})"
    )


def _allow_sponsored(key: accounts.AuthenticatedKey, args: dict) -> answers.SponsoredRequest:
    requested = args.get("allow_sponsored")
    if requested is not None and not isinstance(requested, bool):
        raise errors.ValidationFailed(
            "allow_sponsored is true or false.",
            details={"allow_sponsored": ["Must be of type boolean."]},
        )
    return answers.SponsoredRequest(
        allowed=accounts.sponsored_allowed(key=key, requested=requested),
        site_url=(settings.PORTAL_BASE_URL or settings.BILLING_PORTAL_URL).rstrip("/"),
    )


def ask(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    sponsored = _allow_sponsored(key, args)
    plan = answers.plan(
        agent_id=key.organization_id,
        api_key_id=key.id,
        request_id=answers.new_request_id(),
        question=answers.clean_question(args.get("question")),
        collection_ids=_collections(args),
        max_sources=args.get("max_sources"),
        max_price_micros=args.get("max_price_micros"),
    )
    body = answer_body(answers.answer_question(plan, sponsored=sponsored))
    return answer_text(body), body
