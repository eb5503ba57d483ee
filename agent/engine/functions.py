"""Function tools: when the engine's "model" calls one, and with which arguments.

Deterministic rules, enough for agent frameworks (openai-agents, pydantic-ai) to finish a
function-tool flow:

1. ``tool_choice: "none"``, or a ``function_call_output`` already answered after the last user
   message: no call (the model continues with what the function returned).
2. ``tool_choice: {"type": "function", "name": X}`` calls X.
3. A function whose name the user's text contains (``get_animal`` or "get animal") is called.
4. ``tool_choice: "required"`` with no image tool calls the first function.

Arguments fill the schema's required properties from the text: a quoted phrase (or the text
after the function's name) for strings, the first number for numbers, true for booleans, the
first value of an enum.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]

_QUOTED = re.compile(r"[\"“']([^\"”']{1,200})[\"”']")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class FunctionCall:
    """One call the model makes: the function's name and its JSON arguments."""

    name: str
    arguments: str


def pending_outputs(items: Sequence[JsonDict]) -> list[str]:
    """Function outputs sent after the last user message (what the model now knows)."""
    outputs: list[str] = []
    for item in reversed(items):
        if item["type"] == "message" and item["role"] == "user":
            break
        if item["type"] == "function_call_output":
            outputs.insert(0, item["output"])
    return outputs


def choose(
    functions: Sequence[JsonDict],
    *,
    user_text: str,
    items: Sequence[JsonDict],
    tool_choice: str,
    forced: str | None,
    has_image_tool: bool,
) -> FunctionCall | None:
    """The function call this response makes, if any (rules in the module docstring)."""
    if not functions or tool_choice == "none" or pending_outputs(items):
        return None
    chosen: JsonDict | None = None
    if forced is not None:
        chosen = next(f for f in functions if f["name"] == forced)
    else:
        chosen = next((f for f in functions if _names(user_text, f["name"])), None)
        if chosen is None and tool_choice == "required" and not has_image_tool:
            chosen = functions[0]
    if chosen is None:
        return None
    return FunctionCall(chosen["name"], json.dumps(_arguments(chosen, user_text)))


def _names(text: str, name: str) -> bool:
    lowered = text.lower()
    return name.lower() in lowered or name.replace("_", " ").lower() in lowered


def _arguments(function: JsonDict, text: str) -> JsonDict:
    schema = function.get("parameters") or {}
    properties = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    return {key: _value(properties.get(key) or {}, text, function["name"]) for key in required}


def _value(schema: JsonDict, text: str, name: str) -> Any:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if kind in ("integer", "number"):
        match = _NUMBER.search(text)
        number = float(match.group()) if match else 0.0
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1)
    after = re.split(re.escape(name), text, maxsplit=1, flags=re.IGNORECASE)
    rest = after[1].strip(" :,.-") if len(after) == 2 else ""
    return rest or text.strip()
