"""Settings: one defaults table (pydantic models), each default beside its validator."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
MAX_DURATION = 366 * 86400
MAX_TIMEOUT = 3600.0  # a request or LLM call longer than an hour is a mistake in the config
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def parse_duration(value: Any) -> int:
    """Return a duration such as "30m", "1h", "2d" or a number of seconds, in seconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration (use e.g. 45s, 30m, 1h, 2d)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 45s, 30m, 1h, 2d)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {value!r} (use e.g. 45s, 30m, 1h, 2d)")
    # A fraction of a second would be rounded down to 0 (a busy loop); a year is the longest
    # wait that means anything here, and beyond it datetimes overflow.
    if seconds < 1:
        raise ValueError(f"must be at least 1s (got {value!r})")
    if seconds > MAX_DURATION:
        raise ValueError(f"must be at most 366d (got {value!r})")
    return int(seconds)


Duration = Annotated[int, Field(description="seconds; accepts 45s, 30m, 1h, 2d, 1w")]


def _http_url(value: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) URL")
    return value


class _Section(BaseModel):
    # inf and nan are valid TOML floats but no setting means them.
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class SiteSettings(_Section):
    title: str = "Signal"
    description: str = "AI and machine-learning news, summarized with sources you can check."
    base_url: str = "http://localhost:8000/"
    output_dir: Path = Path("site")
    language: str = "en"
    timezone: str = "UTC"
    items_per_page: int = Field(20, ge=1, le=500)
    search: bool = True

    _check_url = field_validator("base_url")(classmethod(lambda cls, v: _http_url(v)))

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class DatabaseSettings(_Section):
    url: str = "sqlite:///aggregator.db"

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value


class FetchSettings(_Section):
    allow_private_networks: bool = False
    connect_timeout: float = Field(10.0, gt=0, le=MAX_TIMEOUT)
    timeout: float = Field(20.0, gt=0, le=MAX_TIMEOUT)
    max_body_bytes: int = Field(15 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    max_entries: int = Field(1000, ge=1, le=100_000)
    per_host_concurrency: int = Field(2, ge=1, le=16)
    concurrency: int = Field(32, ge=1, le=512)
    user_agent: str | None = None
    source_deadline: Duration = Field(60, le=int(MAX_TIMEOUT))
    min_interval: Duration = 300
    max_interval: Duration = 86400
    max_backoff: Duration = 86400
    stale_factor: float = Field(4.0, gt=1)
    respect_robots: bool = True
    keep_raw_html_days: int = Field(0, ge=0)

    _durations = field_validator(
        "min_interval", "max_interval", "max_backoff", "source_deadline", mode="before"
    )(classmethod(lambda cls, v: parse_duration(v)))


class ModelPrice(_Section):
    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(ge=0, description="USD per million output tokens")
    cached_input: float | None = Field(None, ge=0)


class LLMSettings(_Section):
    model: str = "gpt-4o-mini"
    temperature: float = Field(0.2, ge=0, le=2)
    max_output_tokens: int = Field(1800, ge=64)
    max_input_tokens: int = Field(6000, ge=256)
    timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT)
    max_retries: int = Field(4, ge=0, le=10)
    max_concurrency: int = Field(4, ge=1, le=64)
    daily_budget_usd: float = Field(1.0, ge=0)
    max_items_per_run: int = Field(200, ge=1)
    item_prompt: str = "summarize_item/v2"
    recap_prompt: str = "weekly_recap/v1"
    update_prompt: str = "summarize_update/v1"
    judge_model: str | None = None
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    structured_output: Literal["auto", "json_schema", "json_object", "text"] = "auto"
    mode_reprobe_after: Duration = 7 * 86400
    fill_with_extractive: bool = True
    fallback_retry_after: Duration = 6 * 3600
    # None: "auto" against OpenAI itself, "never" against any other base URL.
    batch: Literal["auto", "never"] | None = None
    batch_threshold: int = Field(50, ge=1)
    # From the environment only (OPENAI_BASE_URL / OPENAI_API_KEY); never in the file.
    base_url: str | None = Field(None, exclude=True)
    api_key: SecretStr | None = Field(None, exclude=True)

    _durations = field_validator("mode_reprobe_after", "fallback_retry_after", mode="before")(
        classmethod(lambda cls, v: parse_duration(v))
    )

    @property
    def enabled(self) -> bool:
        """Return True when an LLM endpoint is configured (key or base URL)."""
        return bool(self.api_key or self.base_url)

    @property
    def batch_enabled(self) -> bool:
        """Return True when backlogs go through the Batch API (explicit, or OpenAI by default)."""
        if self.batch is not None:
            return self.batch == "auto"
        return self.enabled and (self.base_url is None or "api.openai.com" in self.base_url)


class RedditSettings(_Section):
    # From REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET / REDDIT_USER_AGENT only.
    client_id: SecretStr | None = Field(None, exclude=True)
    client_secret: SecretStr | None = Field(None, exclude=True)
    user_agent: str | None = Field(None, exclude=True)
    # Base URLs, overridable so tests and the demo can point praw at a local server.
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    rss_url: str = "https://www.reddit.com"

    @property
    def has_credentials(self) -> bool:
        """Return True when both Reddit app credentials are set."""
        return bool(self.client_id and self.client_secret)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleSettings(_Section):
    collect_every: Duration = 300
    process_every: Duration = 120
    publish_every: Duration = 600
    housekeeping_every: Duration = 86400
    recap_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    recap_hour: int = Field(7, ge=0, le=23)
    timezone: str = "UTC"
    lease: Duration = 600
    batch_size: int = Field(50, ge=1, le=10000)

    _durations = field_validator(
        "collect_every",
        "process_every",
        "publish_every",
        "housekeeping_every",
        "lease",
        mode="before",
    )(classmethod(lambda cls, v: parse_duration(v)))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)


class DedupeSettings(_Section):
    window_days: int = Field(4, ge=1, le=60)
    near_duplicate_threshold: float = Field(0.5, gt=0, le=1)
    event_threshold: float = Field(0.3, gt=0, le=1)
    related_threshold: float = Field(0.12, gt=0, le=1)
    max_related: int = Field(5, ge=0, le=20)


class RecapSettings(_Section):
    max_stories: int = Field(24, ge=3, le=200)
    topic_weights: dict[str, float] = Field(default_factory=dict)


class EmailSettings(_Section):
    enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    from_address: str = "Signal <recap@localhost>"
    # Where `aggregator serve-unsubscribe` is reachable over https (RFC 8058 one-click); empty:
    # the email links to the site's unsubscribe/ page and the mailto route, with no POST header.
    unsubscribe_endpoint: str = ""
    # The sender's postal address, shown in every email's footer (CAN-SPAM requires one).
    postal_address: str = ""
    # Does the SMTP server offer SMTPUTF8 (RFC 6531)? "auto" asks it when an address needs it.
    smtputf8: Literal["auto", "yes", "no"] = "auto"

    @field_validator("unsubscribe_endpoint")
    @classmethod
    def _https_endpoint(cls, value: str) -> str:
        if value and urlsplit(value).scheme != "https":
            raise ValueError("must be an https:// URL (RFC 8058 one-click unsubscribe)")
        return value

    # SMTP_USERNAME / SMTP_PASSWORD / AGGREGATOR_SECRET_KEY from the environment only.
    username: str | None = Field(None, exclude=True)
    password: SecretStr | None = Field(None, exclude=True)
    secret_key: SecretStr | None = Field(None, exclude=True)


class RetentionSettings(_Section):
    raw_html_days: int = Field(0, ge=0)
    llm_response_days: int = Field(90, ge=0)


class Topic(_Section):
    slug: str
    name: str
    description: str = ""
    weight: float = Field(1.0, ge=0)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("must be lower-case letters, digits and single hyphens")
        return value


WEBHOOK_EVENTS = ("revised", "corrected")


class Webhook(_Section):
    url: str
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))
    secret: str = Field("", repr=False)  # signs each body (HMAC-SHA256); never logged or stored
    max_attempts: int = Field(8, ge=1, le=50)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(WEBHOOK_EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {list(WEBHOOK_EVENTS)}")
        return value


class _SourceBase(_Section):
    name: str = Field(min_length=1, max_length=200)
    every: Duration = 1800
    priority: int = Field(0, ge=-100, le=100)
    topics: list[str] = Field(default_factory=list)
    enabled: bool = True

    _every = field_validator("every", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class RSSSource(_SourceBase):
    kind: Literal["rss"]
    url: str

    _check_url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class RedditSource(_SourceBase):
    kind: Literal["reddit"]
    subreddit: str
    listing: Literal["hot", "top", "new", "rising"] = "hot"
    time_filter: Literal["hour", "day", "week", "month", "year", "all"] = "day"
    limit: int = Field(25, ge=1, le=100)
    min_score: int = 0
    min_comments: int = Field(0, ge=0)
    include_stickied: bool = False
    include_nsfw: bool = False
    top_comments: int = Field(3, ge=0, le=20)
    every: Duration = 3600

    @field_validator("subreddit")
    @classmethod
    def _subreddit(cls, value: str) -> str:
        value = value.removeprefix("/").removeprefix("r/")
        if not re.match(r"^[A-Za-z0-9_]{2,21}$", value):
            raise ValueError("not a subreddit name")
        return value

    @property
    def url(self) -> str:
        """Return the subreddit's public address (what status shows)."""
        return f"https://www.reddit.com/r/{self.subreddit}/{self.listing}"


Source = Annotated[RSSSource | RedditSource, Field(discriminator="kind")]


class Settings(_Section):
    site: SiteSettings = Field(default_factory=SiteSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    reddit: RedditSettings = Field(default_factory=RedditSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    recap: RecapSettings = Field(default_factory=RecapSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    topics: list[Topic] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    # Where the settings came from; relative paths (output_dir, sqlite) resolve against it.
    config_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        problems = []
        seen: set[str] = set()
        for i, source in enumerate(self.sources):
            if source.name in seen:
                problems.append(f"sources[{i}].name: duplicate source name {source.name!r}")
            seen.add(source.name)
        slugs = [t.slug for t in self.topics]
        for slug in {s for s in slugs if slugs.count(s) > 1}:
            problems.append(f"topics: duplicate slug {slug!r}")
        for i, source in enumerate(self.sources):
            for slug in source.topics:
                if slug not in slugs:
                    problems.append(f"sources[{i}].topics: unknown topic {slug!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def topic(self, slug: str) -> Topic | None:
        """Return the configured topic with this slug, or None."""
        return next((t for t in self.topics if t.slug == slug), None)

    def source(self, name: str) -> RSSSource | RedditSource | None:
        """Return the configured source with this name, or None."""
        return next((s for s in self.sources if s.name == name), None)
