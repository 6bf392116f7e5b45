"""Token counts and input budgets: tiktoken when its encoding is on disk, a character estimate otherwise."""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import tempfile
from typing import Any

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def _encoding_name(model: str) -> str:
    """Return the tiktoken encoding OpenAI uses for a model family."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base"
    return "cl100k_base"


def _cache_path(encoding: str) -> str:
    """Return where tiktoken keeps an encoding file (mirrors tiktoken.load.read_file_cached)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return os.path.join(cache_dir, hashlib.sha1(_BLOB.format(encoding).encode()).hexdigest())


@functools.cache
def _encoder(model: str) -> Any | None:
    """Return a tiktoken encoder if its file is already on disk; never download one."""
    encoding = _encoding_name(model)
    if not os.path.exists(_cache_path(encoding)):
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding(encoding)
    except Exception:  # a corrupt cache file must not stop summarizing
        return None


def exact_counts(model: str) -> bool:
    """Return True when token counts for a model are exact (its tiktoken file is on disk)."""
    return _encoder(model) is not None


def estimate_tokens(text: str) -> int:
    """Return a character-based token estimate (~4 ASCII characters per token, CJK ~1.5)."""
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))  # counted in C: this runs per article
    return math.ceil(ascii_chars / 4 + (len(text) - ascii_chars) / 1.5)


def count_tokens(text: str, model: str = "") -> int:
    """Return the number of tokens of text for a model (exact with tiktoken, else estimated)."""
    encoder = _encoder(model) if model else None
    if encoder is not None:
        return len(encoder.encode(text, disallowed_special=()))
    return estimate_tokens(text)


def _cut_paragraph(paragraph: str, budget: int, model: str) -> str:
    """Return the leading sentences of a paragraph that fit the budget (characters if none do)."""
    kept = ""
    for sentence in _SENTENCE_END.split(paragraph):
        candidate = f"{kept} {sentence}".strip()
        if count_tokens(candidate, model) > budget:
            break
        kept = candidate
    if kept:
        return kept
    return paragraph[: max(0, budget * 4)].rsplit(" ", 1)[0]


def truncate_to_tokens(text: str, max_tokens: int, model: str = "") -> tuple[str, bool]:
    """Return (text cut at paragraph boundaries to fit max_tokens, whether anything was cut).

    The lead paragraph is always kept (shortened by sentences if it alone is too long).
    """
    if count_tokens(text, model) <= max_tokens:
        return text, False
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    kept: list[str] = []
    used = 0
    for paragraph in paragraphs:
        cost = count_tokens(paragraph, model) + 1  # the blank line between paragraphs
        if used + cost > max_tokens:
            if not kept:
                kept.append(_cut_paragraph(paragraph, max_tokens, model))
            break
        kept.append(paragraph)
        used += cost
    return "\n\n".join(kept), True
