"""Deliver stage: the newest recap goes to subscribers by email, resumable after a crash."""
