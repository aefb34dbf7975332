"""The agent operator's "try a question" playground and receipt check.

A question is answered by the same use case as `POST /api/v1/answers` (marketplace's answer
services: plan, then answer), as the signed-in member of the agent organization, metered and
charged like any answer. The page shows the cited, attributed answer, what each source earned
and why, the total cost, and the signed receipt with a link to check it.
"""

import json
import re

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from accounts import services as accounts
from billing import services as billing
from core.errors import DomainError, RateLimited
from core.money import format_money
from licensing import services as licensing
from marketplace.services import answers, receipts
from portal.agent_forms import PlaygroundForm, ReceiptForm
from portal.charts import Share, share_bars
from portal.pages import actor_of, organization_page, show_error

# The answer use case's field names -> the form's
FIELDS = {"question": "question", "max_price_micros": "max_price", "max_sources": "max_sources"}
MARKER = re.compile(r"\[(\d+)\]")


def _fresh_form() -> PlaygroundForm:
    return PlaygroundForm(initial={"request_id": answers.new_request_id("pg")})


def _linked_markers(text: str, numbers: set[int]) -> SafeString:
    """Return the answer's text, escaped, with each [n] of a shown source linking to it."""

    def link(match: re.Match) -> str:
        number = int(match.group(1))
        if number not in numbers:
            return match.group(0)
        return str(
            format_html(
                '<a class="marker" href="#source-{}" aria-label="source {}">[{}]</a>',
                number,
                number,
                number,
            )
        )

    return mark_safe(MARKER.sub(link, str(escape(text))))  # noqa: S308 - escaped, then linked


def _shown_answer(result: answers.AnswerResult) -> dict:
    names = answers.names_for(collection_ids={s.collection_id for s in result.sources})
    currency = result.currency
    sources = [
        {
            "source": s,
            "collection": names.get(str(s.collection_id), ""),
            "share_percent": s.weight_ppm / 10_000,
        }
        for s in result.sources
    ]
    return {
        "result": result,
        "html": _linked_markers(result.text, {s.number for s in result.sources}),
        "sources": sources,
        "provider_bars": share_bars(
            [
                Share(
                    p.provider_name,
                    p.weight_ppm,
                    f"{p.weight_ppm / 10_000:.1f}% · {format_money(p.amount_micros, currency)}",
                )
                for p in result.providers
            ],
            title="Share of the answer by provider",
        ),
        "unattributed_percent": result.unattributed_ppm / 10_000,
        "receipt_json": json.dumps(result.receipt, indent=2, sort_keys=True),
    }


def _refusal(exc: DomainError) -> dict:
    """What the page says about a refusal: its message, and the offers or top-up that help."""
    offers = [
        {"name": o["name"], "provider_name": o["provider_name"], "id": o["offer_id"]}
        for o in exc.details.get("offers", [])
    ]
    message = exc.message
    if exc.code == "price_limit_too_low":
        cheapest = exc.details["cheapest_source_micros"]
        message = (
            "Every relevant source costs more than your limit: the cheapest costs "
            f"{format_money(cheapest, exc.details['quote']['currency'])}. Raise the limit, "
            "or leave it empty."
        )
    if exc.code == "insufficient_funds" and "needed_micros" in exc.details:
        d = exc.details
        message = (
            f"This answer needs up to {format_money(d['needed_micros'], d['currency'])}; "
            f"your wallet has {format_money(max(d['available_micros'], 0), d['currency'])} "
            f"available ({format_money(d['reserved_micros'], d['currency'])} held for answers "
            "in progress). Nothing was asked."
        )
    return {"code": exc.code, "message": message, "status": exc.status, "offers": offers}


def _ask(request, org, form: PlaygroundForm) -> tuple[dict | None, dict | None, int]:
    """Answer the form's question; return (answer shown, refusal shown, HTTP status)."""
    data = form.cleaned_data
    request_id = data["request_id"]
    if licensing.is_metered(request_id=request_id):
        form.add_error(
            None,
            "This question was already answered and charged (the form was sent twice); "
            "ask again to get a new answer.",
        )
        return None, None, 409
    decision = accounts.hit_rate_limit(
        bucket=f"user:{request.user.pk}", limit=settings.API_KEY_RATE_LIMIT_PER_MINUTE
    )
    try:
        if not decision.allowed:
            raise RateLimited(
                f"Too many questions: try again in {decision.retry_after_s} s.",
                retry_after_s=decision.retry_after_s,
            )
        agent = accounts.acting_organization(
            actor=actor_of(request),
            role=accounts.AGENT,
            scope=accounts.QUERY,
            organization_id=org.id,
        )
        plan = answers.plan(
            agent_id=agent.id,
            question=data["question"],
            request_id=request_id,
            max_sources=data["max_sources"],
            max_price_micros=data["max_price"],
        )
        result = answers.answer_question(plan)
    except DomainError as exc:
        if set(exc.details) & set(FIELDS) and exc.status == 400:
            return None, None, show_error(form, exc, fields=FIELDS)
        return None, _refusal(exc), exc.status
    return _shown_answer(result), None, 200


@organization_page(accounts.AGENT)
@require_http_methods(["GET", "POST"])
def playground(request, org):
    """Ask a question as the agent and see the cited, attributed answer, its cost and receipt."""
    shown = refusal = None
    status = 200
    if request.method == "POST":
        form = PlaygroundForm(request.POST)
        if form.is_valid():
            shown, refusal, status = _ask(request, org, form)
        else:
            status = 400
        if shown is not None:  # the next question is a new request
            asked = form.cleaned_data
            form = _fresh_form()
            form.initial.update(
                question=asked["question"],
                max_sources=asked["max_sources"],
                max_price=request.POST.get("max_price", ""),
            )
    else:
        form = _fresh_form()
    balance = billing.get_balance(actor=actor_of(request), organization_id=org.id)
    return render(
        request,
        "portal/agent/playground.html",
        {
            "org": org,
            "form": form,
            "answer": shown,
            "refusal": refusal,
            "wallet": next(
                (c for c in balance.currencies if c.currency == settings.LICENSING_CURRENCY),
                None,
            ),
            "postpaid": balance.postpaid,
            "currency": settings.LICENSING_CURRENCY,
            "verify_url": reverse("portal:receipt-verify"),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def verify_receipt(request):
    """Check a receipt's signature against this deployment's keys, and whether it is metered."""
    form = ReceiptForm(request.POST or None)
    verification = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                receipt = json.loads(form.cleaned_data["receipt"])
            except ValueError:
                form.add_error("receipt", "This is not JSON: paste the receipt object whole.")
            else:
                verification = receipts.check_receipt(receipt)
                status = 200
    return render(
        request,
        "portal/agent/receipt_verify.html",
        {"form": form, "verification": verification, "keys": receipts.public_keys()},
        status=status,
    )
