"""Ids as people type them: the full id, or the short form the UI shows, or any unique part.

Sessions show their first 8 characters (``3f2a9c1e``), images their last 8 (``…a41c09ff``);
every command accepts either, or a longer prefix/suffix. A part that fits several ids is an
error that names them, a part that fits none is NotFound.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.errors import NotFound

SHOWN = 8  # how many characters of an id the UI shows


class AmbiguousId(NotFound):
    """A short id that fits more than one id."""


def resolve_id(typed: str, ids: Iterable[str], *, kind: str, hint: str) -> str:
    """The one id in ``ids`` that ``typed`` names (whole, prefix or suffix).

    ``kind`` names what is looked up ("session", "image"); ``hint`` says where to list them.
    """
    token = typed.strip().strip("`").removeprefix("…")
    if not token:
        raise NotFound(f"Give a {kind} id. {hint}")
    candidates = list(dict.fromkeys(ids))
    if token in candidates:
        return token
    lowered = token.lower()
    matches = [
        one
        for one in candidates
        if lowered in (one.lower()[: len(token)], one.lower()[-len(token) :])
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"No {kind} {token}. {hint}")
    shown = ", ".join(sorted(matches)[:5]) + (" …" if len(matches) > 5 else "")
    raise AmbiguousId(
        f"{token!r} fits {len(matches)} {kind}s ({shown}): type more of the id. {hint}"
    )
