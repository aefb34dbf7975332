"""Ads: campaigns, ad units, the auction and budgets.

This app's use cases arrive with the ads issue; the app keeps its shape until then.
"""
