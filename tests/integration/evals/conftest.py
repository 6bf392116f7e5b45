"""Fixtures for the evaluation harness: a scripted server with good, bad and judge models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.openai_server import FakeOpenAI, Reply, grounded_card

API_KEY = "sk-test-evals-0123456789"
INVENTED = "This sentence was never written anywhere in the article."


def scripted(request: dict[str, Any]) -> Reply:
    """Answer as the requested model: a grounded card, a card with invented quotes, or scores."""
    model = request.get("model")
    if model == "fake-judge":
        return Reply(content={"faithfulness": 4, "usefulness": 3, "actionability": 5,
                              "rationale": "none"})  # fmt: skip
    if model == "fake-broken":
        return Reply(content="I would rather not answer in JSON today.")
    card = grounded_card(request)
    if model == "fake-bad":
        for point in card["key_takeaways"][1:]:
            if "cite" in point:  # a sentence-number prompt (v2): a number the article lacks
                point["cite"] = [999]
            else:
                point["citations"] = [INVENTED]
    return Reply(content=card)


@pytest.fixture
def model_server() -> Iterator[FakeOpenAI]:
    """Return a running scripted server answering per model name."""
    with FakeOpenAI(responder=scripted) as server:
        yield server


@pytest.fixture
def server_env(model_server: FakeOpenAI) -> dict[str, str]:
    """Return the environment that points configurations at the scripted server."""
    return {"OPENAI_BASE_URL": model_server.url, "OPENAI_API_KEY": API_KEY}


def write_config(folder: Path, name: str, model: str, **eval_keys: str) -> Path:
    """Write an evaluation configuration for a scripted model; return its path."""
    extra = "".join(f'{key} = "{value}"\n' for key, value in eval_keys.items())
    path = folder / f"{name}.toml"
    path.write_text(
        f'[eval]\nname = "{name}"\n{extra}'
        f'[llm]\nmodel = "{model}"\njudge_model = "fake-judge"\ntimeout = 5\nmax_retries = 0\n'
        f"[llm.pricing.{model}]\ninput = 1.0\noutput = 2.0\n",
        encoding="utf-8",
    )
    return path
