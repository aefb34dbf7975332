"""Billing: the double-entry ledger, wallets, invoices, payouts and the Stripe gateway.

This app's use cases arrive with the billing issue; the app keeps its shape until then.
"""
