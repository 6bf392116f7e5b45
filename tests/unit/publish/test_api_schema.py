"""The planner API schema is itself valid JSON Schema 2020-12."""

from __future__ import annotations

import pytest

from aggregator.publish.api_schema import api_schema

jsonschema = pytest.importorskip("jsonschema")


def test_api_schema_is_valid_2020_12() -> None:
    schema = api_schema("https://news.example.org/")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://news.example.org/api/schema.json"


def test_api_schema_rejects_an_item_without_permalink() -> None:
    schema = api_schema("https://news.example.org/")
    validator = jsonschema.Draft202012Validator(schema)
    doc = {
        "version": "1.2",
        "kind": "item",
        "site": {"title": "S", "url": "https://x.org/", "schema": "https://x.org/api/schema.json"},
        "item": {"id": "x"},
    }
    assert list(validator.iter_errors(doc))
