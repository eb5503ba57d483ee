"""The request log's scrubber: no image payloads and no credentials reach the database."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_B64_KEYS = frozenset({"result", "partial_image_b64", "b64_json", "image_b64"})
_SECRET_KEYS = frozenset({"authorization", "api_key", "openai_api_key", "x-api-key", "api-key"})
_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{20,}")
_DATA_URL = re.compile(r"^data:[\w/+.\-]*(?:;[\w=.\-]+)*;base64,", re.IGNORECASE)
_MIN_ELIDED = 64  # shorter "result" strings are ordinary text, not image payloads


def _elided(length: int) -> str:
    return f"<{length} bytes base64 elided>"


def scrub(value: Any) -> Any:
    """A JSON-ready copy of ``value`` without base64 image payloads or credentials.

    ``result``/``partial_image_b64``/``b64_json`` strings and ``data:...;base64,`` URLs are
    replaced by "<N bytes base64 elided>" (N = length of the base64 text); values under
    Authorization/api_key-like keys and anything shaped like an OpenAI key are redacted.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name.lower() in _SECRET_KEYS:
                out[name] = "<redacted>"
            elif name in _B64_KEYS and isinstance(item, str) and len(item) >= _MIN_ELIDED:
                out[name] = _elided(len(item))
            else:
                out[name] = scrub(item)
        return out
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        match = _DATA_URL.match(value)
        if match:
            return value[: match.end()] + _elided(len(value) - match.end())
        return _KEY_PATTERN.sub("<redacted>", value)
    return value


def dump_exchange(
    request: Mapping[str, Any], response: Mapping[str, Any] | None
) -> tuple[str, str | None]:
    request_json = json.dumps(scrub(request), default=str)
    response_json = None if response is None else json.dumps(scrub(response), default=str)
    return request_json, response_json
