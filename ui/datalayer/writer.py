"""Who is writing to the data layer: the user behind a request or socket, or the server itself.

Every write that reaches the data layer comes from one of three places:
- an HTTP request (Chainlit's ``/project/element``, ``/feedback``, ``/project/thread/share``,
  action callbacks): ``ui.websec``'s middleware records the signed-in caller for the whole
  request with ``acting_as``;
- a socket session (messages, steps, elements sent while a chat runs): Chainlit's context
  names the session's user;
- the server itself (startup, tests, Chainlit integrations without a user): trusted.

The data layer only lets a writer touch threads it owns; the server may touch any.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Writer:
    """A user asking for a write; ``identifier`` None means an anonymous request."""

    identifier: str | None
    path: str = ""
    """The HTTP path of the request ("" for socket sessions)."""


_request_writer: ContextVar[Writer | None] = ContextVar("atelier_request_writer", default=None)

# The one HTTP route allowed to change sharing flags through update_thread (Chainlit's
# share toggle, which checks the caller is the author before calling it).
SHARE_ROUTE = "/project/thread/share"


@contextmanager
def acting_as(writer: Writer) -> Iterator[None]:
    """Attribute every data-layer write made inside the block to ``writer``."""
    token = _request_writer.set(writer)
    try:
        yield
    finally:
        _request_writer.reset(token)


def current_writer() -> Writer | None:
    """The user this write is for, or None when the server itself writes."""
    writer = _request_writer.get()
    if writer is not None:
        return writer
    from chainlit.context import context_var
    from chainlit.session import WebsocketSession

    try:
        session = context_var.get().session
    except LookupError:
        return None
    user = getattr(session, "user", None)
    if isinstance(session, WebsocketSession) or user is not None:
        return Writer(identifier=None if user is None else str(user.identifier))
    return None  # an HTTP context without a user: Chainlit integrations, the server


def may_change_sharing(writer: Writer | None) -> bool:
    """Sharing flags change only through the share action (or by the server)."""
    return writer is None or writer.path == SHARE_ROUTE
