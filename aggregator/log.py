"""Logging as one line per event with key=value fields (logfmt), secrets never included."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_SAFE = re.compile(r"^[\w.:/@+\-,%]*$")
# Anything that looks like a key or token is masked before it reaches a log line.
_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]+)")


def _quote(value: Any) -> str:
    text = str(value)
    text = _SECRET.sub("***", text)
    if text and _SAFE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    """Format records as `time=… level=… logger=… msg=… key=value …`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return " ".join(f"{k}={_quote(v)}" for k, v in fields.items())


def setup_logging(verbose: int = 0) -> None:
    """Send logfmt lines to stderr: warnings by default, info with -v, debug with -vv."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("aggregator").setLevel(level)


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event line with key=value fields."""
    logger.log(level, msg, extra={"fields": fields})
