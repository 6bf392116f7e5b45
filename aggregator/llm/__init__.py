"""The LLM engine: client.py (structured calls), output.py, cache.py, pricing.py, extractive.py.

Nothing is imported here so that `aggregator.llm.schema` stays cheap to import for the site.
"""
