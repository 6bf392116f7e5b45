"""Collectors: the safe fetcher, RSS/Atom/JSON Feed parsing, Reddit, source health."""
