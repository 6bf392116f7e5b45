"""Recap stage: the week's stories become a recap; delivery by email."""
