"""Retrieval backends behind one interface: the embedded BM25 index (bm25s, on disk), PostgreSQL
full-text search, and optional dense re-ranking. The services choose one and call it."""
