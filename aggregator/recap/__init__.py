"""Recap stage: the week's stories become a recap (LLM or extractive), story ids checked."""
