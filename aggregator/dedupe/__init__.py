"""Dedupe stage: duplicates, same-event grouping into stories, related stories."""
