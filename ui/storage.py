"""Element files on local disk, and the guarded route that serves them back.

Chainlit only shows a resumed thread's images if a storage client hands it a URL for each
element's bytes. ``LocalStorageClient`` keeps those bytes under one root directory, keyed by
the object keys the data layer builds (``threads/<thread id>/files/<element id>``), and
``install_file_route`` serves them at ``<url_prefix>/<object key>`` to the user who may see
them — never to anyone without a Chainlit session.

Who is asking:
- With login configured (Chainlit ``require_login()``), the caller is the user in Chainlit's
  JWT, read from the auth cookie (or ``Authorization: Bearer``) exactly as Chainlit's own
  protected routes read it. No or bad token: 401.
- Single-user mode (no login): Chainlit has no user, but its web client always posts its
  session id to ``/set-session-cookie`` before opening the socket, which sets the HttpOnly
  cookie ``X-Chainlit-Session-id``. The route requires that cookie to name a live Chainlit
  session, so a request from outside the app (a stray ``curl``, another site) gets 401.
  The caller is then ``SINGLE_USER_IDENTIFIER`` (or the session's user, if it has one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chainlit.data.storage_clients.base import BaseStorageClient
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from agent.ops.files import atomic_write

logger = logging.getLogger(__name__)

# The caller's identity in single-user mode. It contains ":", which no configured username
# can (users are written "name:password"), so it never collides with a real login.
SINGLE_USER_IDENTIFIER = ":local"

# Cookie Chainlit's client sets through POST /set-session-cookie (chainlit/server.py).
SESSION_COOKIE = "X-Chainlit-Session-id"

# Sidecar metadata lives under a name no valid key can take (keys never start with ".").
_META_DIR = ".meta"
# Types shown inline; anything else is served as a download.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain"}
)
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
_MAX_KEY_LENGTH = 1024


class InvalidObjectKey(ValueError):
    """An object key that could escape the storage root or is otherwise malformed."""


def validate_object_key(object_key: str) -> str:
    """Return ``object_key`` if it is a safe relative key, else raise ``InvalidObjectKey``.

    A key is one or more ``/``-separated segments of letters, digits, ``_ . -``, none
    starting with ``.``: no absolute paths, no ``..``, no backslashes, no empty segments.
    """
    if not object_key or len(object_key) > _MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"object key must be 1-{_MAX_KEY_LENGTH} characters")
    for segment in object_key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidObjectKey(
                f"object key {object_key!r} has a bad segment {segment!r}: use letters, "
                "digits, '_', '.', '-', not starting with '.'"
            )
    return object_key


class LocalStorageClient(BaseStorageClient):
    """A Chainlit storage client that keeps files under ``root`` on local disk."""

    def __init__(self, root: Path, url_prefix: str = "/atelier/files") -> None:
        if not url_prefix.startswith("/") or url_prefix.endswith("/"):
            raise ValueError(f"url_prefix must start with '/' and not end with it: {url_prefix!r}")
        self.root = Path(root).expanduser().resolve()
        self.url_prefix = url_prefix

    def path_for(self, object_key: str) -> Path:
        """The file path of ``object_key``; raises ``InvalidObjectKey`` if it leaves the root."""
        path = (self.root / validate_object_key(object_key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidObjectKey(f"object key {object_key!r} resolves outside the storage root")
        return path

    def _meta_path(self, object_key: str) -> Path:
        return self.root / _META_DIR / f"{validate_object_key(object_key)}.json"

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        """Write ``data`` at ``object_key``; return ``{"object_key", "url"}``.

        Raises ``FileExistsError`` when the key exists and ``overwrite`` is false.
        """
        path = self.path_for(object_key)
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        # content_disposition is not kept: the route decides it (inline only for safe types).
        meta = {"mime": mime or "application/octet-stream"}
        await asyncio.to_thread(
            self._write, path, self._meta_path(object_key), payload, meta, overwrite
        )
        return {"object_key": object_key, "url": await self.get_read_url(object_key)}

    @staticmethod
    def _write(
        path: Path, meta_path: Path, payload: bytes, meta: dict[str, str], overwrite: bool
    ) -> None:
        if not overwrite and path.exists():
            raise FileExistsError(f"object {path.name!r} exists and overwrite is false")
        _write_in_dir(meta_path, json.dumps(meta).encode("utf-8"))
        _write_in_dir(path, payload)

    async def delete_file(self, object_key: str) -> bool:
        """Delete the object; True if it existed."""
        path = self.path_for(object_key)
        meta_path = self._meta_path(object_key)

        def _delete() -> bool:
            meta_path.unlink(missing_ok=True)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            finally:
                self._prune(meta_path.parent)
                self._prune(path.parent)
            return True

        return await asyncio.to_thread(_delete)

    def _prune(self, directory: Path) -> None:
        # Remove directories a deletion left empty (a deleted thread's folder), up to root.
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): stop here
                return
            directory = directory.parent

    async def get_read_url(self, object_key: str) -> str:
        """The URL the file route serves ``object_key`` at."""
        return f"{self.url_prefix}/{validate_object_key(object_key)}"

    async def locate(self, object_key: str) -> tuple[Path, str]:
        """Path and mime type of a stored object.

        Raises ``FileNotFoundError`` if it is not stored, ``InvalidObjectKey`` if malformed.
        """
        path = self.path_for(object_key)
        meta_path = self._meta_path(object_key)

        def _read() -> tuple[Path, str]:
            if not path.is_file():
                raise FileNotFoundError(object_key)
            try:
                meta = json.loads(meta_path.read_text("utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                meta = {}
            return path, str(meta.get("mime") or "application/octet-stream")

        return await asyncio.to_thread(_read)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""


def _write_in_dir(path: Path, payload: bytes) -> None:
    # A concurrent delete may prune the (empty) folder between mkdir and the write: retry.
    for attempt in range(3):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write(path, payload)
            return
        except FileNotFoundError:
            if attempt == 2:
                raise


def _login_required() -> bool:
    from chainlit.auth import require_login

    return bool(require_login())  # type: ignore[no-untyped-call]


def token_from(request: Request) -> str | None:
    """The Chainlit session token a request carries (auth cookie or Bearer header)."""
    return _token_from(request)


def _token_from(request: Request) -> str | None:
    from chainlit.auth.cookie import get_token_from_cookies

    token = get_token_from_cookies(dict(request.cookies))
    if token:
        return str(token)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_identifier(request: Request) -> str | None:
    """Who is asking, as Chainlit would say it; None if the request carries no valid session."""
    if _login_required():
        token = _token_from(request)
        if token is None:
            return None
        from chainlit.auth.jwt import decode_jwt

        try:
            user = decode_jwt(token)
        except Exception as exc:  # any decode failure (expired, forged, garbled) means 401
            logger.debug("file route: rejected token: %s", exc)
            return None
        return str(user.identifier)

    from chainlit.session import WebsocketSession

    session_id = request.cookies.get(SESSION_COOKIE)
    session = WebsocketSession.get_by_id(session_id) if session_id else None
    if session is None:
        return None
    if session.user is not None:
        return str(session.user.identifier)
    return SINGLE_USER_IDENTIFIER


def install_file_route(
    app: FastAPI,
    storage: LocalStorageClient,
    authorize: Callable[[str, str], Awaitable[bool]],
    identify: Callable[[Request], Awaitable[str | None]] | None = None,
) -> None:
    """Serve ``storage`` at ``{url_prefix}/{object_key}`` to callers ``authorize`` admits.

    ``identify`` names the caller (default ``current_identifier``; the app passes one that
    also refuses ended sessions).

    The route goes to the front of the router so Chainlit's catch-all GET cannot shadow it.
    No valid session: 401. Not authorized, malformed or missing key: 404 (existence is not
    revealed). Otherwise the file, with its stored content type and ``Cache-Control: private``.
    """

    async def serve_file(request: Request) -> Response:
        identifier = (
            await identify(request) if identify is not None else current_identifier(request)
        )
        if identifier is None:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        object_key = str(request.path_params["object_key"])
        not_found = JSONResponse({"detail": "Not found"}, status_code=404)
        try:
            validate_object_key(object_key)
        except InvalidObjectKey:
            return not_found
        if not await authorize(identifier, object_key):
            return not_found
        try:
            path, mime = await storage.locate(object_key)
        except (FileNotFoundError, InvalidObjectKey):
            return not_found
        headers = {
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            # An uploaded SVG or HTML file must not run script on our origin.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        }
        if mime.split(";")[0].strip().lower() not in INLINE_TYPES:
            headers["Content-Disposition"] = "attachment"
        return FileResponse(path, media_type=mime, headers=headers)

    route = Route(
        f"{storage.url_prefix}/{{object_key:path}}",
        serve_file,
        methods=["GET"],
        name="atelier_files",
    )
    app.router.routes.insert(0, route)
