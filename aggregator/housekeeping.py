"""Housekeeping: drop raw article HTML and old raw model responses past their retention."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db.models import Article, LLMCall
from aggregator.report import StageReport


def run_housekeeping(ctx: Context) -> StageReport:
    """Apply the [retention] settings; return how many rows were trimmed."""
    report = StageReport("housekeeping")
    retention = ctx.settings.retention
    now = utcnow()
    with ctx.session() as session:
        html = (
            session.execute(
                update(Article)
                .where(
                    Article.raw_html.is_not(None),
                    Article.extracted_at < now - timedelta(days=retention.raw_html_days),
                )
                .values(raw_html=None)
            ).rowcount
            or 0
        )
        responses = (
            session.execute(
                update(LLMCall)
                .where(
                    LLMCall.response_text.is_not(None),
                    LLMCall.created_at < now - timedelta(days=retention.llm_response_days),
                )
                .values(response_text=None)
            ).rowcount
            or 0
        )
    report.processed = report.succeeded = html + responses
    report.details.update(raw_html_dropped=html, llm_responses_dropped=responses)
    return report
