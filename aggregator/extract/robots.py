"""robots.txt (RFC 9309): parse the rules, match paths, cache one verdict table per host."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

# How long a host's rules are trusted (RFC 9309 §2.4: SHOULD NOT use a copy over 24 hours).
RULES_TTL = 24 * 3600
# An unreachable robots.txt means "disallow all" (§2.3.1.4); ask again sooner than that.
UNREACHABLE_TTL = 3600
_BROWSER_TOKENS = {"mozilla", "applewebkit", "chrome", "safari", "gecko", "khtml", "version"}
_PRODUCT = re.compile(r"([A-Za-z][\w\-]*)/\S")


class RobotsUnavailable(Exception):
    """robots.txt could not be read: `status` is the HTTP status, None for network errors."""

    def __init__(self, status: int | None, detail: str = ""):
        self.status = status
        super().__init__(detail or f"robots.txt unavailable (status {status})")


def robots_token(user_agent: str | None) -> str:
    """Return the product token that names us in robots.txt groups (lower case)."""
    for token in _PRODUCT.findall(user_agent or ""):
        if token.lower() not in _BROWSER_TOKENS:
            return token.lower()
    return "aggregator"


def _pattern(path: str) -> re.Pattern[str]:
    """Return a regex for a rule path: `*` matches anything, a final `$` anchors the end."""
    anchored = path.endswith("$")
    body = path[:-1] if anchored else path
    regex = ".*".join(re.escape(_normalize(part)) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


def _normalize(path: str) -> str:
    """Return a path with percent-encoding in one canonical form (RFC 9309 §2.2.2)."""
    return quote(unquote(path), safe="/?=&*$:@!,;+~%")


@dataclass
class RobotsRules:
    """The rules of one robots.txt that apply to one user-agent token."""

    allow: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    disallow: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    disallow_all: bool = False

    def allowed(self, url: str) -> bool:
        """Return True when the URL's path may be fetched (longest match wins, allow on ties)."""
        if self.disallow_all:
            return False
        parts = urlsplit(url)
        path = _normalize(parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path == "/robots.txt":
            return True
        best_allow = max((n for n, p in self.allow if p.match(path)), default=-1)
        best_deny = max((n for n, p in self.disallow if p.match(path)), default=-1)
        return best_deny < 0 or best_allow >= best_deny


def _groups(text: str) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """Return (user-agents, [(allow|disallow, path)]) groups in file order."""
    groups: list[tuple[list[str], list[tuple[str, str]]]] = []
    in_agents = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if not in_agents:
                groups.append(([], []))
            groups[-1][0].append(value.lower())
            in_agents = True
        elif key in ("allow", "disallow") and groups:
            groups[-1][1].append((key, value))
            in_agents = False
    return groups


def parse_robots(text: str, token: str) -> RobotsRules:
    """Return the rules for `token`: its own groups merged, else the `*` groups (§2.2.1)."""
    groups = _groups(text)
    own = [rules for agents, rules in groups if token in agents]
    chosen = own or [rules for agents, rules in groups if "*" in agents]
    result = RobotsRules()
    for rules in chosen:
        for kind, path in rules:
            if not path:
                continue  # "Disallow:" with no path allows everything
            entry = (len(path), _pattern(path))
            (result.allow if kind == "allow" else result.disallow).append(entry)
    return result


class RobotsCache:
    """Per-host robots.txt verdicts, fetched once per host and kept for a day; thread-safe."""

    def __init__(
        self,
        fetch_text: Callable[[str], str],
        user_agent: str | None,
        clock: Callable[[], float] = time.monotonic,
    ):
        # Rebound by each run to its own fetcher; the verdicts outlive any one run.
        self.fetch_text = fetch_text
        self.token = robots_token(user_agent)
        self._clock = clock
        self._rules: dict[str, tuple[RobotsRules, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Return True when robots.txt lets us fetch this URL."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one robots.txt request per host even with many threads waiting
            cached = self._rules.get(origin)
            if cached is None or cached[1] <= self._clock():
                cached = self._load(origin)
                self._rules[origin] = cached
        return cached[0].allowed(url)

    def _load(self, origin: str) -> tuple[RobotsRules, float]:
        """Return the host's rules and when they expire."""
        try:
            text = self.fetch_text(f"{origin}/robots.txt")
        except RobotsUnavailable as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                # §2.3.1.3: an unavailable robots.txt (4xx) means no restrictions.
                return RobotsRules(), self._clock() + RULES_TTL
            # §2.3.1.4: unreachable (5xx, 429, network) means complete disallow, for now.
            return RobotsRules(disallow_all=True), self._clock() + UNREACHABLE_TTL
        return parse_robots(text, self.token), self._clock() + RULES_TTL
