"""Rating: usage events, agreements and revenue reports into ledger transactions."""
