"""The marketplace app's use cases: the answer, idempotency and receipts.

Only the agent interfaces inside this app (and the portal and config above it) import these.
"""
