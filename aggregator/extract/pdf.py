"""Text of PDF documents (papers, reports) with pypdf, capped in pages."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_PDF_PAGES = 40
_HYPHENATED = re.compile(r"(\w)-\n(\w)")
_SENTENCE_END = (".", "!", "?", ":", '"', "”")

logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass
class PdfResult:
    """A PDF's text and document information."""

    text: str
    title: str | None
    author: str | None
    published_at: datetime | None
    pages: int
    pages_read: int


def _paragraphs(page_text: str) -> list[str]:
    """Return paragraphs rebuilt from a page's lines: short lines end one or are headings."""
    page_text = _HYPHENATED.sub(r"\1\2", page_text)
    lines = [" ".join(line.split()) for line in page_text.splitlines()]
    width = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if len(line) < 0.6 * width and not line.endswith((*_SENTENCE_END, ",", ";")):
            # A short line without punctuation is a heading: a paragraph of its own.
            paragraphs += [" ".join(current), line] if current else [line]
            current = []
            continue
        current.append(line)
        if line.endswith(_SENTENCE_END) and len(line) < 0.8 * width:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _info_date(reader: object) -> datetime | None:
    try:
        created = reader.metadata.creation_date if reader.metadata else None  # type: ignore[attr-defined]
    except (ValueError, TypeError, AttributeError):
        return None
    if created is None:
        return None
    return created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)


def extract_pdf(body: bytes, max_pages: int = MAX_PDF_PAGES) -> PdfResult:
    """Return the text of the first `max_pages` pages of a PDF; raise ValueError if unreadable."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(body))
        pages = len(reader.pages)
        paragraphs: list[str] = []
        for page in reader.pages[:max_pages]:
            paragraphs += _paragraphs(page.extract_text() or "")
        info = reader.metadata
        title = (info.title or None) if info else None
        author = (info.author or None) if info else None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ValueError(f"extract: unreadable PDF ({type(exc).__name__}: {exc})") from None
    return PdfResult(
        text="\n\n".join(p for p in paragraphs if p),
        title=title.strip() if isinstance(title, str) and title.strip() else None,
        author=author.strip() if isinstance(author, str) and author.strip() else None,
        published_at=_info_date(reader),
        pages=pages,
        pages_read=min(pages, max_pages),
    )
