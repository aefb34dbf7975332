"""What moving money through Stripe keeps: wallet holds, top-ups, webhooks, payouts, invoices.

The ledger (`billing/models.py`) says what is owed and held; these rows say what was asked of
Stripe and what Stripe answered. Every Stripe call carries an idempotency key derived from one
of these rows (`top-up-<id>`, `payout-<id>`), so a retry never charges or pays twice.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "ConnectedAccount",
    "FundingProfile",
    "Payout",
    "Reconciliation",
    "StripeEvent",
    "StripeInvoice",
    "TopUp",
    "WalletHold",
]


class WalletHold(models.Model):
    """An answer's worst-case cost held against a prepaid wallet (`Account.reserved_micros`).

    Held before the answer is written; settled on its metered cost when it is done (or
    released when it fails); released once rating has drawn the wallet for it.
    """

    class Status(models.TextChoices):
        HELD = "held", "Held (answer in progress)"
        SETTLED = "settled", "Settled (metered, waiting for rating)"

    request_id = models.CharField(max_length=64, primary_key=True)
    # No database constraint: a foreign key check locks the organization's row (FOR KEY SHARE)
    # on every insert, which makes concurrent answers of one agent contend on it. Holds are
    # transient (released after rating) and the wallet they hold against has the constraint.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="wallet_holds",
    )
    currency = models.CharField(max_length=3)
    amount_micros = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.HELD)
    # The highest usage event id when the hold was settled: once rating has passed it, the
    # answer's charges have been drawn from the wallet.
    rated_after_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        # No secondary index: the table holds only answers in flight or not yet rated, and
        # every index would be written twice per answer on the hot path.
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gte=0), name="hold_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.amount_micros} {self.status}"


class FundingProfile(models.Model):
    """How an organization pays Stripe: its customer, saved card, and low-balance rules."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="funding_profile",
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    # A card saved for off-session payments (auto top-up).
    payment_method_id = models.CharField(max_length=255, blank=True)
    # Below this available wallet balance the organization is told, and auto top-up runs.
    low_balance_micros = models.BigIntegerField(default=0)
    auto_top_up_micros = models.BigIntegerField(default=0)  # 0: off
    low_balance_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(low_balance_micros__gte=0) & Q(auto_top_up_micros__gte=0),
                name="funding_amounts_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.stripe_customer_id}"


class TopUp(models.Model):
    """Funds an organization adds to its wallet (or advertiser prepaid) through Stripe.

    The wallet is credited only when Stripe says the payment succeeded (a webhook).
    """

    class Method(models.TextChoices):
        PAYMENT_INTENT = "payment_intent", "PaymentIntent (client confirms with Stripe.js)"
        CHECKOUT = "checkout", "Checkout Session (Stripe's hosted page)"
        AUTOMATIC = "automatic", "Automatic (saved card, off session)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the payment"
        SUCCEEDED = "succeeded", "Paid and credited"
        FAILED = "failed", "Payment failed"
        REFUNDED = "refunded", "Refunded (in full or in part)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="top_ups"
    )
    purpose = models.CharField(max_length=24)  # agent_wallet or advertiser_prepaid
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    refunded_micros = models.BigIntegerField(default=0)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="top_up_positive"),
            models.CheckConstraint(
                condition=Q(refunded_micros__gte=0)
                & Q(refunded_micros__lte=models.F("amount_micros")),
                name="top_up_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.amount_micros} {self.status}"


class StripeEvent(models.Model):
    """A webhook event as Stripe signed it, stored once by its id and processed once."""

    id = models.CharField(max_length=255, primary_key=True)  # Stripe's evt_... (unique)
    type = models.CharField(max_length=100)
    created = models.DateTimeField()  # when Stripe made it: orders updates of one object
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"], name="event_todo")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class ConnectedAccount(models.Model):
    """A provider's Stripe Connect Express account, which payouts transfer to."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="connected_account",
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    # The `created` time of the newest account.updated event applied: older ones are ignored.
    updated_by_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.organization_id} {self.stripe_account_id}"


class Payout(models.Model):
    """One transfer of a provider's payable balance to its connected account.

    Its ledger transaction (provider payable to Stripe clearing) is posted with the row, so the
    same money is never paid twice; a failed transfer is reversed in the ledger.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being transferred"
        PAID = "paid", "Transferred"
        FAILED = "failed", "Failed (the balance is payable again)"
        REVERSED = "reversed", "Reversed by Stripe (the balance is payable again)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payouts"
    )
    stripe_account_id = models.CharField(max_length=255)
    amount_micros = models.BigIntegerField()  # whole minor units of the currency
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    transfer_id = models.CharField(max_length=255, blank=True, db_index=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # The provider-payable entries this payout pays for: ids in (after, through].
    entries_after_id = models.BigIntegerField(default=0)
    entries_through_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="payout_positive"),
            # One payout in flight per provider and currency.
            models.UniqueConstraint(
                fields=["organization", "currency"],
                condition=Q(status="pending"),
                name="one_pending_payout",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.amount_micros} {self.status}"


class StripeInvoice(models.Model):
    """A postpaid organization's monthly invoice: one line per licence, paid by webhook."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Being sent to Stripe"
        OPEN = "open", "Sent, not paid"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="stripe_invoices"
    )
    period = models.CharField(max_length=7)  # YYYY-MM
    currency = models.CharField(max_length=3)
    amount_micros = models.BigIntegerField()  # whole minor units
    lines = models.JSONField(default=list)  # [{agreement_id, description, amount_micros, uses}]
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    stripe_invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period", "currency"], name="one_invoice_per_period"
            ),
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="invoice_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.period} {self.status}"


class Reconciliation(models.Model):
    """One comparison of the ledger's Stripe clearing movements with Stripe's balance."""

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField(default=timezone.now)
    since = models.DateTimeField()
    until = models.DateTimeField()
    stripe_transactions = models.PositiveIntegerField(default=0)
    ledger_transactions = models.PositiveIntegerField(default=0)
    # [{"ref", "kind", "stripe_micros", "ledger_micros", "problem"}]
    differences = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d} {len(self.differences)} differences"
