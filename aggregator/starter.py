"""The commented starter configuration that `aggregator init` writes."""

STARTER_CONFIG = """\
# aggregator.toml: configuration of the news-aggregator summarizer.
# Every key is optional unless marked; the values shown are the defaults.
# Durations accept 45s, 30m, 1h, 2d, 1w. Full reference: docs/configuration.md
# Secrets never go in this file: OPENAI_API_KEY, OPENAI_BASE_URL,
# REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET, REDDIT_USER_AGENT, SMTP_USERNAME,
# SMTP_PASSWORD and AGGREGATOR_SECRET_KEY come from the environment.

[site]
title = "Signal"
description = "AI and machine-learning news, summarized with sources you can check."
base_url = "http://localhost:8000/"   # where the site will be served; used in feeds and links
output_dir = "site"                   # relative to this file
timezone = "UTC"                      # for dates shown on pages
items_per_page = 20
search = true                         # build a pagefind index when the binary is available

[database]
# SQLite by default; PostgreSQL to scale out, e.g. "postgresql://user@host/aggregator".
# AGGREGATOR_DATABASE_URL overrides this.
url = "sqlite:///aggregator.db"

[fetch]
allow_private_networks = false    # true only for local testing and the demo
connect_timeout = 10.0            # seconds
timeout = 20.0                    # seconds for a whole request: connect, headers and body
source_deadline = "60s"           # a source's article pages in one run; the rest wait a run
max_body_bytes = 15728640         # 15 MiB, enforced while streaming and after decompression
                                  # (also for compressed bodies that do not say so)
max_entries = 1000                # newest entries kept per feed fetch
max_redirects = 5
per_host_concurrency = 2
concurrency = 32                  # requests in flight across all hosts
min_interval = "5m"               # never fetch a source more often than this
max_interval = "24h"              # ...nor less often than this
max_backoff = "24h"               # cap of the exponential backoff after errors
stale_factor = 4.0                # stale after this many usual gaps of silence
respect_robots = true             # obey robots.txt for article pages

[llm]
# Without OPENAI_API_KEY or OPENAI_BASE_URL the offline extractive mode is used,
# and every page it produced says so. AGGREGATOR_LLM_MODEL overrides the model.
model = "gpt-4o-mini"
temperature = 0.2
max_output_tokens = 1800
max_input_tokens = 6000           # article text is cut at paragraph boundaries to fit
timeout = 60.0
max_retries = 4
max_concurrency = 4
daily_budget_usd = 1.0
max_items_per_run = 200
item_prompt = "summarize_item/v2"
recap_prompt = "weekly_recap/v1"
update_prompt = "summarize_update/v1"     # What's new when reports join a published story
structured_output = "auto"        # or pin "json_schema" | "json_object" | "text"
fill_with_extractive = true       # extractive stand-in cards (labelled) when the LLM fails or budget is out
fallback_retry_after = "6h"       # then the LLM is asked again
# batch = "auto"                  # OpenAI Batch API for backlogs (default "auto" on OpenAI, else "never")
batch_threshold = 50
# Prices in USD per million tokens, for models the built-in table does not know:
# [llm.pricing."my-local-model"]
# input = 0.0
# output = 0.0

[schedule]
collect_every = "5m"              # how often `aggregator run` looks for due sources
process_every = "2m"              # extract -> dedupe -> summarize batches
publish_every = "10m"             # at most one site build per this interval
housekeeping_every = "1d"
recap_day = "mon"                 # weekly recap: day, hour and time zone
recap_hour = 7
timezone = "UTC"
lease = "10m"                     # a worker's claim on a unit of work expires after this
batch_size = 50

[dedupe]
window_days = 4                   # items this close in time may be one story
near_duplicate_threshold = 0.5     # MinHash Jaccard for near-duplicate texts
event_threshold = 0.3             # TF-IDF cosine for "same event, other wording"
related_threshold = 0.12
max_related = 5

[recap]
max_stories = 24
# topic_weights = { "foundation-models" = 1.5 }

[email]
enabled = false                   # send each new recap to subscribers by SMTP
smtp_host = "127.0.0.1"
smtp_port = 25
starttls = false
ssl = false
from_address = "Signal <recap@localhost>"
postal_address = ""               # shown in each email's footer (CAN-SPAM)
unsubscribe_endpoint = ""         # https URL of `aggregator serve-unsubscribe` (one-click)
smtputf8 = "auto"                 # does the server take non-ASCII addresses? auto: ask it

[retention]
raw_html_days = 0                 # keep fetched article HTML this long (0: not at all)
llm_response_days = 90            # raw model responses in the ledger

[[topics]]
slug = "foundation-models"
name = "Foundation models & inference economics"
description = "New models, training runs, serving costs and pricing"
keywords = ["model", "LLM", "inference", "training", "GPU", "tokens", "pricing"]

[[topics]]
slug = "research"
name = "Research"
description = "Papers, benchmarks and evaluation methods"
keywords = ["paper", "arXiv", "benchmark", "evaluation", "dataset"]

[[topics]]
slug = "tools-and-open-source"
name = "Tools & open source"
description = "Libraries, frameworks and open-weight releases"
keywords = ["open source", "library", "release", "framework", "weights"]

[[sources]]
kind = "rss"
name = "Hugging Face blog"
url = "https://huggingface.co/blog/feed.xml"
every = "1h"
topics = ["tools-and-open-source"]

[[sources]]
kind = "rss"
name = "BAIR blog"
url = "https://bair.berkeley.edu/blog/feed.xml"
every = "6h"
topics = ["research"]

[[sources]]
kind = "rss"
name = "arXiv cs.CL"
url = "https://rss.arxiv.org/rss/cs.CL"
every = "12h"
priority = -5
topics = ["research"]

[[sources]]
kind = "reddit"
name = "r/MachineLearning"
subreddit = "MachineLearning"
listing = "top"                   # hot | top | new | rising
time_filter = "day"               # for top: hour | day | week | month | year | all
limit = 25
min_score = 50
min_comments = 5
every = "1h"

[[sources]]
kind = "reddit"
name = "r/LocalLLaMA"
subreddit = "LocalLLaMA"
listing = "hot"
min_score = 100
every = "1h"

# Optional: tell a planner's endpoint when a published card is revised or corrected.
# Each POST is signed (X-Aggregator-Signature: sha256=HMAC of the body) and retried.
# [[webhooks]]
# url = "https://planner.example.org/hooks/aggregator"
# events = ["revised", "corrected"]
# secret = "change-me"
"""
