"""A sponsored item as an agent receives it: labelled, with who it is for, who paid and why it
was chosen, and a signed payload so the agent can prove what it was given.

The payload holds only strings, integers, lists and objects (no floats, no price: what an
advertiser bid is its own business). Its signature is made by the signer the caller passes:
the answer path passes the product's receipt signer (`marketplace.services.receipts
.sign_receipt`, Ed25519 over canonical JSON), so sponsored items verify with the same
published keys as attribution receipts, and this app holds no key of its own.
"""

from collections.abc import Callable, Mapping
from typing import Any

from ads.services.serving import ServingInfo

LABEL = "Sponsored"
PAYLOAD_TYPE = "sponsored"
PAYLOAD_VERSION = 1
CONTEXT_USE = "presentation_only"

Signer = Callable[[dict[str, Any]], Mapping[str, Any]]


def sponsored_payload(serving: ServingInfo, *, click_url: str | None = None) -> dict[str, Any]:
    """Return what is signed of a sponsored item (`click_url`: the absolute click URL the agent
    is given; by default the path)."""
    advertiser = {"id": str(serving.advertiser_id), "name": serving.advertiser_name}
    return {
        "type": PAYLOAD_TYPE,
        "version": PAYLOAD_VERSION,
        "label": LABEL,
        "serving_id": str(serving.id),
        "request_id": serving.request_id,
        "agent_id": str(serving.agent_id),
        "unit_id": str(serving.unit_id),
        "unit_version": serving.unit_version,
        "advertiser": advertiser,
        "paid_by": advertiser,  # the advertiser's prepaid funds pay for it
        "title": serving.title,
        "body": serving.body,
        "call_to_action": serving.call_to_action,
        # Where to send the user: the click URL, which counts the click and redirects to the
        # advertiser's page (`destination_url`, shown so the user knows where it leads).
        "url": click_url or serving.click_path,
        "click_url": click_url or serving.click_path,
        "destination_url": serving.url,
        "bid_type": serving.bid_type,
        "reasons": list(serving.reasons),  # why this ad
        # AdCP's context_use: shown beside the answer, never part of its reasoning or sources.
        "context_use": CONTEXT_USE,
        "served_at": serving.created_at.isoformat(),
    }


def sponsored_item(
    serving: ServingInfo, *, sign: Signer, click_url: str | None = None
) -> dict[str, Any]:
    """Return a sponsored item for an answer's `sponsored[]`: its payload's fields, and the
    signed payload under `signed`."""
    payload = sponsored_payload(serving, click_url=click_url)
    return {**payload, "signed": dict(sign(payload))}
