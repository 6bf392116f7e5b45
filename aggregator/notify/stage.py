"""The notify stage: send due webhook deliveries, each at least once, retried with backoff."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.log import event
from aggregator.notify import store
from aggregator.notify.webhook import Sender, SendError, backoff
from aggregator.report import StageReport

log = logging.getLogger("aggregator.notify")
STAGE = "notify"
BATCH = 100


def run_notify(ctx: Context, limit: int | None = None) -> StageReport:
    """Send the webhook deliveries that are due; return the counts."""
    report = StageReport(STAGE)
    with ctx.session() as session:
        ids = store.due(session, utcnow(), limit or BATCH)
    if not ids:
        return report
    hooks = {hook.url: hook for hook in ctx.settings.webhooks}
    allow = ctx.extras.get("allow_addresses", ())  # tests reach loopback without opening it all
    sender = Sender(ctx.settings.fetch, ctx.settings.site.base_url, allow)
    try:
        for delivery_id in ids:
            if ctx.stop_requested:
                break
            report.processed += 1
            ok = _deliver(ctx, sender, hooks, delivery_id)
            report.succeeded += ok
            report.failed += not ok
    finally:
        sender.close()
    return report


def _deliver(ctx: Context, sender: Sender, hooks: dict, delivery_id: int) -> bool:
    """Attempt one delivery and record the outcome; return True when it was accepted."""
    with ctx.session() as session:
        row = store.start_attempt(session, delivery_id)
        if row is None:
            return False
        url, body, name, key, attempts = row.url, row.body, row.event, row.key, row.attempts
    hook = hooks.get(url)
    status, error = None, None
    if hook is None:
        error = "notify: webhook is no longer configured"
    else:
        try:
            status = sender.post(url, body, event=name, key=key, secret=hook.secret)
        except SendError as exc:
            status, error = exc.status, str(exc)
    give_up = hook is None or attempts >= hook.max_attempts
    retry_at = None if give_up else utcnow() + backoff(attempts)
    with ctx.session() as session:
        store.finish_attempt(session, delivery_id, status=status, error=error, retry_at=retry_at)
    event(log, "webhook delivered" if error is None else "webhook failed",
          level=logging.INFO if error is None else logging.WARNING,
          host=urlsplit(url).hostname, key=key, attempt=attempts, error=error)  # fmt: skip
    return error is None
