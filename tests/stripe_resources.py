"""What localstripe lacks, as resources and plain route handlers (tests/stripe_server.py
adds them to its app): Connect accounts, account links and transfers, Checkout Sessions,
invoice finalize, balance transactions of the kinds localstripe refuses."""

import time
import warnings
from typing import Any

from aiohttp import web

# localstripe registers plain (non-async) handlers, which aiohttp still runs but warns about.
warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
from localstripe import resources, server  # noqa: E402
from localstripe.errors import UserError  # noqa: E402
from localstripe.resources import (  # noqa: E402
    BalanceTransaction,
    Invoice,
    PaymentIntent,
    StripeObject,
    store,
)


class EventPayload:
    """An event payload that is not a localstripe object (what `Event` needs: `_export`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return dict(self.data)


class Account(StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(self, type=None, metadata=None, capabilities=None, email=None, country=None):
        if type not in ("express", "standard", "custom"):
            raise UserError(400, "Bad request")
        super().__init__()
        self.type = type
        self.metadata = metadata or {}
        self.email = email
        self.country = country or "US"
        self.capabilities = {k: "inactive" for k in (capabilities or {})}
        self.payouts_enabled = False
        self.charges_enabled = False
        self.details_submitted = False


class Transfer(StripeObject):
    object = "transfer"
    _id_prefix = "tr_"

    def __init__(self, amount=None, currency=None, destination=None, metadata=None, **kwargs):
        amount = resources.try_convert_to_int(amount)
        if not isinstance(amount, int) or amount <= 0 or not currency:
            raise UserError(400, "Bad request")
        account = store.get(f"account:{destination}")
        if account is None:
            raise UserError(404, f"No such destination: '{destination}'")
        if not account.payouts_enabled:
            raise UserError(400, "The destination account cannot receive transfers yet.")
        super().__init__()
        self.amount = amount
        self.currency = currency
        self.destination = destination
        self.metadata = metadata or {}
        self.transfer_group = kwargs.get("transfer_group")
        self.reversed = False
        self.amount_reversed = 0
        self.balance_transaction = record_balance_transaction(
            -amount, currency, "transfer", self.id
        )


def record_balance_transaction(amount: int, currency: str, kind: str, source: str) -> str:
    """Record a balance transaction of a kind localstripe's own class refuses."""
    txn = BalanceTransaction.__new__(BalanceTransaction)
    StripeObject.__init__(txn)
    txn.amount, txn.currency, txn.type, txn.source = amount, currency, kind, source
    txn.available_on, txn.description, txn.exchange_rate = txn.created, None, 1.0
    txn.fee, txn.fee_details, txn.status = 0, [], "available"
    txn.reporting_category = kind
    return txn.id


def json_response(obj: Any, status: int = 200) -> web.Response:
    body = obj._export() if hasattr(obj, "_export") else obj
    return web.json_response(body, status=status)


def create_handler(cls):
    async def handler(request):
        data = await server.get_post_data(request) or {}
        data.pop("expand", None)
        return json_response(cls._api_create(**data))

    return handler


def retrieve_handler(kind: str):
    async def handler(request):
        obj = store.get(f"{kind}:{request.match_info['id']}")
        if obj is None:
            raise UserError(404, "Not Found")
        return json_response(obj)

    return handler


async def account_link(request):
    data = await server.get_post_data(request) or {}
    account = data.get("account", "")
    if store.get(f"account:{account}") is None or data.get("type") != "account_onboarding":
        raise UserError(400, "Bad request")
    now = int(time.time())
    host = request.host
    return web.json_response(
        {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"http://{host}/connect/onboarding/{account}",
        }
    )


class CheckoutSession(StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"


async def create_session(request):
    data = await server.get_post_data(request) or {}
    items = data.get("line_items") or []
    if data.get("mode") != "payment" or len(items) != 1:
        raise UserError(400, "Bad request")
    price = items[0].get("price_data") or {}
    amount = resources.try_convert_to_int(price.get("unit_amount"))
    quantity = resources.try_convert_to_int(items[0].get("quantity", 1))
    intent_data = data.get("payment_intent_data") or {}
    intent = PaymentIntent(
        amount=amount * quantity,
        currency=price.get("currency"),
        customer=data.get("customer"),
        metadata=intent_data.get("metadata"),
    )
    session = CheckoutSession()
    session.mode = "payment"
    session.customer = data.get("customer")
    session.client_reference_id = data.get("client_reference_id")
    session.metadata = data.get("metadata") or {}
    session.amount_total = intent.amount
    session.currency = intent.currency
    session.payment_intent = intent.id
    session.payment_status = "unpaid"
    session.status = "open"
    session.success_url = data.get("success_url")
    session.cancel_url = data.get("cancel_url")
    session.url = f"http://{request.host}/checkout/{session.id}"
    return json_response(session)


async def finalize_invoice(request):
    invoice = Invoice._api_retrieve(request.match_info["id"])
    if invoice.status != "draft":
        raise UserError(400, "This invoice is not a draft.")
    invoice._finalize()
    invoice.hosted_invoice_url = f"http://{request.host}/invoice/{invoice.id}"
    return json_response(invoice)


def card_payment_method(number: str) -> str:
    method = resources.PaymentMethod(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    )
    return method.id
