"""A bounded cache of finished renders: the engine is deterministic, so the same inputs
always make the same picture, and Pillow is the engine's dearest work.

Keys fingerprint everything that decides the pixels and bytes (action, prompt, edits, the
source, mask and reference pixels, size, background, format, compression, partial count).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Rendered:
    """A final image and its partial frames, already encoded as base64."""

    final_b64: str
    partials_b64: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        """Memory the entry holds (its base64 text)."""
        return len(self.final_b64) + sum(len(p) for p in self.partials_b64)


def render_key(
    *,
    action: str,
    prompt: str,
    ops: Sequence[object],
    images: Sequence[Image.Image | None],
    width: int,
    height: int,
    background: str,
    output_format: str,
    compression: int | None,
    partials: int,
) -> str:
    """A digest of everything that decides a render (blocking: hashes pixels)."""
    digest = hashlib.sha256()
    text = f"{action}|{prompt}|{ops!r}|{width}x{height}|{background}|{output_format}|"
    digest.update(f"{text}{compression}|{partials}".encode())
    for image in images:
        if image is None:
            digest.update(b"|none")
            continue
        digest.update(f"|{image.mode}{image.size}".encode())
        digest.update(image.tobytes())
    return digest.hexdigest()


class RenderCache:
    """Least-recently-used renders, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Rendered | None:
        """The render for ``key``, or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: str, entry: Rendered) -> None:
        """Keep ``entry``; evict the least recently used ones beyond the byte budget."""
        if entry.size_bytes > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size_bytes
        self._entries[key] = entry
        self._bytes += entry.size_bytes
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size_bytes

    @property
    def size_bytes(self) -> int:
        """Bytes held now."""
        return self._bytes
