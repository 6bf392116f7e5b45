"""News-aggregator summarizer: collect, extract, dedupe, summarize, publish, recap."""

__version__ = "0.1.0"
