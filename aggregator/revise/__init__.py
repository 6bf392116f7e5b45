"""Developing stories: a published card revised when new items join its story."""
