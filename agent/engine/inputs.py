"""Normalise a request's ``input`` into the engine's small item shapes.

Accepted, as the Responses API accepts them (shapes seen in real recordings, see
tests/conformance): a string; ``message`` items (with or without ``type``, ``id``,
``status``; string or typed content, ``output_text`` parts with ``annotations``/``logprobs``);
``reasoning`` items (``summary``, ``encrypted_content`` as stateless clients replay them);
``image_generation_call`` items by id (optionally with their ``result``); ``item_reference``;
``function_call`` and ``function_call_output`` items (openai-agents, pydantic-ai).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agent.engine.errors import bad_request

JsonDict = dict[str, Any]

_ROLES = ("user", "assistant", "system", "developer")
_REFERENCES = ("image_generation_call", "reasoning", "item_reference")


def normalise_input(value: Any) -> list[JsonDict]:
    """Input as a list of items; a string becomes one user message."""
    if isinstance(value, str):
        return [_message("user", [{"type": "input_text", "text": value}])]
    if not isinstance(value, list):
        raise bad_request("'input' must be a string or an array of input items.", "input")
    items: list[JsonDict] = []
    for index, raw in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(raw, dict):
            raise bad_request(f"{where} must be an object.", where, "invalid_type")
        kind = raw.get("type", "message" if "role" in raw else None)
        if kind == "message":
            items.append(_message_item(raw, where))
        elif kind in _REFERENCES:
            items.append(_reference(raw, str(kind), where))
        elif kind == "function_call":
            items.append(_function_call(raw, where))
        elif kind == "function_call_output":
            items.append(_function_output(raw, where))
        else:
            raise bad_request(
                f"Unsupported input item type {kind!r} at {where}: send messages, "
                "image_generation_call references ({'type': 'image_generation_call', 'id': "
                "'ig_...'}), reasoning items, function_call or function_call_output items.",
                f"{where}.type",
                "invalid_value",
            )
    return items


def _reference(raw: Mapping[str, Any], kind: str, where: str) -> JsonDict:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise bad_request(
            f"{where} of type '{kind}' needs an 'id'.", f"{where}.id", "invalid_value"
        )
    item: JsonDict = {"type": kind, "id": item_id}
    if kind == "image_generation_call" and isinstance(raw.get("result"), str):
        item["result"] = raw["result"]
        item["revised_prompt"] = raw.get("revised_prompt")
    if kind == "reasoning" and isinstance(raw.get("encrypted_content"), str):
        item["encrypted_content"] = raw["encrypted_content"]
    return item


def _function_call(raw: Mapping[str, Any], where: str) -> JsonDict:
    for key in ("call_id", "name", "arguments"):
        if not isinstance(raw.get(key), str):
            raise bad_request(
                f"{where}.{key} must be a string.", f"{where}.{key}", "missing_required_parameter"
            )
    return {
        "type": "function_call",
        "id": raw.get("id"),
        "call_id": raw["call_id"],
        "name": raw["name"],
        "arguments": raw["arguments"],
    }


def _function_output(raw: Mapping[str, Any], where: str) -> JsonDict:
    call_id = raw.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad_request(
            f"{where}.call_id must be the call_id of a function_call.",
            f"{where}.call_id",
            "missing_required_parameter",
        )
    output = raw.get("output")
    if isinstance(output, list):  # content parts: keep their text
        output = " ".join(
            str(part.get("text", "")) for part in output if isinstance(part, dict)
        ).strip()
    elif output is not None and not isinstance(output, str):
        output = json.dumps(output)
    if not isinstance(output, str):
        raise bad_request(
            f"{where}.output must be a string or an array of content parts.",
            f"{where}.output",
            "invalid_type",
        )
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _message(role: str, content: list[JsonDict]) -> JsonDict:
    return {"type": "message", "role": role, "content": content}


def _message_item(raw: Mapping[str, Any], where: str) -> JsonDict:
    role = raw.get("role")
    if role not in _ROLES:
        raise bad_request(
            f"{where}.role must be one of {', '.join(_ROLES)}.", f"{where}.role", "invalid_value"
        )
    content = raw.get("content")
    text_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, str):
        return _message(str(role), [{"type": text_type, "text": content}])
    if not isinstance(content, list):
        raise bad_request(
            f"{where}.content must be a string or an array of content parts.",
            f"{where}.content",
            "invalid_type",
        )
    parts: list[JsonDict] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise bad_request(f"{at} must be an object.", at, "invalid_type")
        kind = part.get("type")
        if kind in ("input_text", "output_text", "refusal"):
            text = part.get("text", part.get("refusal"))
            if not isinstance(text, str):
                raise bad_request(f"{at}.text must be a string.", f"{at}.text", "invalid_type")
            parts.append({"type": "input_text" if kind == "input_text" else kind, "text": text})
        elif kind == "input_image":
            parts.append(_input_image(part, at))
        else:
            raise bad_request(
                f"Unsupported content part type {kind!r} at {at}: use input_text or input_image.",
                f"{at}.type",
                "invalid_value",
            )
    return _message(str(role), parts)


def _input_image(part: Mapping[str, Any], at: str) -> JsonDict:
    url = part.get("image_url")
    if part.get("file_id") and not url:
        raise bad_request(
            "The embedded engine has no Files API: send the image inline as a data URL in "
            "'image_url' (data:image/png;base64,...).",
            f"{at}.file_id",
            "invalid_value",
        )
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        raise bad_request(
            "The embedded engine cannot download images: send 'image_url' as a base64 data "
            "URL (data:image/png;base64,...).",
            f"{at}.image_url",
            "invalid_image_url",
        )
    return {"type": "input_image", "image_url": url, "detail": part.get("detail", "auto")}
