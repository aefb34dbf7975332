"""The portal's billing page: balances, a Checkout top-up, Connect onboarding and payouts.

It calls billing's services as the signed-in member, like the REST API, and says plainly when
Stripe is not configured on this deployment.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import errors as accounts_errors
from accounts import services as accounts
from billing import errors as billing_errors
from billing import services as billing
from core.money import format_micros
from portal.actions import act

TOP_UP_CHOICES_MICROS = (10_000_000, 25_000_000, 100_000_000)
# What a top-up credits, by the role that has it (billing's purposes).
TOP_UP_PURPOSES = (
    (accounts.AGENT, "agent_wallet", "Agent wallet"),
    (accounts.ADVERTISER, "advertiser_prepaid", "Prepaid ad funds"),
)


def _acting(request, organization_id) -> dict:
    return {
        "actor": accounts.actor_for_user(user_id=request.user.pk),
        "organization_id": organization_id,
    }


@login_required
def billing_page(request, organization_id):
    acting = _acting(request, organization_id)
    try:
        org = accounts.get_organization(**acting)
        balance = billing.get_balance(**acting)
    except (accounts_errors.NotFound, billing_errors.NotFound):
        return render(request, "portal/not_found.html", status=404)
    provider = accounts.PROVIDER in org.roles
    payer = accounts.AGENT in org.roles or accounts.ADVERTISER in org.roles
    purposes = [(value, label) for role, value, label in TOP_UP_PURPOSES if role in org.roles]
    asked = request.GET.get("purpose")
    purpose = asked if asked in {value for value, _ in purposes} else None
    connect = payouts = None
    if provider:
        try:
            connect = billing.get_connect_status(**acting)
        except billing_errors.NotFound:
            connect = None
        payouts = billing.list_payouts(**acting, limit=20)
    return render(
        request,
        "portal/billing.html",
        {
            "org": org,
            "balance": balance,
            "stripe_configured": billing.stripe_configured(),
            "payer": payer,
            "advertiser": accounts.ADVERTISER in org.roles,
            "purposes": purposes,
            "purpose": purpose or (purposes[0][0] if purposes else ""),
            "provider": provider,
            "top_ups": billing.list_top_ups(**acting, limit=20) if payer else [],
            "top_up_choices": [(m, m / 1_000_000) for m in TOP_UP_CHOICES_MICROS],
            "connect": connect,
            "payouts": payouts or [],
            "minimum_payout": settings.BILLING_PAYOUT_MINIMUM_MICROS / 1_000_000,
            "currency": settings.LICENSING_CURRENCY,
        },
    )


def _back(organization_id):
    return redirect("portal:billing", organization_id=organization_id)


def _act(request, organization_id, service, then, **kwargs):
    """Call a billing service as the member and answer with `then(result)` (portal.actions)."""
    return act(
        request,
        lambda: service(**_acting(request, organization_id), **kwargs),
        then,
        back=reverse("portal:billing", kwargs={"organization_id": organization_id}),
    )


@login_required
@require_POST
def top_up(request, organization_id):
    """Start a Checkout top-up (of the agent wallet or the prepaid ad funds, as `purpose`
    says) and send the member to Stripe's page."""
    try:
        amount = int(request.POST.get("amount_micros", ""))
    except ValueError:
        amount = 0
    return _act(
        request,
        organization_id,
        billing.create_top_up,
        lambda started: redirect(started.checkout_url),
        amount_micros=amount,
        method="checkout",
        purpose=request.POST.get("purpose") or None,
    )


@login_required
@require_POST
def connect(request, organization_id):
    """Create (once) the provider's Express account and send it to Stripe's onboarding."""
    return _act(
        request,
        organization_id,
        billing.start_onboarding,
        lambda info: redirect(info.onboarding_url),
    )


@login_required
@require_POST
def payout(request, organization_id):
    """Pay out the provider's payable balance now."""

    def paid(made):
        amount = format_micros(made.amount_micros, min_places=2)
        messages.success(request, f"Payout of {amount} {made.currency}: {made.status}.")
        return _back(organization_id)

    return _act(request, organization_id, billing.request_payout, paid)
