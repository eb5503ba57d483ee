"""Mainline token usage, calibrated on real recordings (tests/conformance/SOURCES.md).

What the recordings show (gpt-5 family unless said otherwise):

- Input counts everything the model reads on every sampling. A one-line prompt with the image
  tool and no image made reports ~360 input tokens (pydantic-ai: 361): a preamble, the
  ``image_generation`` tool definition (~330 tokens) and the prompt. Each function tool adds
  ~20 tokens plus its name, description and properties.
- When the model calls the image tool it samples again after the call, with the image in
  context: a one-line prompt that makes one image reports 1,650-2,950 input tokens
  (1669, 1789, 1889, 2253, 2799, 2941; gpt-4.1-mini on Azure: 1977). Fitted here:
  ``context x (1 + images) + per image (1,080 + revised prompt)``.
- Output is reasoning + the tool call's revised prompt + the visible reply + function call
  arguments: 600-2,000 for an image turn at effort medium (reasoning 896-1,600, gpt-5-nano
  1,920), 265 for a text-only answer (reasoning 192), 721 to decide a function call
  (reasoning 704). Reasoning tokens come in multiples of 64.
- Effort "none" and models that do not reason report 0 reasoning tokens (gpt-5.4, gpt-4.1-mini).
- Cached input: a prefix of at least 1,024 tokens seen before (an earlier response in the
  chain, or the first sampling of this one) is cached in blocks of 128.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]

PREAMBLE_TOKENS = 36
IMAGE_TOOL_TOKENS = 331
FUNCTION_TOOL_TOKENS = 20
IMAGE_RESULT_TOKENS = 1080
"""What a generated image adds to the context of the sampling after the call."""
CACHE_MIN_TOKENS = 1024
CACHE_BLOCK = 128

# Reasoning tokens at effort "medium" per kind of work, and how effort scales them.
_REASONING_MEDIUM = {"image": 1152, "function": 704, "text": 192}
_EFFORT_SCALE = {"none": 0.0, "minimal": 0.0, "low": 0.35, "medium": 1.0, "high": 2.2, "xhigh": 3.4}
_STEP = 64


def approx_tokens(text: str) -> int:
    """Approximate token count of ``text``: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


def tool_tokens(image_tool: JsonDict | None, functions: Sequence[JsonDict]) -> int:
    """Tokens the tool definitions add to every sampling."""
    total = IMAGE_TOOL_TOKENS if image_tool is not None else 0
    for function in functions:
        properties = json.dumps((function.get("parameters") or {}).get("properties") or {})
        words = f"{function['name']} {function.get('description') or ''} {properties}"
        total += FUNCTION_TOOL_TOKENS + approx_tokens(words)
    return total


def context_tokens(*, instructions: str | None, tools: int, history: int) -> int:
    """What the first sampling reads: preamble, instructions, tools and the conversation."""
    return PREAMBLE_TOKENS + approx_tokens(instructions or "") + tools + history


def reasoning_tokens(effort: str | None, *, images: int, functions: int, seed: int) -> int:
    """Reasoning tokens at ``effort`` for a response making ``images`` and ``functions`` calls."""
    scale = _EFFORT_SCALE.get(effort or "none", 0.0)
    if scale == 0.0:
        return 0
    if images:
        work = _REASONING_MEDIUM["image"] * images
    elif functions:
        work = _REASONING_MEDIUM["function"] * functions
    else:
        work = _REASONING_MEDIUM["text"]
    jitter = (seed % 7 - 2) * _STEP if images else 0  # recorded image turns spread 896-1,600
    return max(0, round((work * scale + jitter) / _STEP) * _STEP)


@dataclass(frozen=True)
class Usage:
    """One response's mainline usage."""

    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int


def mainline_usage(
    *,
    context: int,
    chain_cached: int,
    revised_prompts: Sequence[str],
    reply: str,
    function_arguments: Sequence[str],
    reasoning: int,
) -> Usage:
    """Usage of a response whose first sampling reads ``context`` tokens.

    Every image call makes one more sampling that reads the context again plus the calls and
    images so far; ``chain_cached`` tokens of the context were cached from earlier responses.
    """
    images = len(revised_prompts)
    added = 0
    input_tokens = context
    for prompt in revised_prompts:
        added += IMAGE_RESULT_TOKENS + approx_tokens(prompt)
        input_tokens += context + added
    cached = chain_cached
    if images and context >= CACHE_MIN_TOKENS:
        cached += images * (context // CACHE_BLOCK * CACHE_BLOCK)
    output = (
        reasoning
        + sum(approx_tokens(p) for p in revised_prompts)
        + approx_tokens(reply)
        + sum(approx_tokens(a) + 8 for a in function_arguments)
    )
    return Usage(
        input_tokens=input_tokens,
        cached_tokens=min(cached, max(input_tokens - 1, 0)),
        output_tokens=output,
        reasoning_tokens=reasoning,
    )


def chain_cached_tokens(previous_prompt_tokens: int, context: int) -> int:
    """Cached tokens when the chain's previous response read a ``previous_prompt_tokens``
    prefix of this context (same instructions)."""
    reusable = min(previous_prompt_tokens, context)
    return reusable // CACHE_BLOCK * CACHE_BLOCK if reusable >= CACHE_MIN_TOKENS else 0
