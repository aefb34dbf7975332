"""The Stripe gateway: the one module that calls the `stripe` SDK.

Every call runs outside any database transaction (a Stripe call inside one would hold its
locks for a network round trip, and a rollback would not undo the charge): `_client()` refuses
to run inside an atomic block. Every call that creates something carries an idempotency key
derived from our own row (`top-up-<id>`, `payout-<id>`), so the SDK's retries and ours never
charge or pay twice. Amounts cross this boundary in the currency's minor units (cents).

Without STRIPE_SECRET_KEY every function raises `StripeNotConfigured` (409,
`stripe_not_configured`); nothing else in the project needs Stripe.
"""

import functools
import json
import os
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.db import connection

from billing import errors
from core.cache import LocalCache


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    client_secret: str
    status: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class CheckoutSessionInfo:
    id: str
    url: str
    payment_intent_id: str


@dataclass(frozen=True)
class AccountInfo:
    id: str
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class AccountLinkInfo:
    url: str
    expires_at: int


@dataclass(frozen=True)
class InvoiceInfo:
    id: str
    status: str
    hosted_invoice_url: str
    amount_due_minor: int


@dataclass(frozen=True)
class InvoiceLine:
    amount_minor: int
    description: str


@dataclass(frozen=True)
class BalanceTransactionInfo:
    id: str
    type: str
    amount_minor: int  # signed: money in positive, out negative
    fee_minor: int
    currency: str
    source: str  # the charge, refund or transfer it comes from
    created: int


def configured() -> bool:
    """Say whether Stripe is configured (a secret key is set)."""
    return bool(settings.STRIPE_SECRET_KEY)


def _not_configured() -> errors.StripeNotConfigured:
    return errors.StripeNotConfigured(
        "Stripe is not configured on this deployment (no STRIPE_SECRET_KEY): payments and "
        "payouts are unavailable; everything else works."
    )


# One client per process and configuration: it keeps its HTTP connection pool.
_clients: LocalCache[tuple[int, str, str, int, int], stripe.StripeClient] = LocalCache(
    "billing.stripe_clients", maxsize=4, ttl_s=None
)


def _new_client(api_key: str, api_base: str, retries: int, timeout_s: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=retries,
        http_client=stripe.new_default_http_client(timeout=timeout_s),
    )


def _client() -> stripe.StripeClient:
    if connection.in_atomic_block:
        raise RuntimeError(
            "Stripe is never called inside a database transaction: call it after commit."
        )
    if not configured():
        raise _not_configured()
    key = (
        os.getpid(),  # a forked child never shares its parent's sockets
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_S,
    )
    return _clients.get_or_compute(key, lambda: _new_client(*key[1:]))


def _call(method: Any, params: dict[str, Any], idempotency_key: str | None = None) -> Any:
    """Call one SDK method; map Stripe's failures to domain errors."""
    options: dict[str, Any] = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    try:
        return method(params=params, options=options)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise errors.StripeUnavailable(
            "Stripe could not be reached or failed; try again.",
            details={"stripe_error": type(exc).__name__},
        ) from exc
    except stripe.CardError as exc:
        raise errors.PaymentRefused(
            exc.user_message or "The card was declined.",
            details={"decline_code": getattr(exc, "code", None) or ""},
        ) from exc
    except stripe.StripeError as exc:  # invalid request, authentication, idempotency reuse
        raise errors.StripeRefused(
            "Stripe refused the request.",
            details={
                "stripe_error": type(exc).__name__,
                "stripe_message": (exc.user_message or str(exc))[:300],
            },
        ) from exc


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def create_customer(*, name: str, organization_id: str, idempotency_key: str) -> str:
    """Create a Stripe customer for an organization; return its id."""
    customer = _call(
        _client().v1.customers.create,
        {"name": name[:250], "metadata": {"organization_id": organization_id}},
        idempotency_key,
    )
    return str(customer.id)


def attach_payment_method(*, payment_method_id: str, customer_id: str) -> None:
    """Attach a card the customer saved (with a SetupIntent, client side) for later use."""
    attach = functools.partial(_client().v1.payment_methods.attach, payment_method_id)
    _call(attach, {"customer": customer_id})


def create_payment_intent(
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    metadata: dict[str, str],
    idempotency_key: str,
    payment_method_id: str = "",
    off_session: bool = False,
) -> PaymentIntentInfo:
    """Create a PaymentIntent (confirmed at once, off session, with a saved card)."""
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "customer": customer_id,
        "metadata": metadata,
        "payment_method_types": ["card"],
    }
    if off_session:
        params.update(payment_method=payment_method_id, confirm=True, off_session=True)
    intent = _call(_client().v1.payment_intents.create, params, idempotency_key)
    return PaymentIntentInfo(
        id=str(intent.id),
        client_secret=_str(intent.client_secret),
        status=str(intent.status),
        amount_minor=int(intent.amount),
        currency=str(intent.currency).upper(),
    )


def create_checkout_session(
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    description: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CheckoutSessionInfo:
    """Create a Checkout Session for a one-off payment on Stripe's hosted page."""
    session = _call(
        _client().v1.checkout.sessions.create,
        {
            "mode": "payment",
            "customer": customer_id,
            "client_reference_id": metadata.get("top_up_id", ""),
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_minor,
                        "product_data": {"name": description},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
        idempotency_key,
    )
    return CheckoutSessionInfo(
        id=str(session.id), url=_str(session.url), payment_intent_id=_str(session.payment_intent)
    )


def create_express_account(*, organization_id: str, idempotency_key: str) -> AccountInfo:
    """Create a Connect Express account for a provider."""
    account = _call(
        _client().v1.accounts.create,
        {
            "type": "express",
            "metadata": {"organization_id": organization_id},
            "capabilities": {"transfers": {"requested": True}},
        },
        idempotency_key,
    )
    return _account_info(account)


def retrieve_account(*, account_id: str) -> AccountInfo:
    retrieve = functools.partial(_client().v1.accounts.retrieve, account_id)
    return _account_info(_call(retrieve, {}))


def _account_info(account: Any) -> AccountInfo:
    return AccountInfo(
        id=str(account.id),
        payouts_enabled=bool(getattr(account, "payouts_enabled", None)),
        details_submitted=bool(getattr(account, "details_submitted", None)),
    )


def create_account_link(*, account_id: str, refresh_url: str, return_url: str) -> AccountLinkInfo:
    """Create a one-time onboarding link (account links expire; a new one is made each time)."""
    link = _call(
        _client().v1.account_links.create,
        {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": refresh_url,
            "return_url": return_url,
        },
    )
    return AccountLinkInfo(url=str(link.url), expires_at=int(link.expires_at))


def create_transfer(
    *,
    amount_minor: int,
    currency: str,
    destination: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    """Transfer funds to a connected account; return the transfer's id."""
    transfer = _call(
        _client().v1.transfers.create,
        {
            "amount": amount_minor,
            "currency": currency.lower(),
            "destination": destination,
            "metadata": metadata,
            "transfer_group": metadata.get("payout_id", ""),
        },
        idempotency_key,
    )
    return str(transfer.id)


def create_invoice(
    *,
    customer_id: str,
    currency: str,
    lines: list[InvoiceLine],
    description: str,
    metadata: dict[str, str],
    days_until_due: int,
    idempotency_key: str,
) -> InvoiceInfo:
    """Create, fill and finalize an invoice sent to the customer (one item per line)."""
    client = _client()
    for n, line in enumerate(lines):
        _call(
            client.v1.invoice_items.create,
            {
                "customer": customer_id,
                "amount": line.amount_minor,
                "currency": currency.lower(),
                "description": line.description[:500],
                "metadata": metadata,
            },
            f"{idempotency_key}-item-{n}",
        )
    invoice = _call(
        client.v1.invoices.create,
        {
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
            "description": description[:500],
            "metadata": metadata,
        },
        idempotency_key,
    )
    invoice = _call(
        functools.partial(client.v1.invoices.finalize_invoice, str(invoice.id)),
        {},
        f"{idempotency_key}-finalize",
    )
    return InvoiceInfo(
        id=str(invoice.id),
        status=str(invoice.status),
        hosted_invoice_url=_str(getattr(invoice, "hosted_invoice_url", None)),
        amount_due_minor=int(invoice.amount_due),
    )


def list_balance_transactions(*, created_gte: int, created_lt: int) -> list[BalanceTransactionInfo]:
    """Return Stripe's balance transactions created in [created_gte, created_lt)."""
    page = _call(
        _client().v1.balance_transactions.list,
        {"created": {"gte": created_gte, "lt": created_lt}, "limit": 100},
    )
    found = []
    for txn in page.auto_paging_iter():
        found.append(
            BalanceTransactionInfo(
                id=str(txn.id),
                type=str(txn.type),
                amount_minor=int(txn.amount),
                fee_minor=int(getattr(txn, "fee", None) or 0),
                currency=str(txn.currency).upper(),
                source=_str(getattr(txn, "source", None)),
                created=int(txn.created),
            )
        )
    return found


def verified_event(*, payload: bytes, signature_header: str) -> dict[str, Any]:
    """Return the webhook event if its signature over the raw body is Stripe's and recent.

    Raises `BadSignature` (400) otherwise: no secret, a wrong signature, or a timestamp older
    than STRIPE_WEBHOOK_TOLERANCE_S.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise errors.BadSignature(
            "Webhooks are not configured on this deployment (no STRIPE_WEBHOOK_SECRET)."
        )
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature_header,
            secret,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_S,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise errors.BadSignature(
            f"The Stripe-Signature header does not verify: {exc}".rstrip(".") + "."
        ) from exc
    try:
        event: Any = json.loads(payload)
    except ValueError as exc:
        raise errors.BadSignature("The webhook body is not JSON.") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise errors.BadSignature("The webhook body is not a Stripe event.")
    return event
