"""The third-party corpora beside the repository (../shared/corpora): located, or the test skips."""

from __future__ import annotations

import functools
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from aggregator.extract import extract

ENV = "AGGREGATOR_CORPORA"
BESIDE = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def corpus_dir(name: str) -> Path:
    """Return the folder of a corpus ($AGGREGATOR_CORPORA or ../shared/corpora); skip when absent."""
    root = Path(os.environ[ENV]) if os.environ.get(ENV) else BESIDE
    folder = root / name
    if not folder.is_dir():
        pytest.skip(f"corpus {name} not found under {root} (set {ENV} to the corpora folder)")
    return folder


AEB = "extraction/scrapinghub-aeb"


@functools.cache
def aeb_page(page_id: str) -> tuple[Any, str]:
    """Return the extraction of one benchmark page (cached: several test sets share pages)."""
    folder = corpus_dir(AEB)
    truth = _aeb_truth(str(folder))
    body = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
    return extract(body, truth[page_id]["url"]), truth[page_id]["url"]


@functools.cache
def _aeb_truth(folder: str) -> dict:
    return json.loads((Path(folder) / "ground-truth.json").read_text(encoding="utf-8"))
