# mypy: disable-error-code="no-untyped-call"
# (Chainlit 2.12 leaves send/update/remove untyped; everything else here is checked.)
"""Atelier's Chainlit app: ``chainlit run ui/app.py``.

Thin by design: it wires Chainlit's callbacks to one ``Atelier`` per process, forwards what
the user does to the agent session, and hands every event to ``ui.render``. The agent
session id is the Chainlit thread id, so a resumed thread finds its session again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

import chainlit as cl
from chainlit.config import config as chainlit_config
from chainlit.server import app as chainlit_app
from chainlit.server import sio as chainlit_sio
from chainlit.types import ThreadDict
from starlette.requests import Request
from starlette.responses import Response

from agent.config import Profile
from agent.errors import InvalidSettings, NotFound
from agent.images.uploads import Attachment
from agent.ops.lagprobe import LagProbe
from agent.ops.memory import tune_allocator
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn.session import Session
from agent.turn.turn import Turn
from ui import actions, lineage, local_assets, process, select_area
from ui import quote as quote_ui
from ui.auth import auth_enabled, ensure_auth_secret, load_users, private_files
from ui.chat_settings import build_widgets, changes_from
from ui.commands import COMMANDS, command_of, run_command
from ui.datalayer import SQLiteDataLayer
from ui.image_route import install_image_route
from ui.markup import inert_thread
from ui.money import usd_short
from ui.process import Process
from ui.profiles import CARDS, PROFILE_SETTINGS, chat_profiles, profile_for
from ui.render import TurnRenderer, bill_action
from ui.routes import HttpSurface
from ui.sessions import end_sessions, token_metadata
from ui.single_user import SignedInPages
from ui.storage import SINGLE_USER_IDENTIFIER, token_from
from ui.upload_guard import read_uploads
from ui.websec import remote_single_user_refusal
from ui.widget import WidgetRequests, from_widget

logger = logging.getLogger("atelier.ui")

# cl.user_session keys
AGENT = "atelier_session"
PROFILE = "atelier_profile"
PENDING = "atelier_pending_settings"
TARGET = "atelier_target_image"
RUNNING = "atelier_running_turn"  # (Turn, TurnRenderer) of the turn in flight


def _proc() -> Process:
    return process.current()


def _atelier() -> Atelier:
    return process.current().atelier


def _layer() -> SQLiteDataLayer:
    return process.current().layer


@cl.data_layer
def _data_layer() -> SQLiteDataLayer:
    return _layer()


@cl.on_app_startup
async def _startup() -> None:
    proc = _proc()
    tune_allocator()
    proc.opened = await Atelier.open(proc.settings)
    proc.probe = LagProbe(proc.settings.lag_probe_interval_ms)
    proc.probe.start()
    await asyncio.to_thread(private_files, proc.settings.data_dir)
    _surface().install_routes(chainlit_app)
    # Select area and the lineage tree load images here (the thread's readers only).
    install_image_route(chainlit_app, _atelier, _layer().can_read_thread, _surface().identify)


@cl.on_app_shutdown
async def _shutdown() -> None:
    await _proc().close()


# --------------------------------------------------------------------------- who is there

# Databases, secrets and files the server writes are readable by its own user only.
os.umask(0o077)
# Chainlit needs CHAINLIT_AUTH_SECRET for any login: made once into the data dir if unset.
ensure_auth_secret(_proc().settings, _proc().settings.data_dir)
_logins_on = auth_enabled(_proc().settings)
_users = load_users(_proc().settings)

if refusal := remote_single_user_refusal(chainlit_config.run.host, _logins_on, _proc().web):
    print(refusal, file=sys.stderr)
    raise SystemExit(2)


def _surface() -> HttpSurface:
    usernames = _users.usernames if _users is not None else frozenset()
    return _proc().http_surface(logins_on=_logins_on, usernames=usernames)


_surface().install_middlewares(chainlit_app, chainlit_sio, chainlit_config.project.allow_origins)

if _users is not None:

    @cl.password_auth_callback
    async def _password(username: str, password: str) -> cl.User | None:
        # PBKDF2 is deliberately slow: keep it off the event loop.
        if _users is not None and await asyncio.to_thread(_users.verify, username, password):
            version = await _layer().token_version(username)
            return cl.User(
                identifier=username,
                display_name=username,
                metadata=token_metadata("password", version),
            )
        return None

else:

    @cl.header_auth_callback
    async def _single_user(headers: Any) -> cl.User | None:
        # Single-user mode: everyone who can reach the server is the one local user, so
        # threads, history and resume work without a login page.
        return await _local_user()

    async def _local_user() -> cl.User:
        version = await _layer().token_version(SINGLE_USER_IDENTIFIER)
        return cl.User(
            identifier=SINGLE_USER_IDENTIFIER,
            display_name="You",
            metadata=token_metadata("local", version),
        )

    async def _local_token() -> str:
        from chainlit.auth import create_jwt

        return create_jwt(await _local_user())

    chainlit_app.add_middleware(SignedInPages, token=_local_token)


@cl.on_logout
async def _logout(request: Request, response: Response) -> dict[str, bool]:
    """Signing out ends every session of that user, not just this browser's cookie."""
    await end_sessions(_layer(), token_from(request))
    return {"success": True}


@cl.on_shared_thread_view
async def _shared_view(thread: ThreadDict, viewer: cl.User | None) -> bool:
    """A thread the author shared is readable (read-only) by any signed-in viewer.

    What its users typed is shown to viewers as text: Markdown in it stays inert.
    """
    is_shared = await _layer().is_shared(thread["id"])
    if is_shared and viewer is not None:
        inert_thread(thread)
    return bool(is_shared) and viewer is not None


def _user_id() -> str:
    user = cl.user_session.get("user")
    identifier = getattr(user, "identifier", None)
    return str(identifier) if identifier else SINGLE_USER_IDENTIFIER


# --------------------------------------------------------------------------- profiles


# Added before the server starts (Starlette refuses middleware once it runs).
chainlit_app.add_middleware(WidgetRequests)
local_assets.install()


@cl.set_chat_profiles
async def _profiles(user: cl.User | None, language: str | None = None) -> list[cl.ChatProfile]:
    # The widget always runs Support: a picker there would reset its config mid-chat.
    return [] if from_widget() else chat_profiles()


def _profile() -> Profile:
    profile: Profile = cl.user_session.get(PROFILE) or "studio"
    return profile


def _session() -> Session | None:
    session: Session | None = cl.user_session.get(AGENT)
    return session


async def _ensure_session(title: str) -> Session:
    """The chat's agent session, created on the first turn under the thread's id."""
    session = _session()
    if session is not None:
        return session
    settings: SessionSettings | None = cl.user_session.get(PENDING)
    session = await _atelier().new_session(
        user_id=_user_id(),
        profile=_profile(),
        settings=settings,
        title=title[:120],
        session_id=cl.context.session.thread_id,
    )
    cl.user_session.set(AGENT, session)
    await _layer().update_thread(cl.context.session.thread_id, name=title[:120] or None)
    return session


async def _send_settings_panel(settings: SessionSettings) -> None:
    await cl.ChatSettings(build_widgets(settings)).send()


async def _begin() -> None:
    """A fresh chat: its profile (Support in the Copilot), default settings, commands."""
    profile = profile_for(
        cl.user_session.get("chat_profile"), client_type=cl.context.session.client_type
    )
    cl.user_session.set(PROFILE, profile)
    defaults = SessionSettings.defaults(_proc().settings, profile).updated(
        **PROFILE_SETTINGS.get(profile, {})
    )
    cl.user_session.set(PENDING, defaults)
    await _send_settings_panel(defaults)
    await cl.context.emitter.set_commands(COMMANDS)


@cl.on_chat_start
async def _chat_start() -> None:
    await _begin()
    if cl.context.session.client_type == "copilot":
        await cl.Message(
            content="Hi! I'm the Atelier help assistant. Ask me how refining, settings, "
            "uploads or costs work — for example: _" + CARDS["support"].starters[0][1] + "_"
        ).send()


@cl.on_chat_resume
async def _chat_resume(thread: ThreadDict) -> None:
    try:
        session = await _atelier().resume_session(thread["id"], user_id=_user_id())
    except NotFound:
        # A thread with no studio session yet (e.g. only buttons were pressed): start fresh.
        await _begin()
        return
    cl.user_session.set(AGENT, session)
    cl.user_session.set(PROFILE, session.profile)
    await _send_settings_panel(session.settings)
    await cl.context.emitter.set_commands(COMMANDS)
    images = await session.images()
    bill = await session.bill()
    text = (
        f"Welcome back. This chat has {len(images)} image(s); session {usd_short(bill.known_usd)}."
    )
    buttons = [bill_action()]
    if images:
        latest = images[-1]
        text += f" Latest: `{latest.short_id}` ({latest.size} · {latest.quality})."
    # Chainlit replaces the chat with the thread's steps right after this hook returns, so a
    # message sent now would vanish: the welcome joins those steps, its buttons go alongside.
    welcome = cl.Message(content=text)
    thread["steps"].append(welcome.to_dict())
    # Buttons are not persisted by Chainlit: every image gets its own back, under its message
    # (an image whose message is not found gets them under the welcome).
    for for_id, image_buttons in actions.resume_buttons(thread, images, welcome.id):
        for button in image_buttons:
            await button.send(for_id=for_id)
    for button in buttons:
        await button.send(for_id=welcome.id)
    actions.remember_bill_message(thread)


# --------------------------------------------------------------------------- settings


@cl.on_settings_update
async def _settings_update(values: dict[str, Any]) -> None:
    session = _session()
    current: SessionSettings = session.settings if session else cl.user_session.get(PENDING)
    changes = changes_from(values, current)
    if not changes:
        return
    try:
        if session is not None:
            await session.update_settings(**changes)
        else:
            cl.user_session.set(PENDING, current.updated(**changes))
    except InvalidSettings as error:
        await cl.Message(
            content=f"**Settings not changed.** {error.user_message}\n\n"
            "Your previous settings are kept; change that value and save again."
        ).send()
        await _send_settings_panel(current)
        return
    summary = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in changes.items())
    await cl.context.emitter.send_toast(f"Applies from the next turn: {summary}", "success")


# --------------------------------------------------------------------------- turns


async def _run_turn(
    session: Session,
    text: str,
    *,
    target_image: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    mask: Attachment | None = None,
    variations_of: str | None = None,
    confirmed: bool = False,
    settings: dict[str, Any] | None = None,
) -> None:
    asked: dict[str, Any] = {
        "target_image": target_image,
        "attachments": attachments,
        "mask": mask,
        "variations_of": variations_of,
    }
    if not confirmed and await quote_ui.ask_first(session, text, asked):
        return  # the quote is shown: nothing is sent before Go (_quote_answer)
    nothing_to_edit = session.latest_image_id is None and not attachments and not variations_of
    turn = session.start_turn(text, **asked, confirmed=confirmed, settings=settings)
    # Several images (Variations, Brainstorm's directions, "6 options") share one gallery.
    renderer = TurnRenderer(gallery=turn.planned > 1, nothing_to_edit=nothing_to_edit)
    cl.user_session.set(RUNNING, (turn, renderer))
    try:
        await renderer.consume(turn)  # the turn records itself whatever happens here
    finally:
        if cl.user_session.get(RUNNING) == (turn, renderer):
            cl.user_session.set(RUNNING, None)


def _session_has_images() -> bool:
    session = _session()
    return session is not None and session.latest_image_id is not None


@cl.on_message
async def _on_message(message: cl.Message) -> None:
    text = message.content or ""
    command = command_of(message.command, text)
    if command is not None:
        await _run_command(*command)
        return
    uploads = await read_uploads(message, _layer(), has_image=_session_has_images())
    if uploads is None:  # refused, and the user was told why
        return
    attachments, mask = uploads
    session = await _ensure_session(text)
    target = cl.user_session.get(TARGET)
    cl.user_session.set(TARGET, None)
    await _run_turn(session, text, target_image=target, attachments=attachments, mask=mask)


async def _run_command(command: str, arguments: str) -> None:
    async def refine(session: Session, image_id: str, change: str) -> None:
        await _run_turn(session, change, target_image=image_id)

    await run_command(
        command,
        arguments,
        _session(),
        refine=refine,
        exports_dir=_proc().settings.data_dir / "exports",
    )


# --------------------------------------------------------------------------- actions


@cl.action_callback("refine")
async def _refine(action: cl.Action) -> None:
    image = await actions.owned_image(_session(), action.payload)
    if image is None:
        return
    cl.user_session.set(TARGET, image.id)
    await cl.Message(
        content=f"✏️ Refining image `{image.short_id}` — type your change.",
        metadata={"atelier": "refine_notice", "image_id": image.id},
    ).send()


@cl.action_callback("variations")
async def _variations(action: cl.Action) -> None:
    session = _session()
    image = await actions.owned_image(session, action.payload)
    if session is None or image is None:
        return
    actions.start_task(_run_turn(session, "", variations_of=image.id))


@cl.action_callback(quote_ui.GO)
@cl.action_callback(quote_ui.CHEAPER)
@cl.action_callback(quote_ui.CANCEL)
async def _quote_answer(action: cl.Action) -> None:
    """Go, Cheaper or Cancel on a quote: start the quoted turn, or not."""
    session = _session()
    pending = await quote_ui.answer(action)
    if session is not None and pending is not None:
        start = _run_turn(
            session, pending.text, **pending.asked, confirmed=True, settings=pending.settings
        )
        actions.start_task(start)


@cl.action_callback("download")
async def _download(action: cl.Action) -> None:
    image = await actions.owned_image(_session(), action.payload)
    if image is not None:
        await actions.send_download(image)


@cl.action_callback("lineage")
async def _lineage(action: cl.Action) -> None:
    session = _session()
    image = await actions.owned_image(session, action.payload)
    if session is not None and image is not None:
        await actions.show_lineage(session, image)


# --------------------------------------------------------------------------- select area, tree


@cl.action_callback("select_area")
async def _select_area(action: cl.Action) -> None:
    image = await actions.owned_image(_session(), action.payload)
    if image is not None:
        await select_area.open_painter(image)


@cl.action_callback(select_area.APPLY)
async def _select_area_apply(action: cl.Action) -> dict[str, Any]:
    """Called by MaskPainter.jsx; answers it with ok, or the reason it was not sent."""
    session = _session()
    edit = await select_area.accept(session, action.payload)
    if isinstance(edit, str) or session is None:
        return {"ok": False, "error": edit if isinstance(edit, str) else "No chat yet."}
    actions.start_task(_run_turn(session, edit.text, target_image=edit.image.id, mask=edit.mask))
    return {"ok": True}


@cl.action_callback(lineage.COMPARE)
async def _compare(action: cl.Action) -> dict[str, Any]:
    """Called by LineageTree.jsx with two image ids."""
    error = await lineage.send_compare(_session(), action.payload)
    return {"ok": error is None, "error": error}


@cl.action_callback("bill")
async def _bill(action: cl.Action) -> None:
    await actions.show_bill(_session())


@cl.action_callback("export")
async def _export(action: cl.Action) -> None:
    export_format = str(action.payload.get("format", ""))
    await actions.send_export(_session(), export_format, _proc().settings.data_dir / "exports")


@cl.on_stop
async def _on_stop() -> None:
    """Stop the turn in flight and draw its end ("Stopped", what was kept and spent)."""
    logger.info("turn stopped by the user in thread %s", cl.context.session.thread_id)
    running: tuple[Turn, TurnRenderer] | None = cl.user_session.get(RUNNING)
    if running is not None:
        turn, renderer = running
        turn.cancel()
        await renderer.consume(turn)
