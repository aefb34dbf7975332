"""Sponsored items beside an answer: chosen after the answer is written, from its question and
the passages that ground it, and recorded with it.

The auction reads the answer and never writes it: the text, citations, attribution, cost and
receipt are made before it runs and are the same whether sponsored items are allowed or not
(tests/marketplace/test_sponsored_answers.py compares them byte for byte). Each item is
labelled "Sponsored", says whom it is for and who paid and why it was chosen, links through a
signed click URL, and carries a payload signed with the receipt key so an agent can prove what
it was given (`POST /api/v1/receipts/verify`).

Nothing about ads can fail an answer: a failed auction or a failed recording is logged, the
budgets it held are given back, and the answer goes out with `sponsored: []`.
"""

import logging
from dataclasses import dataclass, replace

from django.conf import settings

import inference_client
from ads import services as ads
from marketplace.services.answers.planning import AnswerPlan
from marketplace.services.answers.result import AnswerResult
from marketplace.services.receipts import sign_receipt

logger = logging.getLogger("provenant.answers")


@dataclass(frozen=True)
class SponsoredRequest:
    """Whether an answer may carry sponsored items, and where its click URLs point."""

    allowed: bool = False
    site_url: str = ""  # the absolute base of click URLs ("https://host"); "": paths only


NO_SPONSORED = SponsoredRequest()


def select(
    answer_plan: AnswerPlan, answer: inference_client.Answer, request: SponsoredRequest | None
) -> ads.Selection | None:
    """Run the auction for a written answer, holding the winners' budgets; None if not asked."""
    if request is None or not request.allowed:
        return None
    grounding = {w.source_id for w in answer.attribution.sources if w.weight_ppm > 0}
    sources = [c for c in answer_plan.chosen if c.source_id in grounding]
    context = ads.AdContext(
        request_id=answer_plan.request_id,
        agent_id=answer_plan.agent_id,
        question=answer_plan.question,
        currency=settings.LICENSING_CURRENCY,
        source_texts=tuple(c.snippet for c in sources),
        provider_ids=tuple(dict.fromkeys(c.hit.provider_org_id for c in sources)),
        collection_ids=tuple(dict.fromkeys(c.hit.collection_id for c in sources)),
    )
    return ads.select_sponsored(context)


def attach(
    result: AnswerResult, selection: ads.Selection | None, request: SponsoredRequest | None
) -> AnswerResult:
    """Return the answer with its sponsored items. Their holds are spent and the servings
    recorded once the caller's transaction (the answer's metering) commits, off the request
    where a broker runs the task (`ads.serve_selection`)."""
    if selection is None or request is None:
        return result
    try:
        servings = ads.serve_selection(selection)
        items = tuple(
            ads.sponsored_item(s, sign=sign_receipt, click_url=f"{request.site_url}{s.click_path}")
            for s in servings
        )
    except Exception:
        logger.exception("Serving the sponsored items of %s failed", result.id)
        ads.release_selection(selection)
        return result
    return replace(result, sponsored=items)


def release(selection: ads.Selection | None) -> None:
    """Give back the budgets a selection holds (the answer failed before it was delivered)."""
    ads.release_selection(selection)
