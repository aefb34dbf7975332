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
  Session, enable or disable an account's payouts, pay an invoice).

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
    store,
)

from tests.stripe_resources import (  # noqa: E402
    Account,
    EventPayload,
    Transfer,
    account_link,
    card_payment_method,
    create_handler,
    create_session,
    finalize_invoice,
    json_response,
    record_balance_transaction,
    retrieve_handler,
)

WEBHOOK_SECRET = "whsec_local_test_secret"
SECRET_KEY = "sk_test_local"


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

    def fail_next(
        self, path_prefix: str, *, count: int = 1, after: bool = False, exact: bool = False
    ) -> None:
        """Make the next `count` POSTs under `path_prefix` (to it alone, with `exact`) fail with
        a 500 (with `after`, once they took effect: the caller never hears that they did)."""
        self._failures.append(
            {"prefix": path_prefix, "count": count, "after": after, "exact": exact}
        )

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
        ("POST", "/v1/accounts", create_handler(Account)),
        ("GET", "/v1/accounts/{id}", retrieve_handler("account")),
        ("POST", "/v1/account_links", account_link),
        ("POST", "/v1/transfers", create_handler(Transfer)),
        ("GET", "/v1/transfers/{id}", retrieve_handler("transfer")),
        ("POST", "/v1/transfers/{id}/reversals", _reverse_transfer(state)),
        ("POST", "/v1/checkout/sessions", create_session),
        ("GET", "/v1/checkout/sessions/{id}", retrieve_handler("checkout.session")),
        ("POST", "/v1/invoices/{id}/finalize", finalize_invoice),
        ("POST", "/_config/fail", _config_fail(state)),
        ("POST", "/_config/test/checkout/sessions/{id}/pay", _pay_session(state)),
        ("POST", "/_config/test/accounts/{id}/enable", _enable_account(state, True)),
        ("POST", "/_config/test/accounts/{id}/disable", _enable_account(state, False)),
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
        record_balance_transaction(
            transfer.amount, transfer.currency, "transfer_refund", reversal_id
        )
        state._emit(Event("transfer.reversed", transfer))
        return web.json_response(
            {"id": reversal_id, "object": "transfer_reversal", "amount": transfer.amount}
        )

    return handler


def _pay_session(state: LocalStripe):
    async def handler(request):
        session = store.get(f"checkout.session:{request.match_info['id']}")
        if session is None:
            raise UserError(404, "Not Found")
        intent = PaymentIntent._api_retrieve(session.payment_intent)
        intent.payment_method = card_payment_method("4242424242424242")
        intent._confirm(on_failure_now=intent._report_failure)
        session.payment_status = "paid"
        session.status = "complete"
        state._emit(Event("checkout.session.completed", session))
        return json_response(session)

    return handler


def _enable_account(state: LocalStripe, enabled: bool):
    """Stripe enables an account's payouts (onboarding finished) or disables them (say, for
    missing information), and says so with `account.updated`."""

    async def handler(request):
        account = store.get(f"account:{request.match_info['id']}")
        if account is None:
            raise UserError(404, "Not Found")
        account.payouts_enabled = account.charges_enabled = enabled
        account.details_submitted = True
        account.capabilities = {
            k: "active" if enabled else "inactive" for k in account.capabilities
        }
        state._emit(Event("account.updated", account))
        return json_response(account)

    return handler


def _pay_invoice(state: LocalStripe):
    async def handler(request):
        invoice = Invoice._api_retrieve(request.match_info["id"])
        if invoice.status != "open":
            raise UserError(400, "This invoice is not open.")
        paid = invoice._export()
        paid.update(status="paid", amount_paid=invoice.total, amount_remaining=0)
        charge_id = f"ch_{resources.random_id(14)}"
        record_balance_transaction(invoice.total, invoice.currency, "charge", charge_id)
        paid["charge"] = charge_id
        invoice._voided = False
        state._emit(Event("invoice.paid", EventPayload(paid)))
        return web.json_response(paid)

    return handler


def _config_fail(state: LocalStripe):
    async def handler(request):
        data = await request.json()
        state.fail_next(
            data["prefix"],
            count=int(data.get("count", 1)),
            after=bool(data.get("after")),
            exact=bool(data.get("exact")),
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
                if request.method == "POST"
                and f["count"]
                and (request.path == f["prefix"] or not f["exact"])
                and request.path.startswith(f["prefix"])
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
