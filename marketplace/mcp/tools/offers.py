"""The list_offers tool: the published licence offers an agent may accept."""

from accounts import services as accounts
from licensing import services as licensing
from marketplace import errors
from marketplace.mcp.tools.text import _offer_line
from marketplace.services import answers

ACTIVE = "active"


def _offers_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "usage_type": {
                "type": "string",
                "enum": list(licensing.USAGE_TYPES),
                "default": "ai-input",
                "description": (
                    "The use the offers must cover: ai-input for ask, search for "
                    "search_licensed_content."
                ),
            }
        },
        "additionalProperties": False,
    }


def offers_text(body: dict) -> str:
    offers = body["offers"]
    if not offers:
        return f"No published offers cover {body['usage_type']}."
    lines = [f"{len(offers)} published offer(s) covering {body['usage_type']}:"]
    lines += [_offer_line(n, offer) for n, offer in enumerate(offers, start=1)]
    return "\n".join(lines)


def offer_body(offer: licensing.OfferInfo, *, names: dict, accepted: bool) -> dict:
    """Return an offer as in a 402's offers, with its collections, restrictions and status."""
    return {
        **answers.offer_summary(offer),
        "collections": [
            {"id": str(c), "name": names.get(str(c), "")} for c in offer.terms.collection_ids
        ],
        "citation_required": offer.terms.citation_required,
        "max_snippet_chars": offer.terms.max_snippet_chars,
        "accepted": accepted,
    }


def list_offers(key: accounts.AuthenticatedKey, args: dict) -> tuple[str, dict]:
    usage_type = args.get("usage_type") or "ai-input"
    if usage_type not in licensing.USAGE_TYPES:
        raise errors.ValidationFailed(
            f"Unknown usage type {usage_type!r}.",
            details={"usage_type": [f"Choose from {', '.join(licensing.USAGE_TYPES)}."]},
        )
    actor = accounts.actor_for_key(key)
    offers = licensing.list_market_offers(actor=actor, usage_type=usage_type)
    accepted = {a.offer.id for a in licensing.list_agreements(actor=actor, status=ACTIVE)}
    names = answers.names_for(collection_ids={c for o in offers for c in o.terms.collection_ids})
    body = {
        "object": "list",
        "usage_type": usage_type,
        "offers": [offer_body(o, names=names, accepted=o.id in accepted) for o in offers],
    }
    return offers_text(body), body
