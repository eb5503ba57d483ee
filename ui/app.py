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
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.server import app as chainlit_app
from chainlit.session import ws_sessions_id
from chainlit.types import ThreadDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.config import Profile, Settings
from agent.errors import InvalidSettings, NotFound, UploadRejected
from agent.images.uploads import Attachment, validate_mask_async, validate_upload_async
from agent.ops.lagprobe import LagProbe
from agent.ops.memory import tune_allocator
from agent.runtime import Atelier
from agent.session_settings import SessionSettings
from agent.turn.session import Session
from ui import actions, local_assets
from ui.auth import auth_enabled, ensure_auth_secret, load_users
from ui.chat_settings import build_widgets, changes_from
from ui.commands import COMMANDS, command_of, run_command
from ui.datalayer import SQLiteDataLayer
from ui.money import usd_short
from ui.profiles import CARDS, PROFILE_SETTINGS, chat_profiles, profile_for
from ui.render import TurnRenderer, bill_action
from ui.single_user import SignedInPages
from ui.storage import SINGLE_USER_IDENTIFIER, LocalStorageClient, install_file_route
from ui.widget import WidgetRequests, from_widget

logger = logging.getLogger("atelier.ui")

# cl.user_session keys
AGENT = "atelier_session"
PROFILE = "atelier_profile"
PENDING = "atelier_pending_settings"
TARGET = "atelier_target_image"

MASK_WORD = re.compile(r"\bmask\b", re.IGNORECASE)
THREAD_KEY = re.compile(r"^threads/([^/]+)/")


class _Process:
    """What this process holds: settings read once, the Atelier, the storage and lag probe.

    (A plain class: Chainlit executes this file without registering it in sys.modules,
    which dataclasses need.)
    """

    def __init__(self) -> None:
        self.settings = Settings()
        self.atelier: Atelier | None = None
        self.storage: LocalStorageClient | None = None
        self.probe: LagProbe | None = None
        self.data_layer: SQLiteDataLayer | None = None


_process: _Process | None = None


def _proc() -> _Process:
    """The process holder, built on first use (Settings are read exactly once)."""
    global _process
    if _process is None:
        _process = _Process()
    return _process


def _atelier() -> Atelier:
    atelier = _proc().atelier
    if atelier is None:
        raise RuntimeError("Atelier is not open yet: the app's startup hook did not run.")
    return atelier


def _storage() -> LocalStorageClient:
    proc = _proc()
    if proc.storage is None:
        proc.storage = LocalStorageClient(proc.settings.data_dir / "files")
    return proc.storage


# --------------------------------------------------------------------------- process hooks


def _layer() -> SQLiteDataLayer:
    proc = _proc()
    if proc.data_layer is None:
        proc.data_layer = SQLiteDataLayer(
            proc.settings.db_path, _storage(), on_thread_deleted=_delete_session
        )
    return proc.data_layer


async def _delete_session(thread_id: str) -> None:
    """Chainlit deleted a thread (its author asked): delete the agent session's content too."""
    try:
        await _atelier().delete_session(thread_id)
    except NotFound:
        return  # a thread with no turns never had an agent session


@cl.data_layer
def _data_layer() -> SQLiteDataLayer:
    return _layer()


async def _may_read(identifier: str, object_key: str) -> bool:
    """Element files are readable by their thread's author, and by anyone it was shared with."""
    match = THREAD_KEY.match(object_key)
    if match is None:
        return False
    thread_id = match.group(1)
    author = await _layer().get_thread_author(thread_id)
    return (bool(author) and author == identifier) or await _layer().is_shared(thread_id)


async def _metrics(request: Request) -> Response:
    """Loop lag, memory and live sessions, for the perf benchmark and operators."""
    probe = _proc().probe
    snapshot: dict[str, Any] = probe.snapshot() if probe is not None else {}
    return JSONResponse(
        {
            "loop_lag_max_ms": snapshot.get("max_ms"),
            "loop_lag_p99_ms": snapshot.get("p99_ms"),
            "lag_samples": snapshot.get("samples"),
            "rss_mb": snapshot.get("rss_mb"),
            "peak_rss_mb": snapshot.get("peak_rss_mb"),
            "sessions": len(ws_sessions_id),
        }
    )


async def _metrics_reset(request: Request) -> Response:
    """Forget lag samples so far (the benchmark's measured phase starts here); loopback only."""
    if request.client is None or request.client.host not in ("127.0.0.1", "::1"):
        return JSONResponse({"detail": "only from this machine"}, status_code=403)
    probe = _proc().probe
    if probe is not None:
        probe.reset()
    return JSONResponse({"reset": probe is not None})


async def _copilot_token(request: Request) -> Response:
    """A Copilot widget token for the single local user (only when logins are off).

    With logins on, the embedding site mints the token itself (a JWT signed with
    CHAINLIT_AUTH_SECRET) and passes it as ``accessToken`` to mountChainlitWidget.
    """
    if auth_enabled(_proc().settings):
        return JSONResponse(
            {"detail": "Logins are on: mint the widget token on your own server."},
            status_code=404,
        )
    from chainlit.auth import create_jwt

    token = create_jwt(cl.User(identifier=SINGLE_USER_IDENTIFIER, display_name="You"))
    return JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})


@cl.on_app_startup
async def _startup() -> None:
    proc = _proc()
    tune_allocator()
    proc.atelier = await Atelier.open(proc.settings)
    proc.probe = LagProbe(proc.settings.lag_probe_interval_ms)
    proc.probe.start()
    install_file_route(chainlit_app, _storage(), _may_read)
    # Chainlit's catch-all GET would shadow these: they go to the front of the router.
    chainlit_app.router.routes.insert(0, Route("/atelier/metrics", _metrics, methods=["GET"]))
    chainlit_app.router.routes.insert(
        0, Route("/atelier/metrics/reset", _metrics_reset, methods=["POST"])
    )
    chainlit_app.router.routes.insert(
        0, Route("/atelier/copilot-token", _copilot_token, methods=["GET"])
    )


@cl.on_app_shutdown
async def _shutdown() -> None:
    proc = _proc()
    if proc.probe is not None:
        await proc.probe.stop()
    if proc.atelier is not None:
        await proc.atelier.aclose()
        proc.atelier = None


# --------------------------------------------------------------------------- who is there

# Chainlit needs CHAINLIT_AUTH_SECRET for any login: made once into the data dir if unset.
ensure_auth_secret(_proc().settings, _proc().settings.data_dir)

if auth_enabled(_proc().settings):
    _users = load_users(_proc().settings)

    @cl.password_auth_callback
    async def _password(username: str, password: str) -> cl.User | None:
        # PBKDF2 is deliberately slow: keep it off the event loop.
        if _users is not None and await asyncio.to_thread(_users.verify, username, password):
            return cl.User(identifier=username, display_name=username)
        return None

else:

    def _local_user() -> cl.User:
        return cl.User(identifier=SINGLE_USER_IDENTIFIER, display_name="You")

    @cl.header_auth_callback
    async def _single_user(headers: Any) -> cl.User | None:
        # Single-user mode: everyone who can reach the server is the one local user, so
        # threads, history and resume work without a login page.
        return _local_user()

    def _local_token() -> str:
        from chainlit.auth import create_jwt

        return create_jwt(_local_user())

    chainlit_app.add_middleware(SignedInPages, token=_local_token)


@cl.on_shared_thread_view
async def _shared_view(thread: ThreadDict, viewer: cl.User | None) -> bool:
    """A thread the author shared is readable (read-only) by any signed-in viewer."""
    is_shared = await _layer().is_shared(thread["id"])
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
) -> None:
    # Several images side by side: Variations, and Brainstorm's directions (not the
    # refinement of one picked image).
    gallery = variations_of is not None or (session.profile == "brainstorm" and not target_image)
    nothing_to_edit = session.latest_image_id is None and not attachments and not variations_of
    renderer = TurnRenderer(gallery=gallery, nothing_to_edit=nothing_to_edit)
    try:
        await renderer.consume(
            session.run_turn(
                text,
                target_image=target_image,
                attachments=attachments,
                mask=mask,
                variations_of=variations_of,
            )
        )
    except asyncio.CancelledError:
        await asyncio.shield(_stopped(session, renderer))
        raise


async def _stopped(session: Session, renderer: TurnRenderer) -> None:
    """Tidy up a stopped turn and say what it cost: the figure its bill line shows."""
    turns = await session.turns()
    stopped = turns[-1] if turns and turns[-1].status == "cancelled" else None
    total = (await session.bill()).known_usd if stopped is not None else None
    await renderer.stopped(stopped.bill if stopped is not None else None, total)


async def _read_uploads(
    message: cl.Message,
) -> tuple[tuple[Attachment, ...], Attachment | None]:
    """Validate the message's image files; the one named or called a mask is the mask."""
    files = [el for el in message.elements if getattr(el, "path", None)]
    if not files:
        return (), None

    says_mask = bool(MASK_WORD.search(message.content or ""))
    mask_index = next(
        (i for i, el in enumerate(files) if "mask" in (el.name or "").lower()),
        len(files) - 1 if says_mask and (len(files) > 1 or _session_has_images()) else None,
    )
    attachments: list[Attachment] = []
    mask: Attachment | None = None
    for index, element in enumerate(files):
        data = await asyncio.to_thread(Path(str(element.path)).read_bytes)
        if index == mask_index:
            mask = await validate_mask_async(element.name, data)
        else:
            attachments.append(await validate_upload_async(element.name, data))
    return tuple(attachments), mask


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
    try:
        attachments, mask = await _read_uploads(message)
    except UploadRejected as error:
        await cl.Message(
            content=f"**Upload not accepted.** {error.user_message}\n\n"
            "Your message was not sent; fix the file and send again."
        ).send()
        return
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
    _start_task(_run_turn(session, "", variations_of=image.id))


def _start_task(turn: Coroutine[Any, Any, None]) -> None:
    """Run a turn started by a button like a message: the stop button cancels it."""
    context = cl.context

    async def run() -> None:
        await context.emitter.task_start()
        try:
            await turn
        except Exception as error:
            # What Chainlit does for a failing on_message: log it and tell the user.
            logger.exception("turn started by a button failed")
            await cl.ErrorMessage(content=f"Something went wrong: {error}").send()
        finally:
            await context.emitter.task_end()

    context.session.current_task = asyncio.create_task(run())


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


@cl.action_callback("bill")
async def _bill(action: cl.Action) -> None:
    await actions.show_bill(_session())


@cl.action_callback("export")
async def _export(action: cl.Action) -> None:
    export_format = str(action.payload.get("format", ""))
    await actions.send_export(_session(), export_format, _proc().settings.data_dir / "exports")


@cl.on_stop
async def _on_stop() -> None:
    logger.info("turn stopped by the user in thread %s", cl.context.session.thread_id)
