"""The ingestion pipeline's stages: fetch (SSRF-safe), extract, split into chunks, expand
sitemaps, feeds and record files. Plain functions; the services run them and store results."""
