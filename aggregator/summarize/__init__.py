"""Summarize stage: a story's articles become a card (LLM or extractive), citations checked."""
