"""The quote before spending in ``atelier chat``: asked at a terminal, refused when piped.

At a terminal the quote is asked (y = Go, c = Cheaper, n = Cancel). Piped input cannot
answer, so a quoted turn is refused (the chat stops with exit status 2) unless ``--yes`` was
given; with ``--jsonl`` the quote is printed first as a ``quote`` event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from agent.errors import QuoteRequired
from agent.images.uploads import Attachment
from agent.turn import events as ev
from agent.turn.event_json import event_json
from agent.turn.quote import TurnQuote
from agent.turn.session import Session
from agent.turn.turn import Turn

Ask = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True)
class Go:
    """Send the turn, with ``changes`` to its settings (Cheaper) or as asked (None)."""

    changes: dict[str, Any] | None = None


async def ask_terminal(prompt: str) -> str | None:
    """One answer typed at the terminal (None at end of input)."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


@dataclass(frozen=True)
class QuoteGate:
    """How this chat answers quotes: ``ask`` at a terminal (None when piped), ``yes``."""

    out: TextIO
    err: TextIO
    jsonl: bool
    yes: bool
    ask: Ask | None

    async def settle(self, quote: TurnQuote) -> Go | None:
        """Go (as asked or cheaper), or None for Cancel; raises QuoteRequired when piped
        input cannot answer and ``--yes`` was not given."""
        if self.jsonl:
            self.out.write(json.dumps(event_json(ev.Quoted(quote.session_id, quote))) + "\n")
            self.out.flush()
        if self.yes:
            if not self.jsonl:
                self.err.write(f"[quote: {quote.summary} Sent (--yes).]\n")
            return Go()
        if self.ask is None:
            raise QuoteRequired(
                f"not sent: {quote.summary} Piped input cannot answer a quote: add --yes to "
                "send such turns, or ask for less (--quality, --size, --quote-above)."
            )
        return await self._ask(quote, self.ask)

    async def _ask(self, quote: TurnQuote, ask: Ask) -> Go | None:
        cheaper = quote.cheaper
        self.out.write(f"\n{quote.summary}\n")
        if cheaper is not None:
            self.out.write(f"Cheaper: {cheaper.summary}.\n")
        choices = "[y]es / [c]heaper / [n]o" if cheaper is not None else "[y]es / [n]o"
        while True:
            self.out.flush()
            answer = await ask(f"Send it? {choices}: ")
            if answer is None:
                return None
            word = answer.strip().lower()
            if word in ("y", "yes", "go"):
                return Go()
            if word in ("c", "cheaper") and cheaper is not None:
                return Go(cheaper.changes)
            if word in ("n", "no", "cancel", ""):
                self.out.write("Cancelled: nothing was sent.\n")
                return None


async def start_quoted(
    session: Session,
    gate: QuoteGate | None,
    text: str,
    *,
    target_image: str | None,
    mask: Attachment | None,
    variations_of: str | None,
) -> Turn | None:
    """Start a turn, its quote settled first through ``gate``; None when it was cancelled.

    Without a gate a quoted turn is not confirmed, so it ends with QuoteRequired unsent.
    """
    asked: dict[str, Any] = {
        "target_image": target_image,
        "mask": mask,
        "variations_of": variations_of,
    }
    quote = await session.quote(text, **asked) if gate is not None else None
    if gate is None or quote is None:
        return session.start_turn(text, **asked)
    go = await gate.settle(quote)
    if go is None:
        return None
    return session.start_turn(text, **asked, confirmed=True, settings=go.changes)
