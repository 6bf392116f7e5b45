"""Extract stage: an item's page becomes article text (trafilatura, PDF, feed-text fallbacks).

The contract `from aggregator.extract import extract` is kept here.
"""

from aggregator.extract.article import extract

__all__ = ["extract"]
