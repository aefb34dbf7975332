"""A local Stripe-compatible server for the tests: localstripe plus what our flows need.

localstripe (GPL; a test-only dependency, never imported by shipped code) keeps customers,
payment methods, payment intents, charges, refunds, invoices and balance transactions. This
module runs its aiohttp app in a thread on a free loopback port and adds:

- Connect: accounts (`/v1/accounts`), account links, transfers and transfer reversals, with
  their balance transactions and `account.updated` / `transfer.reversed` events;
- Checkout Sessions (`/v1/checkout/sessions`) over a PaymentIntent, `checkout.session.completed`;
- `charge.refunded` events, invoice finalize, `created` filters on balance transactions;
- idempotency-key replay (the same key returns the first response; other parameters are a
  400 `idempotency_error`), as Stripe does for 24 hours;
- `/_config/fail`: make the next matching requests fail (before or after they take effect), to
  test retries; `/_config/test/...`: what a payer or Stripe does outside our API (pay a Checkout
  Session, enable an account's payouts, reverse a transfer, pay an invoice).

Events are not sent by HTTP: they are kept in order (`LocalStripe.events`), and tests deliver
them to the webhook endpoint signed with the webhook secret, as Stripe signs them.
"""

import asyncio
import hashlib
import hmac
import json
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from aiohttp import web

# localstripe registers plain (non-async) handlers, which aiohttp still runs but warns about.
warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
from localstripe import resources, server  # noqa: E402
from localstripe.errors import UserError  # noqa: E402
from localstripe.resources import (  # noqa: E402
    BalanceTransaction,
    Charge,
    Event,
    Invoice,
    PaymentIntent,
    Refund,
    StripeObject,
    store,
)

WEBHOOK_SECRET = "whsec_local_test_secret"
SECRET_KEY = "sk_test_local"


class _Dict:
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
        self.balance_transaction = _balance_transaction(-amount, currency, "transfer", self.id)


def _balance_transaction(amount: int, currency: str, kind: str, source: str) -> str:
    """Record a balance transaction of a kind localstripe's own class refuses."""
    txn = BalanceTransaction.__new__(BalanceTransaction)
    StripeObject.__init__(txn)
    txn.amount, txn.currency, txn.type, txn.source = amount, currency, kind, source
    txn.available_on, txn.description, txn.exchange_rate = txn.created, None, 1.0
    txn.fee, txn.fee_details, txn.status = 0, [], "available"
    txn.reporting_category = kind
    return txn.id


class LocalStripe:
    """The running server: its URL, the events it emitted, and its failure switches."""

    def __init__(self) -> None:
        self.url = ""
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, path, idempotency key)
        self._idempotent: dict[str, tuple[str, int, bytes]] = {}
        self._failures: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what tests use -------------------------------------------------------------------

    def reset(self) -> None:
        store.clear()
        self.events.clear()
        self.requests.clear()
        self._idempotent.clear()
        self._failures.clear()

    def fail_next(self, path_prefix: str, *, count: int = 1, after: bool = False) -> None:
        """Make the next `count` POSTs under `path_prefix` fail with a 500 (with `after`, once
        they took effect: the caller never hears that they did)."""
        self._failures.append({"prefix": path_prefix, "count": count, "after": after})

    def signed(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET
    ) -> tuple[bytes, str]:
        """Return an event's body and its Stripe-Signature header."""
        payload = json.dumps(event).encode()
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
        ).hexdigest()
        return payload, f"t={timestamp},v1={signature}"

    def take_events(self, *types: str) -> list[dict[str, Any]]:
        """Return (and forget) the events emitted so far, of these types if any are named."""
        taken = [e for e in self.events if not types or e["type"] in types]
        self.events[:] = [e for e in self.events if e not in taken]
        return taken

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server's loop (the store is not shared across threads otherwise)."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(_in_loop(fn), self._loop)
        return future.result(timeout=10)

    # -- the server -----------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(server.app)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="local-stripe", daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the local Stripe server did not start")

    def _emit(self, event: Event) -> None:
        self.events.append(event._export())


async def _in_loop(fn: Callable[[], Any]) -> Any:
    return fn()


_server = LocalStripe()


def local_stripe() -> LocalStripe:
    """Return the one server of this process, started (and patched) the first time."""
    if not _server.url:
        _patch(_server)
        _server.start()
    return _server


# -- what localstripe lacks ---------------------------------------------------------------


def _patch(state: LocalStripe) -> None:
    resources.Store.dump_to_disk = lambda self: None  # no /tmp pickle shared between runs
    resources.schedule_webhook = state._emit  # kept in order; tests deliver them signed
    _patch_classes(state)
    app = server.app
    app.middlewares.append(_idempotency(state))
    routes = [
        ("POST", "/v1/accounts", _create(Account)),
        ("GET", "/v1/accounts/{id}", _retrieve("account")),
        ("POST", "/v1/account_links", _account_link),
        ("POST", "/v1/transfers", _create(Transfer)),
        ("GET", "/v1/transfers/{id}", _retrieve("transfer")),
        ("POST", "/v1/transfers/{id}/reversals", _reverse_transfer(state)),
        ("POST", "/v1/checkout/sessions", _create_session),
        ("GET", "/v1/checkout/sessions/{id}", _retrieve("checkout.session")),
        ("POST", "/v1/invoices/{id}/finalize", _finalize_invoice),
        ("POST", "/_config/fail", _config_fail(state)),
        ("POST", "/_config/test/checkout/sessions/{id}/pay", _pay_session(state)),
        ("POST", "/_config/test/accounts/{id}/enable", _enable_account(state)),
        ("POST", "/_config/test/invoices/{id}/pay", _pay_invoice(state)),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)


def _patch_classes(state: LocalStripe) -> None:
    create_refund = Refund._api_create.__func__  # type: ignore[attr-defined]

    def refund(cls, **data):
        obj = create_refund(cls, **data)
        state._emit(Event("charge.refunded", Charge._api_retrieve(obj.charge)))
        return obj

    Refund._api_create = classmethod(refund)
    stripe_only = {
        "collection_method",
        "days_until_due",
        "pending_invoice_items_behavior",
        "auto_advance",
    }

    def invoice(cls, **data):
        # localstripe makes invoices for subscriptions only; Stripe's own (pending items) here.
        return cls(**{k: v for k, v in data.items() if k not in stripe_only})

    Invoice._api_create = classmethod(invoice)
    list_txns = BalanceTransaction._api_list_all.__func__  # type: ignore[attr-defined]

    def list_balance(cls, url, created=None, **kwargs):
        found = list_txns(cls, url, **kwargs)
        if isinstance(created, dict):
            bounds = {k: int(v) for k, v in created.items()}
            tests = {
                "gte": lambda c, v: c >= v,
                "gt": lambda c, v: c > v,
                "lte": lambda c, v: c <= v,
                "lt": lambda c, v: c < v,
            }
            found._list = [
                t for t in found._list if all(tests[k](t.created, v) for k, v in bounds.items())
            ]
        return found

    BalanceTransaction._api_list_all = classmethod(list_balance)


def _json(obj: Any, status: int = 200) -> web.Response:
    body = obj._export() if hasattr(obj, "_export") else obj
    return web.json_response(body, status=status)


def _create(cls):
    async def handler(request):
        data = await server.get_post_data(request) or {}
        data.pop("expand", None)
        return _json(cls._api_create(**data))

    return handler


def _retrieve(kind: str):
    async def handler(request):
        obj = store.get(f"{kind}:{request.match_info['id']}")
        if obj is None:
            raise UserError(404, "Not Found")
        return _json(obj)

    return handler


async def _account_link(request):
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


def _reverse_transfer(state: LocalStripe):
    async def handler(request):
        transfer = store.get(f"transfer:{request.match_info['id']}")
        if transfer is None:
            raise UserError(404, "Not Found")
        if transfer.reversed:
            raise UserError(400, "The transfer is fully reversed already.")
        transfer.reversed = True
        transfer.amount_reversed = transfer.amount
        reversal_id = f"trr_{resources.random_id(14)}"
        _balance_transaction(transfer.amount, transfer.currency, "transfer_refund", reversal_id)
        state._emit(Event("transfer.reversed", transfer))
        return web.json_response(
            {"id": reversal_id, "object": "transfer_reversal", "amount": transfer.amount}
        )

    return handler


class CheckoutSession(StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"


async def _create_session(request):
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
    return _json(session)


async def _finalize_invoice(request):
    invoice = Invoice._api_retrieve(request.match_info["id"])
    if invoice.status != "draft":
        raise UserError(400, "This invoice is not a draft.")
    invoice._finalize()
    invoice.hosted_invoice_url = f"http://{request.host}/invoice/{invoice.id}"
    return _json(invoice)


def _card(number: str) -> str:
    method = resources.PaymentMethod(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    )
    return method.id


def _pay_session(state: LocalStripe):
    async def handler(request):
        session = store.get(f"checkout.session:{request.match_info['id']}")
        if session is None:
            raise UserError(404, "Not Found")
        intent = PaymentIntent._api_retrieve(session.payment_intent)
        intent.payment_method = _card("4242424242424242")
        intent._confirm(on_failure_now=intent._report_failure)
        session.payment_status = "paid"
        session.status = "complete"
        state._emit(Event("checkout.session.completed", session))
        return _json(session)

    return handler


def _enable_account(state: LocalStripe):
    async def handler(request):
        account = store.get(f"account:{request.match_info['id']}")
        if account is None:
            raise UserError(404, "Not Found")
        account.payouts_enabled = account.charges_enabled = account.details_submitted = True
        account.capabilities = {k: "active" for k in account.capabilities}
        state._emit(Event("account.updated", account))
        return _json(account)

    return handler


def _pay_invoice(state: LocalStripe):
    async def handler(request):
        invoice = Invoice._api_retrieve(request.match_info["id"])
        if invoice.status != "open":
            raise UserError(400, "This invoice is not open.")
        paid = invoice._export()
        paid.update(status="paid", amount_paid=invoice.total, amount_remaining=0)
        charge_id = f"ch_{resources.random_id(14)}"
        _balance_transaction(invoice.total, invoice.currency, "charge", charge_id)
        paid["charge"] = charge_id
        invoice._voided = False
        state._emit(Event("invoice.paid", _Dict(paid)))
        return web.json_response(paid)

    return handler


def _config_fail(state: LocalStripe):
    async def handler(request):
        data = await request.json()
        state.fail_next(
            data["prefix"], count=int(data.get("count", 1)), after=bool(data.get("after"))
        )
        return web.Response()

    return handler


def _idempotency(state: LocalStripe):
    """Replay the first response to a POST with the same Idempotency-Key (Stripe's rule)."""

    @web.middleware
    async def middleware(request, handler):
        key = request.headers.get("Idempotency-Key", "")
        state.requests.append((request.method, request.path, key))
        failure = next(
            (
                f
                for f in state._failures
                if request.method == "POST" and request.path.startswith(f["prefix"]) and f["count"]
            ),
            None,
        )
        if failure and not failure["after"]:
            failure["count"] -= 1
            return web.json_response({"error": {"message": "injected failure"}}, status=500)
        if request.method != "POST" or not key or request.path.startswith("/_config"):
            return await handler(request)
        body = await request.read()
        fingerprint = hashlib.sha256(request.path.encode() + b"\0" + body).hexdigest()
        if key in state._idempotent:
            seen, status, content = state._idempotent[key]
            if seen != fingerprint:
                return web.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with.",
                        }
                    },
                    status=400,
                )
            return web.Response(
                body=content,
                status=status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        response = await handler(request)
        if response.status < 500:
            state._idempotent[key] = (fingerprint, response.status, response.body)
        if failure and failure["after"]:
            failure["count"] -= 1
            return web.json_response({"error": {"message": "injected failure"}}, status=500)
        return response

    return middleware
