"""Webhooks: signed, retried, at-least-once notices of revised and corrected cards."""
