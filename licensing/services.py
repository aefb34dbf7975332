"""Licensing: offers, agreements, entitlements and usage metering.

TODO(issue 5): offers, agreements, entitlements, RSL documents, HTTP 402 terms and metering.
"""
