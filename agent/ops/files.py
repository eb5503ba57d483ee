"""The one way Atelier replaces a file: write a temp file beside it, fsync, rename over it.

A reader sees the old file or the new one, never half of one; a crash leaves at most a temp
file (named ``.tmp-*``) that nothing refers to. Blocking: call from a worker thread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temp path beside ``target`` to write; it replaces ``target`` when the block ends well."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically."""
    with atomic_path(target) as temp:
        temp.write_bytes(data)
