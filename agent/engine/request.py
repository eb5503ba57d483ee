"""Parse and validate a ``POST /v1/responses`` body the way the Responses API does.

Problems raise ``ApiError`` carrying the HTTP status and the API's error fields, with a
message that says what to send instead. Shapes accepted here are the ones real clients send
(see tests/conformance): ``output_compression`` next to png (echoed as 100),
``input_fidelity: null``, function tools next to ``image_generation``, every ``tool_choice``
form, ``include``, ``reasoning``, ``text.format``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.engine import models
from agent.engine.errors import ApiError, bad_request
from agent.engine.inputs import normalise_input
from agent.images.spec import SpecError, validate_tool

__all__ = ["ApiError", "CreateRequest", "bad_request", "parse_create"]

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
INCLUDABLE = frozenset(
    {
        "reasoning.encrypted_content",
        "message.output_text.logprobs",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "code_interpreter_call.outputs",
    }
)
_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}


@dataclass(frozen=True)
class CreateRequest:
    """A validated create request. ``input`` items are normalised (see ``inputs``)."""

    model: str
    input: list[JsonDict]
    instructions: str | None
    previous_response_id: str | None
    tool: JsonDict | None  # the image_generation tool as sent (validated)
    tool_choice: str  # "auto" | "none" | "required" (a forced image_generation is "required")
    store: bool
    stream: bool
    echo: JsonDict = field(default_factory=dict)  # request fields a Response reports back
    functions: tuple[JsonDict, ...] = ()  # function tools as sent
    forced_function: str | None = None  # tool_choice {"type": "function", "name": ...}
    effort: str | None = None  # resolved reasoning effort; None for models that do not reason
    include_encrypted: bool = False  # include ["reasoning.encrypted_content"]

    @property
    def is_reasoning_model(self) -> bool:
        """Whether this response emits a reasoning item (effort "none" emits none)."""
        return self.effort not in (None, "none")


def parse_create(body: Any) -> CreateRequest:
    """Validate a create body; raises ApiError (400) naming the offending parameter."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for key in body:
        if key not in KNOWN_PARAMS:
            raise bad_request(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    model = _model(body.get("model"))
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
    image_tools, functions, echoed_tools = _tools(body.get("tools"))
    tool = image_tools[0] if image_tools else None
    choice, forced = _tool_choice(body.get("tool_choice", "auto"), tool, functions)
    for name, (low, high) in _RANGES.items():
        _number_in(body, name, low, high)
    _max_output_tokens(body.get("max_output_tokens"))
    effort, reasoning_echo = _reasoning(model, body.get("reasoning"))
    include = _include(body.get("include"))
    echo: JsonDict = {
        "instructions": instructions,
        "previous_response_id": previous,
        "tools": echoed_tools,
        "tool_choice": body.get("tool_choice", "auto"),
        "store": _bool(body, "store", True),
        "parallel_tool_calls": _bool(body, "parallel_tool_calls", True),
        "metadata": _metadata(body.get("metadata")),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "reasoning": reasoning_echo,
        "text": _text(body.get("text")),
        "safety_identifier": body.get("safety_identifier"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "user": body.get("user"),
    }
    return CreateRequest(
        model=model,
        input=items,
        instructions=instructions,
        previous_response_id=previous,
        tool=tool,
        tool_choice=choice,
        store=echo["store"],
        stream=_bool(body, "stream", False),
        echo=echo,
        functions=tuple(functions),
        forced_function=forced,
        effort=effort,
        include_encrypted="reasoning.encrypted_content" in include,
    )


def _model(model: Any) -> str:
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
    return model


def _bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"'{key}' must be true or false.", key, "invalid_type")
    return value


def _number_in(body: Mapping[str, Any], key: str, low: float, high: float) -> None:
    """The API's range check, with its codes (seen in recordings: decimal_below_min_value)."""
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"Invalid type for '{key}': expected a decimal.", key, "invalid_type")
    if value < low:
        raise bad_request(
            f"Invalid '{key}': decimal below minimum value. Expected a value >= {low:g}, but "
            f"got {value:g} instead.",
            key,
            "decimal_below_min_value",
        )
    if value > high:
        raise bad_request(
            f"Invalid '{key}': decimal above maximum value. Expected a value <= {high:g}, but "
            f"got {value:g} instead.",
            key,
            "decimal_above_max_value",
        )


def _max_output_tokens(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(
            "Invalid type for 'max_output_tokens': expected an integer.",
            "max_output_tokens",
            "invalid_type",
        )
    if value < 16:
        raise bad_request(
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
            f"but got {value} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )


def _reasoning(model: str, asked: Any) -> tuple[str | None, JsonDict]:
    """The resolved effort and the ``reasoning`` object the response echoes."""
    if asked is not None and not isinstance(asked, dict):
        raise bad_request("'reasoning' must be an object.", "reasoning", "invalid_type")
    asked = asked or {}
    effort = asked.get("effort")
    summary = asked.get("summary", asked.get("generate_summary"))
    if effort is not None and effort not in models.EFFORTS:
        raise bad_request(
            f"Invalid value: '{effort}'. Supported values are: "
            f"{', '.join(repr(e) for e in models.EFFORTS)}.",
            "reasoning.effort",
            "invalid_value",
        )
    if summary not in (None, "auto", "concise", "detailed"):
        raise bad_request(
            "Invalid 'reasoning.summary': use 'auto', 'concise' or 'detailed'.",
            "reasoning.summary",
            "invalid_value",
        )
    default = models.default_effort(model)
    if default is None:
        if effort is not None:
            raise bad_request(
                f"Unsupported parameter: 'reasoning.effort' is not supported with this model "
                f"({model}).",
                "reasoning.effort",
                "unsupported_parameter",
            )
        return None, {"effort": None, "summary": None}
    resolved = effort or default
    return resolved, {"effort": resolved, "summary": summary}


def _include(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("'include' must be an array of strings.", "include", "invalid_type")
    for index, entry in enumerate(value):
        if entry not in INCLUDABLE:
            raise bad_request(
                f"Invalid value: '{entry}'. Supported values are: {', '.join(sorted(INCLUDABLE))}.",
                f"include[{index}]",
                "invalid_value",
            )
    return frozenset(value)


def _text(value: Any) -> JsonDict:
    """The ``text`` object echoed back (format defaults to plain text)."""
    if value is None:
        return {"format": {"type": "text"}, "verbosity": "medium"}
    if not isinstance(value, dict):
        raise bad_request("'text' must be an object.", "text", "invalid_type")
    fmt = value.get("format") or {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise bad_request(
            "Invalid 'text.format.type': use 'text', 'json_object' or 'json_schema'.",
            "text.format.type",
            "invalid_value",
        )
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
            raise bad_request(
                "A json_schema text format needs a 'name' and a 'schema' object.",
                "text.format",
                "missing_required_parameter",
            )
        fmt = {"description": None, "strict": False, **fmt}
    verbosity = value.get("verbosity") or "medium"
    if verbosity not in ("low", "medium", "high"):
        raise bad_request(
            "Invalid 'text.verbosity': use 'low', 'medium' or 'high'.",
            "text.verbosity",
            "invalid_value",
        )
    return {"format": fmt, "verbosity": verbosity}


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


def _tools(value: Any) -> tuple[list[JsonDict], list[JsonDict], list[JsonDict]]:
    """(image tools, function tools, the tools as the response echoes them)."""
    if value is None:
        return [], [], []
    if not isinstance(value, list):
        raise bad_request("'tools' must be an array of tool objects.", "tools", "invalid_type")
    images: list[JsonDict] = []
    functions: list[JsonDict] = []
    echoed: list[JsonDict] = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or "type" not in tool:
            raise bad_request(
                "Each tool needs a 'type'.", f"tools[{index}].type", "missing_required_parameter"
            )
        if tool["type"] == "function":
            function = _function_tool(tool, index, functions)
            functions.append(function)
            echoed.append(function)
            continue
        if tool["type"] != "image_generation":
            raise bad_request(
                f"The embedded engine runs the image_generation tool and function tools, not "
                f"'{tool['type']}': remove it from 'tools'.",
                f"tools[{index}].type",
                "unsupported_value",
            )
        if images:
            raise bad_request(
                "Send at most one image_generation tool.", f"tools[{index}]", "invalid_value"
            )
        image = _image_tool(tool, index)
        images.append(image)
        echoed.append({**TOOL_DEFAULTS, **image})
    return images, functions, echoed


def _image_tool(tool: Mapping[str, Any], index: int) -> JsonDict:
    """Validate an image_generation tool; the API's tolerances first (null fidelity, png
    compression), then the image model's own rules."""
    checked = {k: v for k, v in tool.items() if not (k == "input_fidelity" and v is None)}
    if checked.get("output_format", "png") == "png":
        checked.pop("output_compression", None)  # accepted with png and echoed as 100
    try:
        validate_tool(checked)
    except SpecError as exc:
        code = "unknown_parameter" if exc.message.startswith("Unknown") else "invalid_value"
        raise bad_request(exc.message, f"tools[{index}].{exc.param}", code) from exc
    return checked


def _function_tool(tool: Mapping[str, Any], index: int, seen: list[JsonDict]) -> JsonDict:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request(
            f"Missing required parameter: 'tools[{index}].name'.",
            f"tools[{index}].name",
            "missing_required_parameter",
        )
    if any(f["name"] == name for f in seen):
        raise bad_request(
            f"Duplicate function name '{name}' in 'tools'.", f"tools[{index}].name", "invalid_value"
        )
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise bad_request(
            "'parameters' must be a JSON schema object.",
            f"tools[{index}].parameters",
            "invalid_type",
        )
    return {
        "type": "function",
        "name": name,
        "description": tool.get("description"),
        "parameters": parameters if parameters is not None else {},
        "strict": tool.get("strict", True),
    }


def _tool_choice(
    value: Any, tool: JsonDict | None, functions: list[JsonDict]
) -> tuple[str, str | None]:
    """(the choice as "auto" | "none" | "required", a forced function's name)."""
    has_tools = tool is not None or bool(functions)
    if value in ("auto", "none"):
        return str(value), None
    if value == "required":
        if not has_tools:
            raise bad_request(
                "Tool choice 'required' must be specified with 'tools' parameter.", "tool_choice"
            )
        return "required", None
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "image_generation":
            if tool is None:
                raise bad_request(
                    "Tool choice 'image_generation' not found in 'tools' parameter.",
                    "tool_choice",
                )
            return "required", None
        if kind == "function":
            name = value.get("name")
            if not any(f["name"] == name for f in functions):
                raise bad_request(
                    f"Tool choice 'function' with name '{name}' not found in 'tools' parameter.",
                    "tool_choice",
                )
            return "required", str(name)
        if kind == "allowed_tools" and value.get("mode") in ("auto", "required"):
            return str(value["mode"]), None
    raise bad_request(
        "Invalid 'tool_choice': use 'auto', 'none', 'required', "
        '{"type": "image_generation"}, {"type": "function", "name": ...} or '
        '{"type": "allowed_tools", "mode": ..., "tools": [...]}.',
        "tool_choice",
        "invalid_value",
    )
