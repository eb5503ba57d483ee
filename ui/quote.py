# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""The quote before spending, in the chat: the price first, then Go, Cheaper or Cancel.

``ask_first`` asks the agent for the turn's quote (``Session.quote``, which sends nothing);
above the session's threshold it shows the quote with three buttons and keeps the turn's
arguments until one is pressed. ``answer`` settles a button press: the turn to start (as
asked, or with the cheaper settings) or None.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import chainlit as cl

from agent.turn.quote import TurnQuote
from agent.turn.session import Session

GO, CHEAPER, CANCEL = "quote_go", "quote_cheaper", "quote_cancel"
PENDING = "atelier_pending_quote"  # cl.user_session key: the one quote waiting for an answer
GONE = "That quote is no longer open: send your request again to get a fresh one."


@dataclass
class PendingTurn:
    """A quoted turn waiting for Go: its words, its arguments, and the quote shown."""

    text: str
    asked: dict[str, Any]
    quote: TurnQuote
    message: cl.Message
    actions: list[cl.Action]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    settings: dict[str, Any] | None = None  # set by Cheaper


async def ask_first(session: Session, text: str, asked: dict[str, Any]) -> bool:
    """Show the turn's quote and keep it when it is above the threshold; False when the turn
    needs no Go (it may be started now)."""
    quote = await session.quote(text, **asked)
    if quote is None:
        return False
    quote_id = uuid.uuid4().hex
    payload = {"quote_id": quote_id}
    actions = [cl.Action(name=GO, payload=payload, label="Go", icon="play")]
    content = f"**Before I start:** {quote.summary}"
    if quote.cheaper is not None:
        content += f"\n\n**Cheaper:** {quote.cheaper.summary}, the same request."
        actions.append(cl.Action(name=CHEAPER, payload=payload, label="Cheaper", icon="piggy-bank"))
    else:
        content += "\n\nNothing cheaper fits under that amount."
    actions.append(cl.Action(name=CANCEL, payload=payload, label="Cancel", icon="x"))
    content += "\n\nNothing is sent until you press Go."
    message = cl.Message(content=content, actions=actions, metadata={"atelier": "quote"})
    await message.send()
    cl.user_session.set(PENDING, PendingTurn(text, asked, quote, message, actions, quote_id))
    return True


async def answer(action: cl.Action) -> PendingTurn | None:
    """Settle a Go / Cheaper / Cancel press: the turn to start, or None (cancelled, stale)."""
    pending: PendingTurn | None = cl.user_session.get(PENDING)
    if pending is None or action.payload.get("quote_id") != pending.id:
        await cl.Message(content=GONE).send()
        return None
    cl.user_session.set(PENDING, None)
    for button in pending.actions:
        await button.remove()
    quote = pending.quote
    if action.name == CANCEL:
        outcome = "Cancelled: nothing was sent."
        chosen = None
    elif action.name == CHEAPER and quote.cheaper is not None:
        outcome = f"Sent cheaper: {quote.cheaper.summary}."
        pending.settings = quote.cheaper.changes
        chosen = pending
    else:
        outcome = f"Sent: {quote.asked.summary}."
        chosen = pending
    pending.message.content = f"{pending.message.content.split(chr(10))[0]}\n\n**{outcome}**"
    pending.message.actions = []
    await pending.message.update()
    return chosen
