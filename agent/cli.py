"""The ``atelier`` command: chat, engine, price, bill, export, sessions, serve."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, assert_never

from pydantic import ValidationError

from agent.billing.calculator import format_quote, quote
from agent.billing.format import bill_to_csv, bill_to_json, bill_to_markdown, format_usd
from agent.billing.pricing import PriceBook
from agent.cli_quote import QuoteGate, ask_terminal, start_quoted
from agent.config import PROFILES, Settings
from agent.errors import AtelierError, NotFound, UploadRejected
from agent.images.spec import FORMATS, SpecError
from agent.images.uploads import Attachment, validate_mask_async
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.store.ids import SHOWN, resolve_id
from agent.turn import events as ev
from agent.turn.event_json import event_json
from agent.turn.quote import parse_threshold
from agent.turn.session import Session

CHAT_HELP = """Type a request, one turn per line. Commands:
  /refine IMAGE_ID text     change one earlier image (its 8-character id is enough)
  /refine IMAGE_ID --mask PATH text
                            change only where the mask (a PNG with alpha) is clear
  /variations IMAGE_ID [text]
                            variations of an image (--variants of them, or "6 variations")
  /images                   list this session's images
  /bill                     the session bill so far
  /quit                     leave (the session can be resumed with --session)"""


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="atelier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="chat in the terminal (stdin lines are turns)")
    chat.add_argument("--session", help="resume this session (its id, or its first 8 characters)")
    chat.add_argument("--profile", choices=PROFILES, default="studio")
    chat.add_argument(
        "--user", help="whose session it is (default: yours; a resumed session's own user)"
    )
    chat.add_argument("--model", help="mainline (text) model")
    chat.add_argument("--image-model")
    chat.add_argument("--size", help="WIDTHxHEIGHT or auto")
    chat.add_argument("--quality", choices=("low", "medium", "high", "auto", "xhigh", "max"))
    chat.add_argument("--format", choices=FORMATS, dest="output_format")
    chat.add_argument("--compression", type=int, dest="output_compression")
    chat.add_argument("--partial-images", type=int, choices=range(4), metavar="0-3")
    chat.add_argument("--no-store", action="store_true", help="zero-data-retention mode")
    chat.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    chat.add_argument("--variants", type=int, choices=range(2, 9), metavar="2-8")
    chat.add_argument("--quote-above", metavar="USD|off", help="ask before turns above this")
    chat.add_argument("--yes", action="store_true", help="send turns above the quote threshold")

    engine = sub.add_parser("engine", help="serve the embedded engine over HTTP")
    engine.add_argument("--host", default="127.0.0.1")
    engine.add_argument("--port", type=int, default=8900)

    price = sub.add_parser("price", help="what one image costs")
    price.add_argument("--model", default="gpt-image-2")
    price.add_argument("--size", required=True)
    price.add_argument("--quality", required=True)
    price.add_argument("--partial-images", type=int, default=0)

    bill = sub.add_parser("bill", help="a session's bill")
    bill.add_argument("session_id", help="the session's id or its first 8 characters")
    bill.add_argument("--format", choices=("md", "json", "csv"), default="md")

    export = sub.add_parser("export", help="a session's images and manifest as a zip")
    export.add_argument("session_id", help="the session's id or its first 8 characters")
    export.add_argument("dest", type=Path)

    sessions = sub.add_parser("sessions", help="list sessions")
    sessions.add_argument("--user", help="only this user's sessions (default: everyone's)")
    sessions.add_argument("--full-ids", action="store_true", help="print whole session ids")

    serve = sub.add_parser("serve", help="start the Chainlit app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="Chainlit processes behind haproxy (sticky)"
    )
    return parser


def _settings_changes(args: argparse.Namespace) -> dict[str, Any]:
    pairs = {
        "mainline_model": args.model,
        "image_model": args.image_model,
        "size": args.size,
        "quality": args.quality,
        "output_format": args.output_format,
        "output_compression": args.output_compression,
        "partial_images": args.partial_images,
        "variants": args.variants,
    }
    changes = {key: value for key, value in pairs.items() if value is not None}
    if args.quote_above is not None:
        changes["quote_above_usd"] = parse_threshold(args.quote_above)
    if args.no_store:
        changes["store"] = False
    return changes


class ChatPrinter:
    """Prints events for a person, or as JSON lines for a program."""

    def __init__(self, out: TextIO, err: TextIO, jsonl: bool) -> None:
        self.out, self.err, self.jsonl = out, err, jsonl

    def emit(self, event: ev.AgentEvent) -> None:
        """Print one event."""
        if self.jsonl:
            self.out.write(json.dumps(event_json(event)) + "\n")
            self.out.flush()
            return
        match event:
            case ev.TextDelta():
                self.out.write(event.text)
            case ev.ImageCallStarted():
                verb = "Editing" if event.action == "edit" else "Generating"
                self.out.write(f"\n[{verb} {event.size} · {event.quality} …]\n")
            case ev.ImageReady():
                image = event.image
                parent = f" (from {image.parent_id})" if image.parent_id else ""
                self.out.write(f"[image {image.id}{parent}: {image.size} → {image.path}]\n")
            case ev.ImageFailed():
                self.out.write(f"[image {event.call_id} failed: {event.error.user_message}]\n")
            case ev.BudgetWarning():
                self.out.write(
                    f"[warning: {event.budget} budget at {format_usd(event.spent_usd)} "
                    f"of {format_usd(event.limit_usd)}]\n"
                )
            case ev.TurnBilled():
                self.out.write(f"\n{self._bill_line(event)}\n")
            case ev.TurnFailed():
                spent = format_usd(event.spent.known_usd) if event.spent.lines else "$0"
                self.err.write(f"\nError: {event.error.user_message} (spent this turn: {spent})\n")
            case ev.TurnStarted() | ev.PartialImage():
                pass
            case _:
                assert_never(event)
        self.out.flush()

    @staticmethod
    def _bill_line(event: ev.TurnBilled) -> str:
        kinds = event.bill.by_kind()
        total = format_usd(event.bill.total_usd)
        estimated = " (estimated)" if event.bill.estimated else ""
        limit = event.session_budget_usd
        budget = f" of {format_usd(limit, places=2)}" if limit is not None else ""
        session = format_usd(event.session_total_usd)
        return (
            f"Turn {event.turn}: {total}{estimated} (text {format_usd(kinds['text'])} · images "
            f"{format_usd(kinds['images'])}) · session {session}{budget}"
        )


async def _open_session(atelier: Atelier, args: argparse.Namespace) -> Session:
    changes = _settings_changes(args)
    if args.session:
        session_id = await atelier.find_session_id(args.session)
        # Without --user a session is resumed as its own user (a web thread's too).
        session = await atelier.resume_session(session_id, user_id=args.user)
        if changes:
            await session.update_settings(**changes)
        return session
    settings = SessionSettings.defaults(atelier.settings, args.profile).updated(**changes)
    return await atelier.new_session(
        user_id=args.user or _default_user(), profile=args.profile, settings=settings
    )


async def _read_line(interactive: bool) -> str | None:
    if interactive:
        try:
            return await asyncio.to_thread(input, "you> ")
        except EOFError:
            return None
    line = await asyncio.to_thread(sys.stdin.readline)
    return line.rstrip("\n") if line else None


async def _chat_command(
    session: Session, line: str, printer: ChatPrinter, gate: QuoteGate | None = None
) -> bool:
    """Run one line; returns False when the user wants to leave."""
    words = line.split(maxsplit=2)
    command = words[0].lower() if words else ""
    target: str | None = None
    variations: str | None = None
    mask: Attachment | None = None
    text = line
    if command in ("/quit", "/exit"):
        return False
    if command == "/help":
        printer.err.write(CHAT_HELP + "\n")
        return True
    if command == "/images":
        for image in await session.images():
            printer.out.write(f"{image.id}  turn {image.turn}  {image.size}  {image.path}\n")
        return True
    if command == "/bill":
        printer.out.write(bill_to_markdown(session.id, await session.turns()) + "\n")
        return True
    if command == "/refine":
        parsed = await _refine_args(words, printer)
        if parsed is None:
            return True
        typed, mask, text = parsed
        target = await _image_id(session, typed)
    elif command == "/variations":
        if len(words) < 2:
            printer.err.write("Usage: /variations IMAGE_ID\n")
            return True
        variations = await _image_id(session, words[1])
        text = words[2] if len(words) > 2 else ""
    elif command.startswith("/"):
        printer.err.write(f"Unknown command {command}.\n{CHAT_HELP}\n")
        return True
    turn = await start_quoted(
        session, gate, text, target_image=target, mask=mask, variations_of=variations
    )
    if turn is None:  # its quote was cancelled
        return True
    async for event in turn:
        printer.emit(event)
    return True


def _read_file(path: Path) -> bytes:
    return path.expanduser().read_bytes()


async def _refine_args(
    words: list[str], printer: ChatPrinter
) -> tuple[str, Attachment | None, str] | None:
    """``/refine ID text`` or ``/refine ID --mask PATH text``: (target, mask, text)."""
    rest = words[2].split(maxsplit=2) if len(words) > 2 else []
    if rest[:1] == ["--mask"]:
        if len(rest) < 3:
            printer.err.write("Usage: /refine IMAGE_ID --mask PATH what to change\n")
            return None
        path = Path(rest[1])
        try:
            data = await asyncio.to_thread(_read_file, path)
        except OSError as exc:
            printer.err.write(f"Cannot read the mask {path}: {exc.strerror or exc}.\n")
            return None
        try:
            mask = await validate_mask_async(path.name, data)
        except UploadRejected as exc:
            printer.err.write(f"Mask not used: {exc.user_message}\n")
            return None
        return words[1], mask, rest[2]
    if len(words) < 3:
        printer.err.write("Usage: /refine IMAGE_ID what to change\n")
        return None
    return words[1], None, words[2]


async def _image_id(session: Session, typed: str) -> str:
    """The id of this session's image that ``typed`` names (whole, short or a unique part)."""
    images = [image.id for image in await session.images()]
    return resolve_id(typed, images, kind="image", hint="/images lists this session's images.")


async def chat(args: argparse.Namespace, settings: Settings) -> int:
    """Chat in the terminal; every stdin line is a turn."""
    interactive = sys.stdin.isatty() and not args.jsonl
    printer = ChatPrinter(sys.stdout, sys.stderr, args.jsonl)
    ask = ask_terminal if interactive else None
    gate = QuoteGate(sys.stdout, sys.stderr, args.jsonl, args.yes, ask)
    async with await Atelier.open(settings) as atelier:
        session = await _open_session(atelier, args)
        if not args.jsonl:
            mode = "embedded engine" if settings.use_embedded_engine else "OpenAI API"
            printer.err.write(
                f"Session {session.id} ({session.profile}, {mode}). /help for help.\n"
            )
        while (line := await _read_line(interactive)) is not None:
            try:
                if line.strip() and not await _chat_command(session, line.strip(), printer, gate):
                    break
            except NotFound as error:  # a mistyped id: say so, keep the chat going
                printer.err.write(f"{error.user_message}\n")
    return 0


async def bill(args: argparse.Namespace, settings: Settings) -> int:
    """Print a session's bill as md, json or csv."""
    async with await Atelier.open(settings) as atelier:
        session_id = await atelier.find_session_id(args.session_id)
        turns = await (await atelier.resume_session(session_id)).turns()
    if args.format == "json":
        print(json.dumps(bill_to_json(session_id, turns), indent=2))
    elif args.format == "csv":
        sys.stdout.write(bill_to_csv(session_id, turns))
    else:
        print(bill_to_markdown(session_id, turns))
    return 0


async def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a session's images and manifest to a zip file."""
    async with await Atelier.open(settings) as atelier:
        session_id = await atelier.find_session_id(args.session_id)
        path = await (await atelier.resume_session(session_id)).export_zip(args.dest)
    print(f"Wrote {path}")
    return 0


async def sessions(args: argparse.Namespace, settings: Settings) -> int:
    """List sessions, the web app's threads included, with their user (newest first)."""
    async with await Atelier.open(settings) as atelier:
        records = await atelier.sessions(args.user)
    if not records:
        print("No sessions yet." if args.user is None else f"No sessions for {args.user}.")
        return 0
    width = max(len(record.user_id) for record in records)
    print(f"{'ID':<{36 if args.full_ids else 8}}  {'USER':<{width}}  PROFILE     TURNS  TITLE")
    for record in records:
        shown = record.id if args.full_ids else record.id[:SHOWN]
        print(
            f"{shown}  {record.user_id:<{width}}  {record.profile:<10} "
            f"{record.turn_count:>6}  {record.title}"
        )
    return 0


def price(args: argparse.Namespace, settings: Settings) -> int:
    """Print what one image costs."""
    result = quote(
        args.model, args.size, args.quality, args.partial_images, PriceBook.load(settings)
    )
    print(format_quote(result))
    return 0


def serve(args: argparse.Namespace) -> int:
    """Start the Chainlit app: this process, or ``--workers N`` behind a load balancer."""
    if args.workers != 1:
        from agent.ops.serve import serve as serve_workers

        return asyncio.run(serve_workers(args.workers, args.host, args.port))
    return _serve_one(args)


def _serve_one(args: argparse.Namespace) -> NoReturn:
    """Start one Chainlit process (replaces this process)."""
    app = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    command = ["chainlit", "run", str(app), "--host", args.host, "--port", str(args.port), "-h"]
    os.execvpe("chainlit", command, env)


def run_engine(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the embedded engine over HTTP until interrupted."""
    from agent.engine import EngineConfig
    from agent.engine import serve as serve_engine

    print(f"Engine on http://{args.host}:{args.port}/v1 (OPENAI_BASE_URL for any client)")
    asyncio.run(serve_engine(args.host, args.port, EngineConfig.from_settings(settings)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atelier`` command."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        match args.command:
            case "chat":
                return asyncio.run(chat(args, settings))
            case "bill":
                return asyncio.run(bill(args, settings))
            case "export":
                return asyncio.run(export(args, settings))
            case "sessions":
                return asyncio.run(sessions(args, settings))
            case "price":
                return price(args, settings)
            case "engine":
                return run_engine(args, settings)
            case "serve":
                return serve(args)
    except (AtelierError, SpecError) as exc:
        message = exc.user_message if isinstance(exc, AtelierError) else exc.message
        print(f"atelier: {message}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        print(
            f"atelier: invalid setting ({problems}). Check ATELIER_* variables and .env.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
