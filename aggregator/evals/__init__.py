"""Evaluation: frozen sets, per-card metrics, paired comparisons of configurations, reports."""
