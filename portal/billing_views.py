"""The portal's billing page: balances, a Checkout top-up, Connect onboarding and payouts.

It calls billing's services as the signed-in member, like the REST API, and says plainly when
Stripe is not configured on this deployment.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import errors as accounts_errors
from accounts import services as accounts
from billing import errors as billing_errors
from billing import services as billing

TOP_UP_CHOICES_MICROS = (10_000_000, 25_000_000, 100_000_000)


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


@login_required
@require_POST
def top_up(request, organization_id):
    """Start a Checkout top-up and send the member to Stripe's page."""
    try:
        amount = int(request.POST.get("amount_micros", ""))
    except ValueError:
        amount = 0
    try:
        started = billing.create_top_up(
            **_acting(request, organization_id), amount_micros=amount, method="checkout"
        )
    except (accounts_errors.NotFound, billing_errors.NotFound):
        return render(request, "portal/not_found.html", status=404)
    except billing_errors.DomainError as exc:
        messages.error(request, exc.message)
        return _back(organization_id)
    return redirect(started.checkout_url)


@login_required
@require_POST
def connect(request, organization_id):
    """Create (once) the provider's Express account and send it to Stripe's onboarding."""
    try:
        info = billing.start_onboarding(**_acting(request, organization_id))
    except (accounts_errors.NotFound, billing_errors.NotFound):
        return render(request, "portal/not_found.html", status=404)
    except billing_errors.DomainError as exc:
        messages.error(request, exc.message)
        return _back(organization_id)
    return redirect(info.onboarding_url)


@login_required
@require_POST
def payout(request, organization_id):
    """Pay out the provider's payable balance now."""
    try:
        made = billing.request_payout(**_acting(request, organization_id))
    except (accounts_errors.NotFound, billing_errors.NotFound):
        return render(request, "portal/not_found.html", status=404)
    except billing_errors.DomainError as exc:
        messages.error(request, exc.message)
        return _back(organization_id)
    messages.success(
        request, f"Payout of {made.amount_micros / 1_000_000:.2f} {made.currency}: {made.status}."
    )
    return _back(organization_id)
