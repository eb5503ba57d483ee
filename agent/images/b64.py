"""Base64 and JSON over multi-megabyte images without starving the event loop.

A single C call such as ``b64decode`` or ``json.loads`` on a 3.5 MB string holds the GIL for
10-25 ms even in a worker thread, and the event loop waits behind it (several threads queue
such calls at once). These helpers work in ~256 KB pieces so the GIL is released between
them, and keep the big base64 strings out of the JSON parser and serialiser altogether.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

_DECODE_CHUNK = 256 * 1024  # characters: a multiple of 4
_ENCODE_CHUNK = 3 * 64 * 1024  # bytes: a multiple of 3
BIG_STRING = 64 * 1024
"""Strings at least this long are spliced around the JSON parser/serialiser."""

_PLACEHOLDER = "\u0000atelier-b64-{}\u0000"


def b64decode(text: str | bytes, *, validate: bool = False) -> bytes:
    """``base64.b64decode`` in pieces (text without whitespace or line breaks)."""
    if len(text) <= _DECODE_CHUNK:
        return base64.b64decode(text, validate=validate)
    return b"".join(
        base64.b64decode(text[i : i + _DECODE_CHUNK], validate=validate)
        for i in range(0, len(text), _DECODE_CHUNK)
    )


def b64encode(data: bytes) -> str:
    """``base64.b64encode(data).decode("ascii")`` in pieces."""
    return "".join(
        base64.b64encode(data[i : i + _ENCODE_CHUNK]).decode("ascii")
        for i in range(0, len(data), _ENCODE_CHUNK)
    )


def _value_spans(text: str, keys: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """(start, end) of each string value of ``keys`` longer than BIG_STRING, in order."""
    spans = []
    for key in keys:
        needle = f'"{key}"'
        pos = text.find(needle)
        while pos >= 0:
            colon = pos + len(needle)
            while colon < len(text) and text[colon] in " \t\r\n":
                colon += 1
            if colon < len(text) and text[colon] == ":":
                start = colon + 1
                while start < len(text) and text[start] in " \t\r\n":
                    start += 1
                if start < len(text) and text[start] == '"':
                    end = text.find('"', start + 1)  # base64 has no quotes or escapes
                    if end > 0 and end - start > BIG_STRING and text.find("\\", start, end) < 0:
                        spans.append((start + 1, end))
            pos = text.find(needle, pos + 1)
    return iter(sorted(spans))


def loads(text: str, keys: tuple[str, ...]) -> Any:
    """``json.loads`` with the big string values of ``keys`` kept out of the parser."""
    pieces: list[str] = []
    big: dict[str, str] = {}
    last = 0
    for n, (start, end) in enumerate(_value_spans(text, keys)):
        token = _PLACEHOLDER.format(n)
        pieces += [text[last:start], token.replace("\u0000", "\\u0000")]
        big[token] = text[start:end]
        last = end
    if not big:
        return json.loads(text)
    pieces.append(text[last:])
    return _restore(json.loads("".join(pieces)), big)


def _restore(node: Any, big: dict[str, str]) -> Any:
    if isinstance(node, str):
        return big.get(node, node)
    if isinstance(node, dict):
        return {key: _restore(value, big) for key, value in node.items()}
    if isinstance(node, list):
        return [_restore(value, big) for value in node]
    return node


def dumps(payload: Any) -> str:
    """Compact ``json.dumps`` with big string values spliced in, not serialised."""
    big: dict[str, str] = {}

    def swap(node: Any) -> Any:
        if isinstance(node, str) and len(node) > BIG_STRING and _is_plain(node):
            token = _PLACEHOLDER.format(len(big))
            big[token] = node
            return token
        if isinstance(node, dict):
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return node

    text = json.dumps(swap(payload), separators=(",", ":"))
    for token, value in big.items():
        text = text.replace(json.dumps(token), f'"{value}"', 1)
    return text


def _is_plain(text: str) -> bool:
    """True for text that JSON writes unchanged (base64 and the like)."""
    return text.isascii() and '"' not in text and "\\" not in text and text.isprintable()
