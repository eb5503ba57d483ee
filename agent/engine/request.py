"""Parse and validate a ``POST /v1/responses`` body the way the Responses API does.

Problems raise ``ApiError`` carrying the HTTP status and the API's error fields, with a
message that says what to send instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.images.spec import SpecError, validate_tool

JsonDict = dict[str, Any]

KNOWN_PARAMS = frozenset(
    {
        "access_programs",
        "background",
        "background_options",
        "context_management",
        "conversation",
        "image",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "moderation",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    }
)

TOOL_DEFAULTS: JsonDict = {
    "type": "image_generation",
    "action": "auto",
    "background": "auto",
    "model": "gpt-image-2",
    "moderation": "auto",
    "output_compression": 100,
    "output_format": "png",
    "partial_images": 0,
    "quality": "auto",
    "size": "auto",
}

_ROLES = ("user", "assistant", "system", "developer")


class ApiError(Exception):
    """An error answer: HTTP status plus the API's ``error`` fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 invalid_request_error."""
    return ApiError(400, message, param=param, code=code)


@dataclass(frozen=True)
class CreateRequest:
    """A validated create request. ``input`` items are normalised (see ``normalise_input``)."""

    model: str
    input: list[JsonDict]
    instructions: str | None
    previous_response_id: str | None
    tool: JsonDict | None  # the image_generation tool as sent (validated)
    tool_choice: str  # "auto" | "none" | "required" (a forced image_generation is "required")
    store: bool
    stream: bool
    echo: JsonDict = field(default_factory=dict)  # request fields a Response reports back

    @property
    def is_reasoning_model(self) -> bool:
        """Reasoning mainline models: gpt-5* and the o-series."""
        return self.model.startswith("gpt-5") or (
            len(self.model) > 1 and self.model[0] == "o" and self.model[1].isdigit()
        )


def parse_create(body: Any) -> CreateRequest:
    """Validate a create body; raises ApiError (400) naming the offending parameter."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for key in body:
        if key not in KNOWN_PARAMS:
            raise bad_request(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request(
            "Missing required parameter: 'model'.", "model", "missing_required_parameter"
        )
    if model.startswith(("gpt-image", "chatgpt-image", "dall-e")):
        raise bad_request(
            f"The model '{model}' is an image model: use a text model such as 'gpt-5.1' for "
            "'model' and put the image model in the image_generation tool.",
            "model",
            "model_not_found",
        )
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise bad_request("'instructions' must be a string.", "instructions", "invalid_type")
    previous = body.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous.startswith("resp")):
        raise bad_request(
            f"Invalid 'previous_response_id': {previous!r}. Expected an ID that begins with "
            "'resp'.",
            "previous_response_id",
            "invalid_value",
        )
    if "input" not in body or body["input"] is None:
        raise bad_request(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    items = normalise_input(body["input"])
    tools = _tools(body.get("tools"))
    tool = tools[0] if tools else None
    choice = _tool_choice(body.get("tool_choice", "auto"), tool)
    store = _bool(body, "store", True)
    stream = _bool(body, "stream", False)
    parallel = _bool(body, "parallel_tool_calls", True)
    metadata = _metadata(body.get("metadata"))
    echo: JsonDict = {
        "instructions": instructions,
        "previous_response_id": previous,
        "tools": [{**TOOL_DEFAULTS, **t} for t in tools],
        "tool_choice": body.get("tool_choice", "auto"),
        "store": store,
        "parallel_tool_calls": parallel,
        "metadata": metadata,
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
    }
    if model.startswith("gpt-5") or (len(model) > 1 and model[0] == "o" and model[1].isdigit()):
        asked = body.get("reasoning")
        effort = asked.get("effort", "medium") if isinstance(asked, dict) else "medium"
        echo["reasoning"] = {"effort": effort, "summary": None}
    return CreateRequest(
        model=model,
        input=items,
        instructions=instructions,
        previous_response_id=previous,
        tool=tool,
        tool_choice=choice,
        store=store,
        stream=stream,
        echo=echo,
    )


def _bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"'{key}' must be true or false.", key, "invalid_type")
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 16:
        raise bad_request("'metadata' must be an object of at most 16 string pairs.", "metadata")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise bad_request(
                "metadata keys must be strings of at most 64 characters and values strings of "
                "at most 512 characters.",
                "metadata",
            )
    return dict(value)


def _tools(value: Any) -> list[JsonDict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("'tools' must be an array of tool objects.", "tools", "invalid_type")
    tools: list[JsonDict] = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or "type" not in tool:
            raise bad_request(
                "Each tool needs a 'type'.", f"tools[{index}].type", "missing_required_parameter"
            )
        if tool["type"] != "image_generation":
            raise bad_request(
                f"The embedded engine runs only the image_generation tool, not "
                f"'{tool['type']}': remove it from 'tools'.",
                f"tools[{index}].type",
                "unsupported_value",
            )
        if tools:
            raise bad_request(
                "Send at most one image_generation tool.", f"tools[{index}]", "invalid_value"
            )
        try:
            validate_tool(tool)
        except SpecError as exc:
            code = "unknown_parameter" if exc.message.startswith("Unknown") else "invalid_value"
            raise bad_request(exc.message, f"tools[{index}].{exc.param}", code) from exc
        tools.append(dict(tool))
    return tools


def _tool_choice(value: Any, tool: JsonDict | None) -> str:
    if value in ("auto", "none"):
        return str(value)
    if value == "required":
        if tool is None:
            raise bad_request(
                "Tool choice 'required' must be specified with 'tools' parameter.", "tool_choice"
            )
        return "required"
    if isinstance(value, dict) and value.get("type") == "image_generation":
        if tool is None:
            raise bad_request(
                "Tool choice 'image_generation' not found in 'tools' parameter.", "tool_choice"
            )
        return "required"
    raise bad_request(
        "Invalid 'tool_choice': use 'auto', 'none', 'required' or "
        '{"type": "image_generation"}.',
        "tool_choice",
        "invalid_value",
    )


def normalise_input(value: Any) -> list[JsonDict]:
    """Input as a list of items: messages with typed content parts, image call and reasoning
    references. A string becomes one user message."""
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
        elif kind in ("image_generation_call", "reasoning", "item_reference"):
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
            items.append(item)
        else:
            raise bad_request(
                f"Unsupported input item type {kind!r} at {where}: send messages, "
                "image_generation_call references ({'type': 'image_generation_call', 'id': "
                "'ig_...'}) or reasoning items.",
                f"{where}.type",
                "invalid_value",
            )
    return items


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
