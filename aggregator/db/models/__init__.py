"""The database models: one module per concern; everything is importable from here."""

from aggregator.db.models.base import (
    NAMING,
    Article,
    Base,
    Card,
    Item,
    Source,
    Story,
    StoryRelation,
    StoryTopic,
)
from aggregator.db.models.batch import LLMBatch
from aggregator.db.models.dedupe import ItemJoin
from aggregator.db.models.llm import LLMCacheEntry, LLMCall
from aggregator.db.models.recap import Delivery, Recap, Subscriber
from aggregator.db.models.revisions import CardRevision, Correction, WebhookDelivery
from aggregator.db.models.work import Job, Meta

__all__ = [
    "NAMING",
    "Article",
    "Base",
    "Card",
    "CardRevision",
    "Correction",
    "Delivery",
    "Item",
    "ItemJoin",
    "Job",
    "LLMBatch",
    "LLMCacheEntry",
    "LLMCall",
    "Meta",
    "Recap",
    "Source",
    "Story",
    "StoryRelation",
    "StoryTopic",
    "Subscriber",
    "WebhookDelivery",
]
