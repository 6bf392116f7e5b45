"""Dedupe stage: duplicates, same-event grouping into stories, related stories."""

from aggregator.dedupe.grouping import group_documents

__all__ = ["group_documents"]
