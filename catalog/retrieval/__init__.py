"""Retrieval backends behind one interface: the embedded index (Tantivy, on disk), PostgreSQL
full-text search, and optional dense re-ranking. The services choose one and call it."""
