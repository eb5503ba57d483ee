"""Chunked base64 and spliced JSON: identical results to base64/json, big or small."""

from __future__ import annotations

import base64
import json
import os

import pytest

from agent.images import b64


@pytest.mark.parametrize("size", [0, 1, 2, 3, 1000, 196_608, 196_609, 1_000_003])
def test_chunked_base64_matches_the_standard_library(size: int) -> None:
    data = os.urandom(size)
    text = base64.b64encode(data).decode("ascii")
    assert b64.b64encode(data) == text
    assert b64.b64decode(text) == data
    assert b64.b64decode(text, validate=True) == data


def test_invalid_base64_is_still_refused() -> None:
    text = base64.b64encode(os.urandom(600_000)).decode("ascii")
    broken = text[:300_000] + "*" + text[300_001:]
    with pytest.raises(ValueError):
        b64.b64decode(broken, validate=True)


def _payload() -> dict[str, object]:
    big = base64.b64encode(os.urandom(200_000)).decode("ascii")
    return {
        "type": "response.completed",
        "response": {
            "output": [
                {"type": "image_generation_call", "result": big, "revised_prompt": 'say "hi" \\'},
                {"type": "image_generation_call", "result": big[::-1]},
                {"type": "message", "content": [{"text": "résumé ✓"}]},
            ]
        },
        "partial_image_b64": big[:100_000],
        "result": "short",
        "n": 3,
    }


def test_loads_and_dumps_agree_with_json() -> None:
    payload = _payload()
    text = b64.dumps(payload)
    assert json.loads(text) == payload
    assert text == json.dumps(payload, separators=(",", ":"))  # byte-identical output
    for encoded in (text, json.dumps(payload), json.dumps(payload, indent=2)):
        assert b64.loads(encoded, ("result", "partial_image_b64")) == payload


def test_strings_json_would_change_are_not_spliced() -> None:
    tricky = {"result": 'x"' * 40_000, "other": "\\" * 70_000, "text": "é" * 70_000}
    assert json.loads(b64.dumps(tricky)) == tricky
    assert b64.loads(json.dumps(tricky), ("result", "other", "text")) == tricky
